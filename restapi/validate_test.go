package restapi

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

// TestEscapedSlashInPathParameter: a path parameter holding an escaped "/" is one segment for
// the validator as for the router (MySQL table names may contain "/").
func TestEscapedSlashInPathParameter(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	path := "/api/v1/tasks/task-1/sources/mysql-01/schemas/db1/" + url.PathEscape("a/b%c")
	resp := do(t, srv.Client(), "GET", srv.URL+path, "", nil)
	msg := requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
	require.Contains(t, msg, "get table structure")

	// Without escaping, the same name is two segments: no route.
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/tasks/task-1/sources/mysql-01/schemas/db1/a/b", "", nil)
	requireErrorBody(t, resp, http.StatusNotFound, fsm.CodeRequestInvalid)
}

// TestJSONBodyWithoutJSONContentType: every route with a JSON body accepts it sent without a
// Content-Type, or with curl's default for -d (application/x-www-form-urlencoded).
func TestJSONBodyWithoutJSONContentType(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	tried := 0
	for _, r := range routeRequests {
		if r.body == "" {
			continue
		}
		for _, contentType := range []string{"", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"} {
			req, err := http.NewRequestWithContext(t.Context(), r.method, srv.URL+r.url, strings.NewReader(r.body))
			require.NoError(t, err)
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, r.status, resp.StatusCode, "%s %s with Content-Type %q: %s", r.method, r.url, contentType, body)
			tried++
		}
	}
	require.Positive(t, tried)
}

// TestDefaultedFieldsAreOptional: a field with a documented default is not required, and a
// request leaving out every optional field passes validation.
func TestDefaultedFieldsAreOptional(t *testing.T) {
	doc, err := loadSpec(t.Context())
	require.NoError(t, err)
	for name, schema := range doc.Components.Schemas {
		for prop, ref := range schema.Value.Properties {
			if ref.Value.Default != nil {
				require.NotContains(t, schema.Value.Required, prop, "%s.%s has a default", name, prop)
			}
		}
	}

	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	source := `{"source_name":"mysql-01","host":"127.0.0.1","port":3306,"user":"root","password":"pw"}`
	resp := do(t, srv.Client(), "POST", srv.URL+"/api/v1/sources", source, nil)
	requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
	task := `{"task":{"name":"task-1","task_mode":"all","on_duplicate":"error",` +
		`"target_config":{"host":"127.0.0.1","port":4000,"user":"root","password":""},` +
		`"table_migrate_rule":[{"source":{"source_name":"mysql-01","schema":"db","table":"t"}}],` +
		`"source_config":{"source_conf":[{"source_name":"mysql-01"}]}}}`
	resp = do(t, srv.Client(), "POST", srv.URL+"/api/v1/tasks", task, nil)
	requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
	resp = do(t, srv.Client(), "POST", srv.URL+"/api/v1/sources/mysql-01/start-relay", `{"worker_name_list":["w1"]}`, nil)
	requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
	resp = do(t, srv.Client(), "PUT", srv.URL+tablePath, `{"sql_content":"CREATE TABLE t1 (c1 int)"}`, nil)
	requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
	resp = do(t, srv.Client(), "POST", srv.URL+"/api/v1/shard-ddl-locks/x/unlock", `{}`, nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
}
