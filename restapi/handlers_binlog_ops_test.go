package restapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// binlogFake is the fake backend's side of the binlog operation routes.
type binlogFake struct {
	ops      []BinlogOperation // answered by both calls
	err      error
	lists    []binlogListCall
	requests []BinlogOperationRequest
}

type binlogListCall struct {
	task    string
	sources []string
	from    string
}

func (f *fakeBackend) ListBinlogOperations(_ context.Context, task string, sources []string, from string) ([]BinlogOperation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.binlog.lists = append(f.binlog.lists, binlogListCall{task, sources, from})
	return append([]BinlogOperation(nil), f.binlog.ops...), f.binlog.err
}

func (f *fakeBackend) OperateBinlog(_ context.Context, task string, req BinlogOperationRequest) ([]BinlogOperation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.binlog.requests = append(f.binlog.requests, req)
	return append([]BinlogOperation(nil), f.binlog.ops...), f.binlog.err
}

func TestBinlogOperationRoutes(t *testing.T) {
	b := selfLeader("m1")
	worker := "worker1"
	resumed := true
	b.binlog.ops = []BinlogOperation{
		{SourceName: "mysql-01", WorkerName: &worker, Op: BinlogOperationOpSkip, BinlogPos: "mysql-bin.000001:4321", Resumed: &resumed},
		{SourceName: "mysql-02", Op: BinlogOperationOpReplace, BinlogPos: "mysql-bin.000002:4", Sqls: []string{"ALTER TABLE t ADD c INT"}},
	}
	srv, _ := newTestServer(t, b, "m1")
	const url = "/api/v1/tasks/task-1/binlog-operations"

	resp := do(t, srv.Client(), "GET", srv.URL+url+"?source_name_list=mysql-01&source_name_list=mysql-02&binlog_pos=mysql-bin.000001:4", "", nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	require.JSONEq(t, `{"total":2,"data":[
		{"source_name":"mysql-01","worker_name":"worker1","op":"skip","binlog_pos":"mysql-bin.000001:4321","sqls":[],"resumed":true},
		{"source_name":"mysql-02","op":"replace","binlog_pos":"mysql-bin.000002:4","sqls":["ALTER TABLE t ADD c INT"]}]}`, string(resp.body))

	resp = do(t, srv.Client(), "POST", srv.URL+url, `{"op":"replace","source_name_list":["mysql-01"],"binlog_pos":"mysql-bin.000001:4321","sqls":["SELECT 1; SELECT 2"]}`, nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	resp = do(t, srv.Client(), "POST", srv.URL+url, `{"op":"revert"}`, nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)

	b.mu.Lock()
	lists, requests := b.binlog.lists, b.binlog.requests
	b.mu.Unlock()
	require.Equal(t, []binlogListCall{{"task-1", []string{"mysql-01", "mysql-02"}, "mysql-bin.000001:4"}}, lists)
	require.Len(t, requests, 2)
	require.Equal(t, BinlogOperationRequestOpReplace, requests[0].Op)
	require.Equal(t, "mysql-bin.000001:4321", *requests[0].BinlogPos)
	require.Equal(t, SourceNameList{"mysql-01"}, *requests[0].SourceNameList)
	require.Equal(t, []string{"SELECT 1; SELECT 2"}, *requests[0].Sqls)
	require.Equal(t, BinlogOperationRequest{Op: BinlogOperationRequestOpRevert}, requests[1])

	// The document refuses what it does not describe, before the backend.
	for _, body := range []string{``, `{}`, `{"op":"inject"}`, `{"op":"skip","sqls":"SELECT 1"}`, `{"op":"skip","source_name_list":["bad name"]}`} {
		resp = do(t, srv.Client(), "POST", srv.URL+url, body, nil)
		requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
	}
	b.mu.Lock()
	require.Len(t, b.binlog.requests, 2)
	b.mu.Unlock()

	// No operations: an empty array, not null; the backend's refusals with their DM codes.
	b.update(func(f *fakeBackend) { f.binlog.ops = nil })
	resp = do(t, srv.Client(), "GET", srv.URL+url, "", nil)
	require.JSONEq(t, `{"total":0,"data":[]}`, string(resp.body))
	b.update(func(f *fakeBackend) {
		f.binlog.err = &dmError{code: fsm.CodeSyncerOperatorNotExist, msg: "no binlog operation pending"}
	})
	resp = do(t, srv.Client(), "POST", srv.URL+url, `{"op":"revert","binlog_pos":"mysql-bin.000001:4"}`, nil)
	msg := requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeSyncerOperatorNotExist)
	require.Contains(t, msg, "no binlog operation pending")
}
