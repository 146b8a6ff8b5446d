package restapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const validSource = `{"source_name":"mysql-01","host":"127.0.0.1","port":3306,"user":"root",` +
	`"password":"secret-pw-123","enable_gtid":false}`

const validTask = `{"remove_meta":false,"task":{"name":"task-1","task_mode":"all",` +
	`"enhance_online_schema_change":true,"on_duplicate":"overwrite",` +
	`"target_config":{"host":"127.0.0.1","port":4000,"user":"root","password":"secret-pw-123"},` +
	`"table_migrate_rule":[{"source":{"source_name":"mysql-01","schema":"db","table":"t"}}],` +
	`"source_config":{"source_conf":[{"source_name":"mysql-01"}]}}}`

// productPageTask is the create-task example of the product page (its trailing commas removed).
const productPageTask = `{ "remove_meta": false, "task": { "name": "task-1", "task_mode": "all", "shard_mode": "pessimistic", "meta_schema": "dm-meta", "enhance_online_schema_change": true, "on_duplicate": "overwrite", "target_config": { "host": "127.0.0.1", "port": 3306, "user": "root", "password": "123456", "security": { "ssl_ca_content": "", "ssl_cert_content": "", "ssl_key_content": "", "cert_allowed_cn": [ "string" ] } }, "binlog_filter_rule": { "rule-1": { "ignore_event": [ "all dml" ], "ignore_sql": [ "^Drop" ] }, "rule-2": { "ignore_event": [ "all dml" ], "ignore_sql": [ "^Drop" ] }, "rule-3": { "ignore_event": [ "all dml" ], "ignore_sql": [ "^Drop" ] } }, "table_migrate_rule": [ { "source": { "source_name": "source-name", "schema": "db-*", "table": "tb-*" }, "target": { "schema": "db1", "table": "tb1" }, "binlog_filter_rule": [ "rule-1", "rule-2", "rule-3" ] } ], "source_config": { "full_migrate_conf": { "export_threads": 4, "import_threads": 16, "data_dir": "./exported_data", "consistency": "auto" }, "incr_migrate_conf": { "repl_threads": 16, "repl_batch": 100 }, "source_conf": [ { "source_name": "mysql-replica-01", "binlog_name": "binlog.000001", "binlog_pos": 4, "binlog_gtid": "03fc0263-28c7-11e7-a653-6c0b84d59f30:1-7041423,05474d3c-28c7-11e7-8352-203db246dd3d:1-170" } ] } }, "source_name_list": [ "source-1" ] }`

const tablePath = "/api/v1/tasks/task-1/sources/mysql-01/schemas/db1/table1"

