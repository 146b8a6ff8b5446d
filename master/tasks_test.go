package master

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
)

// TestFillSubtaskStatusLockID: the worker's unresolved lock id reaches the task status entry.
func TestFillSubtaskStatusLockID(t *testing.T) {
	rep := peer.WorkerStatus{Subtasks: []peer.SubtaskStatus{
		{Task: "t1", Source: "s1", Stage: "Running", Unit: "Sync", UnresolvedDDLLockID: "t1-`db`.`tbl`"},
		{Task: "t1", Source: "s2", Stage: "Running", Unit: "Sync"},
	}}
	var e1, e2 restapi.SubTaskStatus
	fillSubtaskStatus(&e1, rep, "t1", "s1", peer.UnitDump)
	fillSubtaskStatus(&e2, rep, "t1", "s2", peer.UnitDump)
	require.NotNil(t, e1.UnresolvedDdlLockId)
	require.Equal(t, "t1-`db`.`tbl`", *e1.UnresolvedDdlLockId)
	require.NotNil(t, e2.UnresolvedDdlLockId)
	require.Equal(t, "", *e2.UnresolvedDdlLockId)
}

// TestFillSubtaskStatusUnit: the entry carries the worker's unit and dump status; a subtask the
// worker has not picked up yet is New in the first unit it will run, never without a unit.
func TestFillSubtaskStatusUnit(t *testing.T) {
	dumping := &peer.DumpStatus{TotalTables: 3, FinishedRows: 10, Progress: "1.00 %"}
	rep := peer.WorkerStatus{Subtasks: []peer.SubtaskStatus{
		{Task: "t1", Source: "s1", Stage: "Running", Unit: "Dump", Dump: dumping},
	}}
	e := restapi.SubTaskStatus{Stage: "Running", Unit: peer.UnitInvalid}
	fillSubtaskStatus(&e, rep, "t1", "s1", peer.UnitDump)
	require.Equal(t, "Dump", e.Unit)
	require.Equal(t, &restapi.DumpStatus{TotalTables: 3, FinishedRows: 10, Progress: "1.00 %"}, e.DumpStatus)

	e = restapi.SubTaskStatus{Stage: "Running", Unit: peer.UnitInvalid}
	fillSubtaskStatus(&e, rep, "t2", "s1", peer.UnitSync)
	require.Equal(t, "New", e.Stage)
	require.Equal(t, "Sync", e.Unit)
	require.Equal(t, "Sync", peer.FirstUnit(fsm.TaskSpec{Mode: "incremental"}))
	require.Equal(t, "Dump", peer.FirstUnit(fsm.TaskSpec{Mode: "all"}))
	require.Equal(t, "Dump", peer.FirstUnit(fsm.TaskSpec{Mode: "full"}))
}

// TestFillSubtaskStatusSync: the worker's load and sync reports reach the entry unchanged, an
// empty list of shard groups stays an empty list.
func TestFillSubtaskStatusSync(t *testing.T) {
	rep := peer.WorkerStatus{Subtasks: []peer.SubtaskStatus{
		{Task: "t1", Source: "s1", Stage: "Running", Unit: "Sync",
			Load: &peer.LoadStatus{FinishedBytes: 5, TotalBytes: 10, Progress: "50.00 %", MetaBinlog: "(b.000001, 4)", MetaBinlogGtid: "0-1-2"},
			Sync: &peer.SyncStatus{TotalEvents: 7, BlockingDdls: []string{"ALTER 1"}, Synced: true, BinlogType: "remote",
				UnresolvedGroups: []peer.ShardingGroup{{Target: "`d`.`t`", DdlList: []string{"ALTER 1"}, FirstLocation: "(b.000001, 9)", Synced: []string{"a"}, Unsynced: []string{"b"}}}}},
		{Task: "t1", Source: "s2", Stage: "Running", Unit: "Sync", Sync: &peer.SyncStatus{UnresolvedGroups: []peer.ShardingGroup{}}},
	}}
	var e1, e2 restapi.SubTaskStatus
	fillSubtaskStatus(&e1, rep, "t1", "s1", peer.UnitDump)
	fillSubtaskStatus(&e2, rep, "t1", "s2", peer.UnitDump)
	require.Equal(t, &restapi.LoadStatus{FinishedBytes: 5, TotalBytes: 10, Progress: "50.00 %", MetaBinlog: "(b.000001, 4)", MetaBinlogGtid: "0-1-2"}, e1.LoadStatus)
	require.Equal(t, &restapi.SyncStatus{TotalEvents: 7, BlockingDdls: []string{"ALTER 1"}, Synced: true, BinlogType: "remote",
		UnresolvedGroups: []restapi.ShardingGroup{{Target: "`d`.`t`", DdlList: []string{"ALTER 1"}, FirstLocation: "(b.000001, 9)", Synced: []string{"a"}, Unsynced: []string{"b"}}}}, e1.SyncStatus)
	require.NotNil(t, e2.SyncStatus.UnresolvedGroups)
	require.Empty(t, e2.SyncStatus.UnresolvedGroups)
	require.Nil(t, e2.LoadStatus)
}
