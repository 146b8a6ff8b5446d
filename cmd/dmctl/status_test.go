package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/restapi"
)

func ptr[T any](v T) *T { return &v }

func sub(task, source, worker, stage, unit string) restapi.SubTaskStatus {
	return restapi.SubTaskStatus{Name: task, SourceName: source, WorkerName: worker, Stage: stage, Unit: unit}
}

func encode(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, writeJSON(&b, v))
	return b.String()
}

// TestTaskStageOf follows DM's table of a task's status from its subtasks'.
func TestTaskStageOf(t *testing.T) {
	paused := sub("t", "s1", "w1", "Paused", "Sync")
	failed := paused
	failed.ErrorMsg = ptr("Error 1146: table doesn't exist")
	running := sub("t", "s2", "w2", "Running", "Sync")
	relayPaused := statusSnapshot{relays: map[relayKey]restapi.SourceStatus{
		{"s2", "w2"}: {SourceName: "s2", WorkerName: "w2", RelayStatus: &restapi.RelayStatus{Stage: "Paused"}},
	}}
	for _, c := range []struct {
		subs []restapi.SubTaskStatus
		snap statusSnapshot
		want string
	}{
		{[]restapi.SubTaskStatus{running, failed}, statusSnapshot{}, "Error - Some error occurred in subtask. Please run `query-status t` to get more details."},
		{[]restapi.SubTaskStatus{running}, relayPaused, "Error - Relay status is Paused. Please run `query-status t` to get more details."},
		{[]restapi.SubTaskStatus{running, paused}, statusSnapshot{}, "Paused"},
		{[]restapi.SubTaskStatus{sub("t", "s1", "", "New", "Dump"), sub("t", "s2", "", "New", "Dump")}, statusSnapshot{}, "New"},
		{[]restapi.SubTaskStatus{sub("t", "s1", "w1", "Finished", "Load")}, statusSnapshot{}, "Finished"},
		{[]restapi.SubTaskStatus{sub("t", "s1", "w1", "Finished", "Load"), running}, statusSnapshot{}, "Running"},
		{[]restapi.SubTaskStatus{running}, statusSnapshot{}, "Running"},
	} {
		require.Equal(t, c.want, taskStageOf(c.subs, c.snap), "%+v", c.subs)
	}
}

// TestDMTaskList: without a task, DM's summary per task; a source that could not be read
// makes DM print the full answer instead.
func TestDMTaskList(t *testing.T) {
	snap := statusSnapshot{subtasks: []restapi.SubTaskStatus{
		sub("a", "s1", "w1", "Running", "Sync"), sub("a", "s2", "w2", "Running", "Load"), sub("b", "s1", "w1", "Paused", "Sync"),
	}}
	list, unreadableSeen := dmTaskListOf(snap)
	require.False(t, unreadableSeen)
	require.JSONEq(t, `{"result":true,"msg":"","tasks":[
		{"taskName":"a","taskStatus":"Running","sources":["s1","s2"]},
		{"taskName":"b","taskStatus":"Paused","sources":["s1"]}]}`, encode(t, list))

	offline := sub("b", "s3", "w3", "Running", "InvalidUnit")
	offline.ErrorMsg = ptr(`worker "w3" is offline`)
	snap.subtasks = append(snap.subtasks, offline)
	_, unreadableSeen = dmTaskListOf(snap)
	require.True(t, unreadableSeen)
	v := statusView(statusQuery{}, snap, nil)
	require.IsType(t, dmQueryStatus{}, v.dm)

	empty, _ := dmTaskListOf(statusSnapshot{})
	require.JSONEq(t, `{"result":true,"msg":"","tasks":[]}`, encode(t, empty))
}

