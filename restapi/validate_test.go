package restapi

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEscapedSlashInPathParameter: a path parameter holding an escaped "/" is one segment for
// the validator as for the router (MySQL table names may contain "/").
func TestEscapedSlashInPathParameter(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	path := "/api/v1/tasks/task-1/sources/mysql-01/schemas/db1/" + url.PathEscape("a/b%c")
	resp := do(t, srv.Client(), "GET", srv.URL+path, "", nil)
	msg := requireErrorBody(t, resp, http.StatusNotImplemented, CodeInternal)
	require.Contains(t, msg, "get table structure")

	// Without escaping, the same name is two segments: no route.
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/tasks/task-1/sources/mysql-01/schemas/db1/a/b", "", nil)
	requireErrorBody(t, resp, http.StatusNotFound, CodeRequestInvalid)
}
