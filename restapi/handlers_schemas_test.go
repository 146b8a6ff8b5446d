package restapi

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// TestOperateTableStructureOrigin: the new structure comes from exactly one of sql_content,
// from_source and from_target; anything else is a 400 in the template, before the backend.
func TestOperateTableStructureOrigin(t *testing.T) {
	b := selfLeader("m1")
	srv, _ := newTestServer(t, b, "m1")

	for body, want := range map[string]string{
		`{"sql_content":"CREATE TABLE t1 (c1 int)"}`:                     "sql=true from_source=false from_target=false",
		`{"from_source":true,"flush":false}`:                             "sql=false from_source=true from_target=false",
		`{"from_target":true,"sync":true}`:                               "sql=false from_source=false from_target=true",
		`{"from_target":true,"from_source":false}`:                       "sql=false from_source=false from_target=true",
		`{"sql_content":"CREATE TABLE t1 (c1 int)","from_target":false}`: "sql=true from_source=false from_target=false",
	} {
		resp := do(t, srv.Client(), "PUT", srv.URL+tablePath, body, nil)
		requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
		calls := b.calls()
		require.Equal(t, "set table task-1 mysql-01 db1.table1 "+want, calls[len(calls)-1], "body %s", body)
	}
	before := len(b.calls())

	for body, want := range map[string]string{
		`{}`:                          "give the new structure",
		`{"flush":true,"sync":false}`: "give the new structure",
		`{"from_source":false}`:       "give the new structure",
		`{"from_source":false,"from_target":false}`:                     "give the new structure",
		`{"from_source":true,"from_target":true}`:                       "only one",
		`{"sql_content":"CREATE TABLE t1 (c1 int)","from_source":true}`: "only one",
		`{"sql_content":"","from_target":true}`:                         "only one",
		`{"sql_content":"x","from_source":true,"from_target":true}`:     "only one",
		`{"from_source":"yes"}`:                                         "from_source",
		`{"from_target":1}`:                                             "from_target",
	} {
		resp := do(t, srv.Client(), "PUT", srv.URL+tablePath, body, nil)
		msg := requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
		require.Contains(t, msg, want, "body %s", body)
	}
	require.Len(t, b.calls(), before, "refused before the backend")
}