// TestDMQueryStatusShape: the fields DM's scripts read, with protobuf JSON's conventions
// (64-bit integers as strings, null for unset messages).
func TestDMQueryStatusShape(t *testing.T) {
	syncing := sub("t", "mysql-01", "worker1", "Running", "Sync")
	syncing.UnresolvedDdlLockId = ptr("")
	syncing.SyncStatus = &restapi.SyncStatus{
		TotalEvents: 120, TotalTps: 3, RecentTps: 1, MasterBinlog: "(mysql-bin.000001, 3234)", MasterBinlogGtid: "0-1-14",
		SyncerBinlog: "(mysql-bin.000001, 2525)", SyncerBinlogGtid: "0-1-12", Synced: false, BinlogType: "remote", SecondsBehindMaster: 2,
		UnresolvedGroups: []restapi.ShardingGroup{{Target: "`db`.`t`", DdlList: []string{"ALTER TABLE `db`.`t` ADD c INT"}, FirstLocation: "(mysql-bin.000001, 3130)", Synced: []string{"`db`.`t1`"}}},
	}
	loading := sub("t", "mysql-02", "worker2", "Paused", "Load")
	loading.ErrorMsg = ptr("Error 1062: Duplicate entry '1' for key 'PRIMARY'")
	loading.LoadStatus = &restapi.LoadStatus{FinishedBytes: 115, TotalBytes: 452, Progress: "25.44 %", MetaBinlog: "(mysql-bin.000001, 4)"}
	dumping := sub("t2", "mysql-02", "worker2", "Running", "Dump")
	dumping.DumpStatus = &restapi.DumpStatus{TotalTables: 10, CompletedTables: 3, FinishedBytes: 2542, FinishedRows: 32, EstimateTotalRows: 563, Bps: 445, Progress: "5.68 %"}
	snap := statusSnapshot{
		subtasks: []restapi.SubTaskStatus{syncing, loading, dumping},
		relays: map[relayKey]restapi.SourceStatus{{"mysql-01", "worker1"}: {
			SourceName: "mysql-01", WorkerName: "worker1",
			RelayStatus: &restapi.RelayStatus{MasterBinlog: "(mysql-bin.000001, 3234)", RelayDir: "0-1.000001", RelayCatchUpMaster: true, Stage: "Running"},
		}},
	}
	got := encode(t, dmQueryStatusOf(snap))
	require.JSONEq(t, `{"result":true,"msg":"","sources":[
	 {"result":true,"msg":"","sourceStatus":{"source":"mysql-01","worker":"worker1","result":null,
	   "relayStatus":{"masterBinlog":"(mysql-bin.000001, 3234)","masterBinlogGtid":"","relaySubDir":"0-1.000001","relayBinlog":"","relayBinlogGtid":"","relayCatchUpMaster":true,"stage":"Running","result":null}},
	  "subTaskStatus":[{"name":"t","stage":"Running","unit":"Sync","result":null,"unresolvedDDLLockID":"","validation":null,
	   "sync":{"totalEvents":"120","totalTps":"3","recentTps":"1","masterBinlog":"(mysql-bin.000001, 3234)","masterBinlogGtid":"0-1-14",
	     "syncerBinlog":"(mysql-bin.000001, 2525)","syncerBinlogGtid":"0-1-12","blockingDDLs":[],
	     "unresolvedGroups":[{"target":"`+"`db`.`t`"+`","DDLs":["ALTER TABLE `+"`db`.`t`"+` ADD c INT"],"firstLocation":"(mysql-bin.000001, 3130)","synced":["`+"`db`.`t1`"+`"],"unsynced":[]}],
	     "synced":false,"binlogType":"remote","secondsBehindMaster":"2","blockDDLOwner":"","conflictMsg":""}}]},
	 {"result":true,"msg":"","sourceStatus":{"source":"mysql-02","worker":"worker2","result":null,"relayStatus":null},
	  "subTaskStatus":[
	   {"name":"t","stage":"Paused","unit":"Load","unresolvedDDLLockID":"","validation":null,
	    "result":{"isCanceled":false,"detail":null,"errors":[{"ErrCode":0,"ErrClass":"","ErrScope":"","ErrLevel":"","Message":"Error 1062: Duplicate entry '1' for key 'PRIMARY'","RawCause":"","Workaround":"fix the cause, then `+"`dmctl resume-task t`"+`"}]},
	    "load":{"finishedBytes":"115","totalBytes":"452","progress":"25.44 %","metaBinlog":"(mysql-bin.000001, 4)","metaBinlogGTID":""}},
	   {"name":"t2","stage":"Running","unit":"Dump","result":null,"unresolvedDDLLockID":"","validation":null,
	    "dump":{"totalTables":"10","completedTables":3,"finishedBytes":2542,"finishedRows":32,"estimateTotalRows":563,"bps":"445","progress":"5.68 %"}}]}]}`, got)

	// Only the current unit's status, as DM's oneof.
	syncing.LoadStatus = loading.LoadStatus
	one := dmSubTaskOf(syncing)
	require.Nil(t, one.Load)
	require.NotNil(t, one.Sync)

	// A worker that cannot be asked fails its source's entry, as in DM.
	offline := sub("t", "mysql-03", "worker3", "Running", "InvalidUnit")
	offline.ErrorMsg = ptr(`worker "worker3" is offline`)
	full := dmQueryStatusOf(statusSnapshot{subtasks: []restapi.SubTaskStatus{offline}})
	require.False(t, full.Sources[0].Result)
	require.Equal(t, `worker "worker3" is offline`, full.Sources[0].Msg)
	require.Contains(t, full.Sources[0].SubTaskStatus[0].Result.Errors[0].Workaround, "list-member --worker")
}