// routeRequests has one valid request for each of the contract routes.
var routeRequests = []struct {
	method, specPath, url, body string
	status                      int
}{
	{"GET", "/api/v1/docs", "/api/v1/docs", "", http.StatusOK},
	{"GET", "/api/v1/dm.json", "/api/v1/dm.json", "", http.StatusOK},
	{"POST", "/api/v1/sources", "/api/v1/sources", validSource, http.StatusNotImplemented},
	{"GET", "/api/v1/sources", "/api/v1/sources?with_status=true", "", http.StatusNotImplemented},
	{"DELETE", "/api/v1/sources/{source-name}", "/api/v1/sources/mysql-01?force=true", "", http.StatusNotImplemented},
	{"GET", "/api/v1/sources/{source-name}/status", "/api/v1/sources/mysql-01/status", "", http.StatusNotImplemented},
	{"POST", "/api/v1/sources/{source-name}/start-relay", "/api/v1/sources/mysql-01/start-relay", `{"worker_name_list":["worker-1"]}`, http.StatusNotImplemented},
	{"POST", "/api/v1/sources/{source-name}/stop-relay", "/api/v1/sources/mysql-01/stop-relay", `{"worker_name_list":["worker-1"]}`, http.StatusNotImplemented},
	{"POST", "/api/v1/sources/{source-name}/pause-relay", "/api/v1/sources/mysql-01/pause-relay", "", http.StatusNotImplemented},
	{"POST", "/api/v1/sources/{source-name}/resume-relay", "/api/v1/sources/mysql-01/resume-relay", "", http.StatusNotImplemented},
	{"POST", "/api/v1/sources/{source-name}/transfer", "/api/v1/sources/mysql-01/transfer", `{"worker_name":"worker-1"}`, http.StatusNotImplemented},
	{"GET", "/api/v1/sources/{source-name}/schemas", "/api/v1/sources/mysql-01/schemas", "", http.StatusNotImplemented},
	{"GET", "/api/v1/sources/{source-name}/schemas/{schema-name}", "/api/v1/sources/mysql-01/schemas/db1", "", http.StatusNotImplemented},
	{"POST", "/api/v1/tasks", "/api/v1/tasks", validTask, http.StatusNotImplemented},
	{"GET", "/api/v1/tasks", "/api/v1/tasks", "", http.StatusNotImplemented},
	{"DELETE", "/api/v1/tasks/{task-name}", "/api/v1/tasks/task-1?source_name_list=a&source_name_list=b", "", http.StatusNotImplemented},
	{"GET", "/api/v1/tasks/{task-name}/status", "/api/v1/tasks/task-1/status?stage=running&source_name_list=a", "", http.StatusNotImplemented},
	{"POST", "/api/v1/tasks/{task-name}/pause", "/api/v1/tasks/task-1/pause", `["mysql-01"]`, http.StatusNotImplemented},
	{"POST", "/api/v1/tasks/{task-name}/resume", "/api/v1/tasks/task-1/resume", "", http.StatusNotImplemented},
	{"GET", "/api/v1/tasks/{task-name}/sources/{source-name}/schemas", "/api/v1/tasks/task-1/sources/mysql-01/schemas", "", http.StatusNotImplemented},
	{"GET", "/api/v1/tasks/{task-name}/sources/{source-name}/schemas/{schema-name}", "/api/v1/tasks/task-1/sources/mysql-01/schemas/db1", "", http.StatusNotImplemented},
	{"GET", "/api/v1/tasks/{task-name}/sources/{source-name}/schemas/{schema-name}/{table-name}", tablePath, "", http.StatusNotImplemented},
	{"PUT", "/api/v1/tasks/{task-name}/sources/{source-name}/schemas/{schema-name}/{table-name}", tablePath, `{"sql_content":"CREATE TABLE t1 (c1 int)","flush":true,"sync":false}`, http.StatusNotImplemented},
	{"DELETE", "/api/v1/tasks/{task-name}/sources/{source-name}/schemas/{schema-name}/{table-name}", tablePath, "", http.StatusNotImplemented},
	{"GET", "/api/v1/cluster/masters", "/api/v1/cluster/masters", "", http.StatusOK},
	{"DELETE", "/api/v1/cluster/masters/{master-name}", "/api/v1/cluster/masters/master1", "", http.StatusNoContent},
	{"GET", "/api/v1/cluster/workers", "/api/v1/cluster/workers", "", http.StatusOK},
	{"DELETE", "/api/v1/cluster/workers/{worker-name}", "/api/v1/cluster/workers/worker1", "", http.StatusNoContent},
	{"GET", "/api/v1/shard-ddl-locks", "/api/v1/shard-ddl-locks?task_name=task-1", "", http.StatusOK},
	{"POST", "/api/v1/shard-ddl-locks/{lock-id}/unlock", "/api/v1/shard-ddl-locks/task-1-%60db%60.%60t%60/unlock", `{"action":"skip"}`, http.StatusOK},
	{"GET", "/api/v1/sources/{source-name}", "/api/v1/sources/mysql-01?with_status=true", "", http.StatusOK},
	{"PUT", "/api/v1/sources/{source-name}", "/api/v1/sources/mysql-01", `{"source":` + validSource + `}`, http.StatusOK},
	{"GET", "/api/v1/tasks/{task-name}", "/api/v1/tasks/task-1?with_status=true", "", http.StatusOK},
	{"PUT", "/api/v1/tasks/{task-name}", "/api/v1/tasks/task-1", validTask, http.StatusOK},
	{"POST", "/api/v1/tasks/check", "/api/v1/tasks/check", validTask, http.StatusOK},
	{"POST", "/api/v1/tasks/converters", "/api/v1/tasks/converters", `{"task_config_file":"name: t"}`, http.StatusNotImplemented},
	{"GET", "/api/v1/tasks/{task-name}/binlog-operations", "/api/v1/tasks/task-1/binlog-operations?source_name_list=mysql-01&binlog_pos=mysql-bin.000001:4", "", http.StatusOK},
	{"POST", "/api/v1/tasks/{task-name}/binlog-operations", "/api/v1/tasks/task-1/binlog-operations", `{"op":"skip"}`, http.StatusOK},
	{"POST", "/api/v1/sources/{source-name}/relay/purge", "/api/v1/sources/mysql-01/relay/purge", `{"relay_binlog_name":"mysql-bin.000003"}`, http.StatusOK},
}

