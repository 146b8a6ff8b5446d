package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/integration"
	"github.com/stretchr/testify/require"
)

type seen struct {
	method, rawPath, path, query, body string
}

// fakeMaster answers every request with status and body, recording what it was asked.
func fakeMaster(t *testing.T, status int, body string) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var reqs []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, seen{r.Method, r.URL.EscapedPath(), r.URL.Path, r.URL.RawQuery, string(b)})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), reqs...)
	}
}

func run(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(append([]string{"--master-addr", addr}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestShardDDLLockList(t *testing.T) {
	srv, reqs := fakeMaster(t, http.StatusOK, `{"total":0,"data":[]}`)
	out, err := run(t, srv.URL, "shard-ddl-lock")
	require.NoError(t, err)
	require.JSONEq(t, `{"total":0,"data":[]}`, out)
	_, err = run(t, srv.URL, "shard-ddl-lock", "task 1")
	require.NoError(t, err)
	require.Equal(t, []seen{
		{method: "GET", rawPath: "/api/v1/shard-ddl-locks", path: "/api/v1/shard-ddl-locks"},
		{method: "GET", rawPath: "/api/v1/shard-ddl-locks", path: "/api/v1/shard-ddl-locks", query: "task_name=task+1"},
	}, reqs())

	_, err = run(t, srv.URL, "shard-ddl-lock", "a", "b")
	require.Error(t, err, "one task at most")
}

func TestShardDDLLockUnlock(t *testing.T) {
	srv, reqs := fakeMaster(t, http.StatusOK, `{"id":"t1-`+"`db`.`tbl`"+`","resolved":true}`)
	id := "t1-`db`.`tbl`"
	out, err := run(t, srv.URL, "shard-ddl-lock", "unlock", id)
	require.NoError(t, err)
	require.Contains(t, out, `"resolved": true`)
	_, err = run(t, srv.URL, "shard-ddl-lock", "unlock", id, "--owner", "mysql-02", "--action", "skip")
	require.NoError(t, err)
	got := reqs()
	require.Len(t, got, 2)
	require.Equal(t, "POST", got[0].method)
	require.Equal(t, "/api/v1/shard-ddl-locks/t1-%60db%60.%60tbl%60/unlock", got[0].rawPath)
	require.Equal(t, "/api/v1/shard-ddl-locks/"+id+"/unlock", got[0].path)
	require.JSONEq(t, `{"action":"exec"}`, got[0].body)
	require.JSONEq(t, `{"action":"skip","owner":"mysql-02"}`, got[1].body)

	_, err = run(t, srv.URL, "shard-ddl-lock", "unlock", id, "--action", "later")
	require.ErrorContains(t, err, "exec or skip")
	_, err = run(t, srv.URL, "shard-ddl-lock", "unlock")
	require.Error(t, err, "the lock id is required")
	require.Len(t, reqs(), 2, "refused before any call")
}

func TestShardDDLLockErrorsComeBack(t *testing.T) {
	code := strconv.Itoa(int(fsm.CodeShardLockNotFound))
	srv, _ := fakeMaster(t, http.StatusBadRequest, `{"error_msg":"lock \"x\" not found","error_code":`+code+`}`)
	_, err := run(t, srv.URL, "shard-ddl-lock", "unlock", "x")
	require.ErrorContains(t, err, code)
	require.ErrorContains(t, err, "not found")
}

// TestTLSFlags: with DM's --ssl-ca/--ssl-cert/--ssl-key, dmctl speaks HTTPS to an address
// without a scheme and presents its certificate, which a master with ssl-* requires.
func TestTLSFlags(t *testing.T) {
	pki := integration.NewPKI(t, t.TempDir(), "dmctl-test-ca")
	srvCert, srvKey := pki.Issue("master1")
	cert, err := tls.LoadX509KeyPair(srvCert, srvKey)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"client":"`+r.TLS.PeerCertificates[0].Subject.CommonName+`"}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pki.Pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	dmctlCert, dmctlKey := pki.Issue("dmctl")
	out, err := run(t, addr, "--ssl-ca", pki.CAPath, "--ssl-cert", dmctlCert, "--ssl-key", dmctlKey, "list-member", "--master")
	require.NoError(t, err)
	require.Contains(t, out, `"client": "dmctl"`)

	_, err = run(t, addr, "--ssl-ca", pki.CAPath, "list-member", "--master")
	require.Error(t, err, "no certificate: the master refuses")
	_, err = run(t, addr, "--ssl-ca", pki.CAPath, "--ssl-cert", dmctlCert, "list-member")
	require.ErrorContains(t, err, "go together")
}