func TestStatusTable(t *testing.T) {
	syncing := sub("t", "mysql-01", "worker1", "Running", "Sync")
	syncing.SyncStatus = &restapi.SyncStatus{TotalEvents: 25000, RecentTps: 40, Synced: false, SecondsBehindMaster: 75}
	loading := sub("t", "mysql-02", "worker2", "Running", "Load")
	loading.LoadStatus = &restapi.LoadStatus{FinishedBytes: 3 << 20, TotalBytes: 12 << 20}
	paused := sub("u", "mysql-01", "", "Paused", "Sync")
	paused.ErrorMsg = ptr("Error 1054: Unknown column\n'c' in 'field list'")
	var b bytes.Buffer
	tw := newTable(&b)
	statusTable(tw, []restapi.SubTaskStatus{syncing, loading, paused}, map[string]float64{"t/mysql-02": 1 << 20})
	require.NoError(t, tw.Flush())
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, lines, 4)
	require.Regexp(t, `^TASK\s+SOURCE\s+WORKER\s+STAGE\s+UNIT\s+PROGRESS\s+LAG\s+ERROR$`, lines[0])
	require.Regexp(t, `^t\s+mysql-01\s+worker1\s+Running\s+Sync\s+catching up, 25\.0k events, 40/s\s+1m15s\s+-$`, lines[1])
	require.Regexp(t, `^t\s+mysql-02\s+worker2\s+Running\s+Load\s+\[#####\.{15}\]  25\.0%  3\.0 MiB/12\.0 MiB  ETA 9s\s+-\s+-$`, lines[2])
	require.Regexp(t, "^u\\s+mysql-01\\s+-\\s+Paused\\s+Sync\\s+-\\s+-\\s+Error 1054: Unknown column 'c' in 'field list' \\(hint: fix the cause, then `dmctl resume-task u`\\)$", lines[3])
}