func TestEveryContractRouteIsRouted(t *testing.T) {
	require.Len(t, routeRequests, len(contractRoutes))
	for i, r := range routeRequests {
		require.Equal(t, contractRoutes[i].method+" "+contractRoutes[i].path, r.method+" "+r.specPath)
	}
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	for _, r := range routeRequests {
		t.Run(r.method+" "+r.specPath, func(t *testing.T) {
			resp := do(t, srv.Client(), r.method, srv.URL+r.url, r.body, nil)
			require.Equal(t, r.status, resp.status, "body: %s", resp.body)
			require.Equal(t, "m1", resp.header.Get(HeaderMaster))
			if r.status == http.StatusNotImplemented {
				msg := requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
				require.Contains(t, msg, "is not implemented yet")
			}
		})
	}
}

func TestProductPageTaskExampleIsValid(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	resp := do(t, srv.Client(), "POST", srv.URL+"/api/v1/tasks", productPageTask, nil)
	requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
}

func TestValidationErrors(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	withField := func(body, field, value string) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &m))
		var v any
		require.NoError(t, json.Unmarshal([]byte(value), &v))
		m[field] = v
		out, err := json.Marshal(m)
		require.NoError(t, err)
		return string(out)
	}
	for _, tc := range []struct {
		name, method, path, body string
		wantInMsg                []string
	}{
		{"missing required field", "POST", "/api/v1/sources",
			`{"source_name":"mysql-01","port":3306,"user":"root","password":"secret-pw-123","enable_gtid":false}`,
			[]string{`"host"`, "missing"}},
		{"wrong type", "POST", "/api/v1/sources", withField(validSource, "port", `"3306"`),
			[]string{`"port"`, "integer"}},
		{"bad enum", "POST", "/api/v1/tasks",
			strings.Replace(validTask, `"task_mode":"all"`, `"task_mode":"everything"`, 1),
			[]string{`"task.task_mode"`, "full", "incremental", "all"}},
		{"bad on_duplicate", "POST", "/api/v1/tasks",
			strings.Replace(validTask, `"on_duplicate":"overwrite"`, `"on_duplicate":"skip"`, 1),
			[]string{`"task.on_duplicate"`}},
		{"nested missing field", "POST", "/api/v1/tasks",
			strings.Replace(validTask, `"schema":"db",`, ``, 1),
			[]string{`"task.table_migrate_rule[0].source.schema"`, "missing"}},
		{"required body absent", "POST", "/api/v1/sources/mysql-01/transfer", "", []string{"request body is required"}},
		{"not JSON", "POST", "/api/v1/sources", `{"source_name":`, []string{"request body"}},
		{"bad boolean query", "GET", "/api/v1/sources?with_status=maybe", "", []string{`"with_status"`}},
		{"pause body not a list", "POST", "/api/v1/tasks/task-1/pause", `{"source":"a"}`, []string{"request body", "array"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, srv.Client(), tc.method, srv.URL+tc.path, tc.body, nil)
			msg := requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
			for _, want := range tc.wantInMsg {
				assert.Contains(t, msg, want)
			}
			assert.NotContains(t, msg, "secret-pw-123", "values are not echoed")
		})
	}
}

