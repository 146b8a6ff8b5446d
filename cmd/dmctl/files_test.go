package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/dmyaml"
)

const testTaskYAML = `name: "files-task"
task-mode: incremental
target-database:
  host: "127.0.0.1"
  port: 3307
  user: "root"
  password: "secret"
mysql-instances:
- source-id: "mysql-01"
  meta:
    binlog-name: "mysql-bin.000002"
    binlog-pos: 4
`

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// TestStartTaskSendsTheConvertedTask: start-task posts the task the converter makes of the
// file, with -s and --remove-meta, and prints DM's answer with the precheck's warnings.
func TestStartTaskSendsTheConvertedTask(t *testing.T) {
	path := writeFile(t, "task.yaml", testTaskYAML)
	srv, reqs := fakeRoutes(t, func(r *http.Request) (int, string) {
		if r.Method == http.MethodPost {
			return http.StatusCreated, `{}`
		}
		return http.StatusOK, `{"total":1,"data":[{"name":"files-task","source_name":"mysql-01","worker_name":"worker1","stage":"Running","unit":"Sync"}]}`
	})
	r := dmctl(t, srv.URL, "start-task", "-s", "mysql-01", "--remove-meta", path)
	require.Equal(t, 0, r.code, "%+v", r)
	m := jsonOf(t, r)
	require.Equal(t, true, m["result"])
	require.Equal(t, "worker1", m["sources"].([]any)[0].(map[string]any)["worker"])

	seen := reqs()
	require.Equal(t, "/api/v1/tasks", seen[0].path)
	var req restapi.CreateTaskRequest
	require.NoError(t, json.Unmarshal([]byte(seen[0].body), &req))
	want, _, err := dmyaml.ParseTask([]byte(testTaskYAML), dmyaml.Options{})
	require.NoError(t, err)
	require.Equal(t, want, req.Task)
	require.True(t, *req.RemoveMeta)
	require.Equal(t, []string{"mysql-01"}, *req.SourceNameList)
}

// TestFileArgumentsNameWhatTheyHold: a task or source file stands for the name it holds.
func TestFileArgumentsNameWhatTheyHold(t *testing.T) {
	task := writeFile(t, "task.yml", testTaskYAML)
	source := writeFile(t, "source.yaml", "source-id: mysql-07\nfrom: {host: h, user: u, password: p}\n")
	srv, reqs := fakeMaster(t, http.StatusOK, `{"total":0,"data":[]}`)
	dmctl(t, srv.URL, "query-status", task)
	dmctl(t, srv.URL, "operate-source", "show", source)
	seen := reqs()
	require.Equal(t, "/api/v1/tasks/files-task/status", seen[0].path)
	require.Contains(t, seen[1].path, "/api/v1/sources")

	nameless := writeFile(t, "task.yaml", "task-mode: all\n")
	r := dmctl(t, srv.URL, "stop-task", nameless)
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, jsonOf(t, r)["msg"], "has no name")
}

// TestBadFilesAreRefusedBeforeAnyCall: a misspelt key is DM's 20003 naming the key and its
// line, and nothing is sent.
func TestBadFilesAreRefusedBeforeAnyCall(t *testing.T) {
	bad := writeFile(t, "task.yaml", strings.Replace(testTaskYAML, "task-mode", "task-mdoe", 1))
	srv, reqs := fakeMaster(t, http.StatusOK, `{}`)
	r := dmctl(t, srv.URL, "start-task", bad)
	require.Equal(t, exitFailure, r.code)
	m := jsonOf(t, r)
	require.EqualValues(t, 20003, m["code"])
	require.Contains(t, m["msg"], "task-mdoe")
	require.Contains(t, m["msg"], "line 2")
	require.Empty(t, reqs())
}

// TestSampleSourceConfigReadsBack: the sample --print-sample-config prints is a source.yaml the
// converter takes without a warning.
func TestSampleSourceConfigReadsBack(t *testing.T) {
	r := dmctl(t, deadAddr(t), "operate-source", "--print-sample-config")
	require.Equal(t, 0, r.code, "%+v", r)
	sf, warnings, err := dmyaml.ParseSource([]byte(r.stdout), dmyaml.Options{})
	require.NoError(t, err)
	require.Empty(t, warnings)
	require.Equal(t, "mysql-replica-01", sf.Source.SourceName)
}

// TestBinlogVerbs: DM's binlog skip|replace|revert|list arguments become the binlog-operations
// route's requests; a replace without statements is a usage error that sends nothing.
func TestBinlogVerbs(t *testing.T) {
	srv, reqs := fakeMaster(t, http.StatusOK, `{"total":1,"data":[{"source_name":"mysql-01","worker_name":"worker1","op":"replace","binlog_pos":"mysql-bin.000001:4321","sqls":["ALTER TABLE t ADD c INT; UPDATE t SET c = 1"],"resumed":true}]}`)
	r := dmctl(t, srv.URL, "binlog", "replace", "t1", "-s", "mysql-01", "-b", "mysql-bin.000001:4321", "ALTER TABLE t ADD c INT;", "UPDATE t SET c = 1")
	require.Equal(t, 0, r.code, "%+v", r)
	src := jsonOf(t, r)["sources"].([]any)[0].(map[string]any)
	require.Equal(t, "worker1", src["worker"])
	require.Contains(t, src["msg"], `"binlogPos":"mysql-bin.000001:4321"`)
	dmctl(t, srv.URL, "binlog", "skip", "t1")
	dmctl(t, srv.URL, "binlog", "list", "t1", "-s", "mysql-01")
	seen := reqs()
	require.Len(t, seen, 3)
	var req restapi.BinlogOperationRequest
	require.NoError(t, json.Unmarshal([]byte(seen[0].body), &req))
	require.Equal(t, "/api/v1/tasks/t1/binlog-operations", seen[0].path)
	require.Equal(t, restapi.BinlogOperationRequestOp("replace"), req.Op)
	require.Equal(t, "mysql-bin.000001:4321", *req.BinlogPos)
	require.Equal(t, []string{"mysql-01"}, *req.SourceNameList)
	require.Equal(t, []string{"ALTER TABLE t ADD c INT; UPDATE t SET c = 1"}, *req.Sqls)
	require.JSONEq(t, `{"op":"skip"}`, seen[1].body)
	require.Equal(t, http.MethodGet, seen[2].method)
	require.Equal(t, "source_name_list=mysql-01", seen[2].query)

	r = dmctl(t, srv.URL, "binlog", "replace", "t1")
	require.Equal(t, exitUsage, r.code)
	r = dmctl(t, srv.URL, "binlog", "skip", "t1", "SELECT 1")
	require.Equal(t, exitUsage, r.code)
	require.Len(t, reqs(), 3)
}
