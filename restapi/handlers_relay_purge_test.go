package restapi

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

func TestPurgeRelayRoute(t *testing.T) {
	b := selfLeader("m1")
	srv, _ := newTestServer(t, b, "m1")
	const url = "/api/v1/sources/mysql-01/relay/purge"

	resp := do(t, srv.Client(), "POST", srv.URL+url, `{"relay_binlog_name":"mysql-bin.000003","relay_dir":"mysql-01"}`, nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	require.JSONEq(t, `{"total":1,"data":[{"worker_name":"worker-1","relay_dir":"/relay/mysql-01","purged_files":[],"kept_from":"mysql-bin.000003","msg":""}]}`, string(resp.body))
	require.Equal(t, []string{"purge relay mysql-01 mysql-bin.000003 mysql-01"}, b.calls())

	// Names that are no binlog file name are refused before the backend is asked.
	for _, body := range []string{`{}`, `{"relay_binlog_name":""}`, `{"relay_binlog_name":"mysql-bin"}`,
		`{"relay_binlog_name":"../x.000001"}`, `{"relay_binlog_name":"mysql-bin.00000x"}`, `{"relay_binlog_name":3}`} {
		resp = do(t, srv.Client(), "POST", srv.URL+url, body, nil)
		msg := requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
		require.Contains(t, msg, "relay_binlog_name", "body %s", body)
	}
	require.Len(t, b.calls(), 1)

	// The backend's errors go out in the template.
	b.mu.Lock()
	b.inplaceErr = Errorf(http.StatusBadRequest, fsm.CodeSourceNotExist, "source %q does not exist", "ghost")
	b.mu.Unlock()
	resp = do(t, srv.Client(), "POST", srv.URL+"/api/v1/sources/ghost/relay/purge", `{"relay_binlog_name":"mysql-bin.000003"}`, nil)
	require.Contains(t, requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeSourceNotExist), "ghost")
}
