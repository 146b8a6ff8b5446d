package master

import (
	"testing"

	"github.com/stretchr/testify/require"

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
	fillSubtaskStatus(&e1, rep, "t1", "s1")
	fillSubtaskStatus(&e2, rep, "t1", "s2")
	require.NotNil(t, e1.UnresolvedDdlLockId)
	require.Equal(t, "t1-`db`.`tbl`", *e1.UnresolvedDdlLockId)
	require.NotNil(t, e2.UnresolvedDdlLockId)
	require.Equal(t, "", *e2.UnresolvedDdlLockId)
}