func TestValidationRejectsNonJSONContentType(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	resp := do(t, srv.Client(), "POST", srv.URL+"/api/v1/sources/mysql-01/transfer", "",
		http.Header{"Content-Type": {"text/plain"}})
	requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid) // empty body, required

	req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/api/v1/sources/mysql-01/transfer",
		strings.NewReader(`{"worker_name":"w"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/plain")
	r, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	require.Equal(t, http.StatusBadRequest, r.StatusCode)

	// A JSON body sent without any Content-Type is accepted.
	req, err = http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/api/v1/sources/mysql-01/transfer",
		strings.NewReader(`{"worker_name":"w"}`))
	require.NoError(t, err)
	r2, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer r2.Body.Close()
	require.Equal(t, http.StatusNotImplemented, r2.StatusCode)
}

func TestUnknownBodyFieldsAreIgnoredWithAWarning(t *testing.T) {
	srv, logs := newTestServer(t, selfLeader("m1"), "m1")
	body := strings.Replace(validSource, `"enable_gtid":false`,
		`"enable_gtid":false,"case_sensitive":true,"purge":{"interval":60,"bogus":1}`, 1)
	resp := do(t, srv.Client(), "POST", srv.URL+"/api/v1/sources", body, nil)
	requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)

	out := logs.String()
	require.Contains(t, out, "ignoring unknown fields")
	require.Contains(t, out, "case_sensitive")
	require.Contains(t, out, "purge.bogus")
	require.NotContains(t, out, "secret-pw-123", "request bodies are never logged")

	// Map-valued fields (binlog_filter_rule) take any key.
	require.NotContains(t, unknownFieldsOf(t, "POST", "/api/v1/tasks", productPageTask), "rule-1")
}

func unknownFieldsOf(t *testing.T, method, path, body string) string {
	t.Helper()
	doc, err := loadSpec(t.Context())
	require.NoError(t, err)
	op := doc.Paths.Value(path).GetOperation(method)
	var v any
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	return strings.Join(unknownFields(op.RequestBody.Value.Content.Get("application/json").Schema.Value, v), ",")
}

func TestUnknownPathAndWrongMethod(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")

	resp := do(t, srv.Client(), "GET", srv.URL+"/api/v1/nope", "", nil)
	requireErrorBody(t, resp, http.StatusNotFound, fsm.CodeRequestInvalid)
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/sources/a/b/c/d", "", nil)
	requireErrorBody(t, resp, http.StatusNotFound, fsm.CodeRequestInvalid)

	resp = do(t, srv.Client(), "PUT", srv.URL+"/api/v1/sources", validSource, nil)
	requireErrorBody(t, resp, http.StatusMethodNotAllowed, fsm.CodeRequestInvalid)
	require.Equal(t, "GET, POST", resp.header.Get("Allow"))
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/masters/master1", "", nil)
	requireErrorBody(t, resp, http.StatusMethodNotAllowed, fsm.CodeRequestInvalid)
	require.Equal(t, "DELETE", resp.header.Get("Allow"))
}

func TestClusterRoutes(t *testing.T) {
	b := selfLeader("m1")
	b.masters = []ClusterMaster{
		{Name: "m1", Addr: "127.0.0.1:8261", Alive: true, Leader: true},
		{Name: "m2", Addr: "127.0.0.1:8361", Alive: false, Leader: false},
	}
	b.workers = []ClusterWorker{
		{Name: "w1", Addr: "127.0.0.1:8262", BoundStage: ClusterWorkerBoundStageBound, BoundSourceName: "mysql-01"},
		{Name: "w2", Addr: "127.0.0.1:8263", BoundStage: ClusterWorkerBoundStageFree},
	}
	srv, _ := newTestServer(t, b, "m1")

	resp := do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/masters", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "application/json", resp.header.Get("Content-Type"))
	require.JSONEq(t, `{"total":2,"data":[
		{"name":"m1","addr":"127.0.0.1:8261","alive":true,"leader":true},
		{"name":"m2","addr":"127.0.0.1:8361","alive":false,"leader":false}]}`, string(resp.body))

	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/workers", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.JSONEq(t, `{"total":2,"data":[
		{"name":"w1","addr":"127.0.0.1:8262","bound_stage":"bound","bound_source_name":"mysql-01"},
		{"name":"w2","addr":"127.0.0.1:8263","bound_stage":"free","bound_source_name":""}]}`, string(resp.body))

	resp = do(t, srv.Client(), "DELETE", srv.URL+"/api/v1/cluster/masters/m2", "", nil)
	require.Equal(t, http.StatusNoContent, resp.status)
	require.Empty(t, resp.body)
	resp = do(t, srv.Client(), "DELETE", srv.URL+"/api/v1/cluster/workers/w%202", "", nil)
	require.Equal(t, http.StatusNoContent, resp.status)
	require.Empty(t, resp.body)
	masters, workers := b.offlined()
	require.Equal(t, []string{"m2"}, masters)
	require.Equal(t, []string{"w 2"}, workers, "path parameters are unescaped")
}

func TestClusterEmptyListsAreArrays(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	resp := do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/workers", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.JSONEq(t, `{"total":0,"data":[]}`, string(resp.body))
}

func TestClusterBackendErrors(t *testing.T) {
	b := selfLeader("m1")
	b.removeErr = fmt.Errorf("offline master: %w", &dmError{code: fsm.CodeMasterNotExist, msg: "master name m9 not exist"})
	srv, _ := newTestServer(t, b, "m1")
	resp := do(t, srv.Client(), "DELETE", srv.URL+"/api/v1/cluster/masters/m9", "", nil)
	msg := requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeMasterNotExist)
	require.Equal(t, "offline master: master name m9 not exist", msg)

	b.update(func(f *fakeBackend) { f.removeErr = fmt.Errorf("etcd: %w", ErrNoLeader) })
	resp = do(t, srv.Client(), "DELETE", srv.URL+"/api/v1/cluster/workers/w1", "", nil)
	requireErrorBody(t, resp, http.StatusServiceUnavailable, fsm.CodeNoLeader)

	b.update(func(f *fakeBackend) { f.listErr = errors.New("boom") })
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/workers", "", nil)
	msg = requireErrorBody(t, resp, http.StatusInternalServerError, fsm.CodeInternal)
	require.Equal(t, "boom", msg)
}

func TestPanicBecomes500(t *testing.T) {
	b := selfLeader("m1")
	b.panicMsg = "kaboom"
	srv, logs := newTestServer(t, b, "m1")
	resp := do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/masters", "", nil)
	requireErrorBody(t, resp, http.StatusInternalServerError, fsm.CodeInternal)
	require.Equal(t, "m1", resp.header.Get(HeaderMaster))
	out := logs.String()
	require.Contains(t, out, "panic while serving a request")
	require.Contains(t, out, "kaboom")
	require.Contains(t, out, "level=ERROR")

	// The server is still serving.
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/workers", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
}

func TestAccessLogLevels(t *testing.T) {
	srv, logs := newTestServer(t, selfLeader("m1"), "m1")
	do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/workers", "", nil)
	do(t, srv.Client(), "GET", srv.URL+"/api/v1/nope", "", nil)
	do(t, srv.Client(), "GET", srv.URL+"/api/v1/tasks", "", nil)
	out := logs.String()
	require.Regexp(t, `level=INFO msg="openapi request".*method=GET path=/api/v1/cluster/workers status=200 duration=`, out)
	require.Regexp(t, `level=WARN msg="openapi request".*path=/api/v1/nope status=404`, out)
	require.Regexp(t, `level=ERROR msg="openapi request".*path=/api/v1/tasks status=501`, out)
}
