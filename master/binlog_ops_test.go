package master

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
)

const binlogOpsPath = "/api/v1/tasks/t1/binlog-operations"

func binlogOps(t *testing.T, s *Server, method, query string, body any) (apiAnswer, []restapi.BinlogOperation) {
	t.Helper()
	a := do(t, s, method, binlogOpsPath+query, body)
	var resp restapi.BinlogOperationListResponse
	if a.status == http.StatusOK {
		require.NoError(t, json.Unmarshal(a.body, &resp), "%s", a.body)
		require.Len(t, resp.Data, resp.Total)
	}
	return a, resp.Data
}

// TestBinlogOperations drives the binlog operation routes and the workers' done route of a
// real single-node master; the workers of the sources are not running, so no subtask can be
// asked which event it stopped on.
func TestBinlogOperations(t *testing.T) {
	s, c := startShardMaster(t)
	mustApply(t, s, fsm.AddTask{Task: testTask("t2", map[string]*fsm.Subtask{"s3": {Stage: fsm.StageRunning}})})

	a, ops := binlogOps(t, s, http.MethodPost, "", map[string]any{"op": "skip", "source_name_list": []string{"s1"}, "binlog_pos": "mysql-bin.000002:400"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	w1, notResumed := "w1", false
	require.Equal(t, []restapi.BinlogOperation{{SourceName: "s1", WorkerName: &w1, Op: restapi.BinlogOperationOpSkip,
		BinlogPos: "mysql-bin.000002:400", Sqls: []string{}, Resumed: &notResumed}}, ops)
	a, ops = binlogOps(t, s, http.MethodPost, "", map[string]any{"op": "replace", "source_name_list": []string{"s2"}, "binlog_pos": "(mysql-bin.000010, 4)",
		"sqls": []string{"ALTER TABLE db.t ADD c INT; UPDATE db.t SET v = ';' WHERE id = 1;", "  ", "SELECT 1"}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, []string{"ALTER TABLE db.t ADD c INT", "UPDATE db.t SET v = ';' WHERE id = 1", "SELECT 1"}, ops[0].Sqls)
	require.Equal(t, "mysql-bin.000010:4", ops[0].BinlogPos)
	a, _ = binlogOps(t, s, http.MethodPost, "", map[string]any{"op": "skip", "source_name_list": []string{"s1"}, "binlog_pos": "mysql-bin.000010:4"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)

	// The list, sorted by source and position (file by number); filtered by source and position.
	positions := func(ops []restapi.BinlogOperation) []string {
		var out []string
		for _, o := range ops {
			out = append(out, o.SourceName+"@"+o.BinlogPos+":"+string(o.Op))
		}
		return out
	}
	_, ops = binlogOps(t, s, http.MethodGet, "", nil)
	require.Equal(t, []string{"s1@mysql-bin.000002:400:skip", "s1@mysql-bin.000010:4:skip", "s2@mysql-bin.000010:4:replace"}, positions(ops))
	_, ops = binlogOps(t, s, http.MethodGet, "?source_name_list=s1&binlog_pos=mysql-bin.000002:401", nil)
	require.Equal(t, []string{"s1@mysql-bin.000010:4:skip"}, positions(ops))
	a, ops = do(t, s, http.MethodGet, "/api/v1/tasks/t2/binlog-operations", nil), nil
	require.Equal(t, http.StatusOK, a.status)
	require.JSONEq(t, `{"total":0,"data":[]}`, string(a.body))

	for name, tc := range map[string]struct {
		path string
		body map[string]any
		code fsm.Code
	}{
		"unknown task":          {"/api/v1/tasks/nope/binlog-operations", map[string]any{"op": "skip"}, fsm.CodeTaskNotExist},
		"source not in task":    {binlogOpsPath, map[string]any{"op": "skip", "source_name_list": []string{"s3"}, "binlog_pos": "b.1:4"}, fsm.CodeSourceNotInTask},
		"bad position":          {binlogOpsPath, map[string]any{"op": "skip", "source_name_list": []string{"s1"}, "binlog_pos": "mysql-bin:x"}, fsm.CodeVerifyHandleErrorArgs},
		"position of no source": {binlogOpsPath, map[string]any{"op": "skip", "binlog_pos": "mysql-bin.000001:4"}, fsm.CodeVerifyHandleErrorArgs},
		"replace without sqls":  {binlogOpsPath, map[string]any{"op": "replace", "source_name_list": []string{"s1"}, "binlog_pos": "b.1:4", "sqls": []string{" ; "}}, fsm.CodeVerifyHandleErrorArgs},
		"skip with sqls":        {binlogOpsPath, map[string]any{"op": "skip", "source_name_list": []string{"s1"}, "binlog_pos": "b.1:4", "sqls": []string{"SELECT 1"}}, fsm.CodeVerifyHandleErrorArgs},
		"revert of none":        {binlogOpsPath, map[string]any{"op": "revert", "source_name_list": []string{"s1"}, "binlog_pos": "b.1:4"}, fsm.CodeSyncerOperatorNotExist},
		// Without a position, the event a subtask stopped on: its worker must say which.
		"no position, no worker answer": {binlogOpsPath, map[string]any{"op": "skip", "source_name_list": []string{"s1"}}, fsm.CodeVerifyHandleErrorArgs},
	} {
		a := do(t, s, http.MethodPost, tc.path, tc.body)
		require.Equal(t, http.StatusBadRequest, a.status, "%s: %s", name, a.body)
		require.Equal(t, tc.code, a.code(t), "%s: %s", name, a.body)
	}
	_, ops = binlogOps(t, s, http.MethodGet, "", nil)
	require.Len(t, ops, 3, "no refused call changed anything")

	// Revert takes one back and answers with it.
	a, ops = binlogOps(t, s, http.MethodPost, "", map[string]any{"op": "revert", "source_name_list": []string{"s1"}, "binlog_pos": "mysql-bin.000002:400"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, []string{"s1@mysql-bin.000002:400:skip"}, positions(ops))

	// The worker of s2 reports its operation done: it goes; a repeat is no error.
	ctx := context.Background()
	done := peer.BinlogOpDoneRequest{Task: "t1", Event: fsm.BinlogEvent{Source: "s2", File: "mysql-bin.000010", Pos: 4}}
	require.NoError(t, c.BinlogOpDone(ctx, done))
	require.NoError(t, c.BinlogOpDone(ctx, done))
	_, ops = binlogOps(t, s, http.MethodGet, "", nil)
	require.Equal(t, []string{"s1@mysql-bin.000010:4:skip"}, positions(ops))
	err := c.BinlogOpDone(ctx, peer.BinlogOpDoneRequest{Task: "t1", Event: fsm.BinlogEvent{Source: "s9", File: "b.1", Pos: 4}})
	require.Error(t, err, "a source bound to no worker has no one to report for it")
}