func TestProgressCells(t *testing.T) {
	require.Equal(t, "[....................]", bar(0))
	require.Equal(t, "[##########..........]", bar(0.5))
	require.Equal(t, "[####################]", bar(1))
	require.Equal(t, 0.0, ratio(5, 0))
	require.Equal(t, 1.0, ratio(12, 10), "an estimate below the truth caps at 100%")

	require.Equal(t, "512 B", bytesOf(512))
	require.Equal(t, "1.5 KiB", bytesOf(1536))
	require.Equal(t, "5.0 MiB", bytesOf(5<<20))
	require.Equal(t, "2.0 GiB", bytesOf(2<<30))
	require.Equal(t, "999", count(999))
	require.Equal(t, "12.3k", count(12345))
	require.Equal(t, "2.5M", count(2.5e6))
	require.Equal(t, "1m20s", eta(79.2))
	require.Equal(t, "?", eta(1e12))

	// 1000 of 4000 estimated rows in 1 MiB: 3 MiB left at 1 MiB/s.
	d := restapi.DumpStatus{FinishedRows: 1000, EstimateTotalRows: 4000, FinishedBytes: 1 << 20, Bps: 1 << 20}
	require.Equal(t, "[#####...............]  25.0%  1000/4000 rows  1.0 MiB  ETA 3s", dumpProgress(d))
	d.Bps = 0
	require.Equal(t, "[#####...............]  25.0%  1000/4000 rows  1.0 MiB", dumpProgress(d), "no speed, no ETA")

	l := restapi.LoadStatus{FinishedBytes: 1 << 20, TotalBytes: 4 << 20}
	require.Equal(t, "[#####...............]  25.0%  1.0 MiB/4.0 MiB", loadProgress(l, 0))
	require.Equal(t, "[#####...............]  25.0%  1.0 MiB/4.0 MiB  ETA 6s", loadProgress(l, 512<<10))

	locked := sub("t", "s", "w", "Running", "Sync")
	locked.SyncStatus = &restapi.SyncStatus{Synced: true, TotalEvents: 7}
	require.Equal(t, "synced, 7 events, 0/s", progressCell(locked, 0))
	locked.UnresolvedDdlLockId = ptr("t-`db`.`tbl`")
	require.Equal(t, "waiting on shard-DDL lock t-`db`.`tbl`, 7 events, 0/s", progressCell(locked, 0))
	require.Equal(t, "0s", lagCell(locked))
	require.Equal(t, "-", progressCell(sub("t", "s", "w", "New", "Dump"), 0))
}

func TestLoadRates(t *testing.T) {
	before := sub("t", "s1", "w1", "Running", "Load")
	before.LoadStatus = &restapi.LoadStatus{FinishedBytes: 1000, TotalBytes: 10000}
	after := before
	after.LoadStatus = &restapi.LoadStatus{FinishedBytes: 5000, TotalBytes: 10000}
	other := sub("t", "s2", "w2", "Running", "Load")
	other.LoadStatus = &restapi.LoadStatus{FinishedBytes: 7, TotalBytes: 10}
	rates := loadRatesOf([]restapi.SubTaskStatus{before}, []restapi.SubTaskStatus{after, other}, 2*time.Second)
	require.Equal(t, map[string]float64{"t/s1": 2000}, rates, "a subtask seen once has no rate yet")
	require.Empty(t, loadRatesOf(nil, []restapi.SubTaskStatus{after}, 0))
}

func TestHints(t *testing.T) {
	st := sub("t", "s", "", "Running", "InvalidUnit")
	st.ErrorMsg = ptr(`source "s" has no bound worker`)
	require.Contains(t, hintOf(st), "start a dm-worker")
	st.ErrorMsg = ptr(`worker "w" did not answer: timeout`)
	require.Contains(t, hintOf(st), "list-member --worker")
	st = sub("t", "s", "w", "Running", "Sync")
	st.ErrorMsg = ptr("Error 2003: can't connect since 10:01:02")
	require.Contains(t, hintOf(st), "retries")
	st.ErrorMsg = nil
	require.Empty(t, hintOf(st))
}

// TestStatusViewFormats: the list form only when DM prints it; table mode regardless.
func TestStatusViewFormats(t *testing.T) {
	snap := statusSnapshot{subtasks: []restapi.SubTaskStatus{sub("t", "s1", "w1", "Running", "Sync")}}
	require.IsType(t, dmTaskList{}, statusView(statusQuery{}, snap, nil).dm)
	require.IsType(t, dmQueryStatus{}, statusView(statusQuery{task: "t"}, snap, nil).dm)
	require.IsType(t, dmQueryStatus{}, statusView(statusQuery{sources: []string{"s1"}}, snap, nil).dm)
	require.IsType(t, dmQueryStatus{}, statusView(statusQuery{more: true}, snap, nil).dm)
	var b bytes.Buffer
	require.NoError(t, printer{format: formatTable, w: &b}.show(statusView(statusQuery{}, snap, nil)))
	require.True(t, strings.HasPrefix(b.String(), "TASK "))
	var m map[string]any
	b.Reset()
	require.NoError(t, printer{format: formatJSON, w: &b}.show(statusView(statusQuery{}, snap, nil)))
	require.NoError(t, json.Unmarshal(b.Bytes(), &m))
	require.Contains(t, b.String(), "\n    \"result\": true", "indented as DM's dmctl")
}
