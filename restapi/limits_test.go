package restapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// TestLimitsMatchTheDocument: every place of the document that carries a source or task name
// or a thread or batch count states the limits of limits.go.
func TestLimitsMatchTheDocument(t *testing.T) {
	doc, err := loadSpec(t.Context())
	require.NoError(t, err)
	schemas := doc.Components.Schemas
	prop := func(schema string, path ...string) *openapi3.Schema {
		s := schemas[schema].Value
		for _, p := range path {
			s = s.Properties[p].Value
		}
		return s
	}
	requireName := func(s *openapi3.Schema, maxLen int, pattern, where string) {
		require.NotNil(t, s.MaxLength, where)
		require.Equal(t, uint64(maxLen), *s.MaxLength, where)
		require.Equal(t, pattern, s.Pattern, where)
	}
	for where, s := range map[string]*openapi3.Schema{
		"parameter source-name":              doc.Components.Parameters["source-name"].Value.Schema.Value,
		"Source.source_name":                 prop("Source", "source_name"),
		"TaskSourceConf.source_name":         prop("TaskSourceConf", "source_name"),
		"TaskTableMigrateRule.source.name":   prop("TaskTableMigrateRule", "source", "source_name"),
		"SourceNameList items":               schemas["SourceNameList"].Value.Items.Value,
		"CreateTaskRequest.source_name_list": prop("CreateTaskRequest", "source_name_list").Items.Value,
	} {
		requireName(s, MaxSourceNameLen, sourceNamePattern, where)
	}
	locks := doc.Paths.Value("/api/v1/shard-ddl-locks").Get.Parameters.GetByInAndName("query", "task_name")
	for where, s := range map[string]*openapi3.Schema{
		"parameter task-name": doc.Components.Parameters["task-name"].Value.Schema.Value,
		"Task.name":           prop("Task", "name"),
		"query task_name":     locks.Schema.Value,
	} {
		requireName(s, MaxTaskNameLen, taskNamePattern, where)
	}
	for where, s := range map[string]*openapi3.Schema{
		"export_threads": prop("TaskFullMigrateConf", "export_threads"),
		"import_threads": prop("TaskFullMigrateConf", "import_threads"),
		"repl_threads":   prop("TaskIncrMigrateConf", "repl_threads"),
		"repl_batch":     prop("TaskIncrMigrateConf", "repl_batch"),
	} {
		maxVal := float64(MaxThreads)
		if where == "repl_batch" {
			maxVal = MaxReplBatch
		}
		require.Equal(t, 1.0, *s.Min, where)
		require.Equal(t, maxVal, *s.Max, where)
	}
}

func TestValidNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"mysql-01": true, "db_1.replica": true, "_x": true, strings.Repeat("s", 32): true,
		"": false, strings.Repeat("s", 33): false, "-a": false, ".a": false, "..": false, "a/b": false,
		"a b": false, "a\\b": false, "é": false,
	} {
		require.Equal(t, ok, ValidSourceName(name), "source %q", name)
	}
	for name, ok := range map[string]bool{
		"task-1": true, "T_2": true, strings.Repeat("t", 43): true,
		"": false, strings.Repeat("t", 44): false, "-t": false, "a.b": false, "a`b": false, "a/b": false,
	} {
		require.Equal(t, ok, ValidTaskName(name), "task %q", name)
	}
}

// withField returns the JSON document body with the value at path (object keys) replaced.
func withField(t *testing.T, body string, value any, path ...string) string {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	obj := doc
	for _, p := range path[:len(path)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[p] = next
		}
		obj = next
	}
	obj[path[len(path)-1]] = value
	out, err := json.Marshal(doc)
	require.NoError(t, err)
	return string(out)
}

// TestNamesAndBoundsAreValidated: a name too long or with other characters, a thread or batch
// count out of range, are 400 with code 0 naming the field (never repeating a long value);
// the values at the limits pass on to the backend (the fake answers 501).
func TestNamesAndBoundsAreValidated(t *testing.T) {
	srv, logs := newTestServer(t, selfLeader("m1"), "m1")
	post := func(path, body string) response {
		return do(t, srv.Client(), "POST", srv.URL+path, body, nil)
	}
	huge := strings.Repeat("n", 10000)
	refused := []struct{ path, body, field string }{
		{"/api/v1/sources", withField(t, validSource, strings.Repeat("s", 33), "source_name"), "source_name"},
		{"/api/v1/sources", withField(t, validSource, "a/b", "source_name"), "source_name"},
		{"/api/v1/sources", withField(t, validSource, huge, "source_name"), "source_name"},
		{"/api/v1/tasks", withField(t, validTask, strings.Repeat("t", 44), "task", "name"), "task.name"},
		{"/api/v1/tasks", withField(t, validTask, "a b", "task", "name"), "task.name"},
		{"/api/v1/tasks", withField(t, validTask, 0, "task", "source_config", "full_migrate_conf", "export_threads"), "export_threads"},
		{"/api/v1/tasks", withField(t, validTask, 1025, "task", "source_config", "full_migrate_conf", "import_threads"), "import_threads"},
		{"/api/v1/tasks", withField(t, validTask, -3, "task", "source_config", "incr_migrate_conf", "repl_threads"), "repl_threads"},
		{"/api/v1/tasks", withField(t, validTask, 1<<40, "task", "source_config", "incr_migrate_conf", "repl_batch"), "repl_batch"},
		{"/api/v1/tasks", withField(t, validTask, []string{strings.Repeat("s", 33)}, "source_name_list"), "source_name_list"},
	}
	for _, tc := range refused {
		msg := requireErrorBody(t, post(tc.path, tc.body), http.StatusBadRequest, fsm.CodeRequestInvalid)
		require.Contains(t, msg, tc.field)
		require.NotContains(t, msg, huge[:200])
	}
	require.NotContains(t, logs.String(), huge[:200])

	atLimits := withField(t, validTask, strings.Repeat("t", 43), "task", "name")
	atLimits = withField(t, atLimits, MaxThreads, "task", "source_config", "full_migrate_conf", "export_threads")
	atLimits = withField(t, atLimits, 1, "task", "source_config", "full_migrate_conf", "import_threads")
	atLimits = withField(t, atLimits, MaxThreads, "task", "source_config", "incr_migrate_conf", "repl_threads")
	atLimits = withField(t, atLimits, MaxReplBatch, "task", "source_config", "incr_migrate_conf", "repl_batch")
	requireErrorBody(t, post("/api/v1/tasks", atLimits), http.StatusNotImplemented, fsm.CodeInternal)
	requireErrorBody(t, post("/api/v1/sources", withField(t, validSource, strings.Repeat("s", 32), "source_name")),
		http.StatusNotImplemented, fsm.CodeInternal)

	// Names in paths and queries too.
	for _, path := range []string{
		"/api/v1/tasks/" + strings.Repeat("t", 44) + "/status",
		"/api/v1/sources/" + huge + "/status",
		"/api/v1/sources/..%2Fx/status",
		"/api/v1/shard-ddl-locks?task_name=" + strings.Repeat("t", 44),
		"/api/v1/tasks/task-1/status?source_name_list=a%20b",
	} {
		resp := do(t, srv.Client(), "GET", srv.URL+path, "", nil)
		msg := requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
		require.NotContains(t, msg, huge[:200])
	}
	requireErrorBody(t, do(t, srv.Client(), "GET", srv.URL+"/api/v1/tasks/"+strings.Repeat("t", 43)+"/status", "", nil),
		http.StatusNotImplemented, fsm.CodeInternal)
}
