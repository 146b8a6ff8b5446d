package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/integration"
)

type seen struct {
	method, rawPath, path, query, body, auth string
}

// fakeMaster answers every request with status and body, recording what it was asked.
func fakeMaster(t *testing.T, status int, body string) (*httptest.Server, func() []seen) {
	t.Helper()
	return fakeRoutes(t, func(*http.Request) (int, string) { return status, body })
}

// fakeRoutes answers each request as answer says, recording what it was asked.
func fakeRoutes(t *testing.T, answer func(*http.Request) (int, string)) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var reqs []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, seen{r.Method, r.URL.EscapedPath(), r.URL.Path, r.URL.RawQuery, string(b), r.Header.Get("Authorization")})
		mu.Unlock()
		status, body := answer(r)
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

// result is one run of dmctl.
type result struct {
	stdout, stderr string
	code           int
}

// dmctlEnv runs dmctl with the given environment (nothing of the test process's).
func dmctlEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return result{out.String(), errOut.String(), code}
}

// dmctl runs dmctl against the master at addr.
func dmctl(t *testing.T, addr string, args ...string) result {
	t.Helper()
	return dmctlEnv(t, nil, append([]string{"--master-addr", addr}, args...)...)
}

// jsonOf decodes a run's stdout.
func jsonOf(t *testing.T, r result) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &m), "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	return m
}

// deadAddr is an address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestUsageErrorsExit2(t *testing.T) {
	srv, reqs := fakeMaster(t, http.StatusOK, `{"total":0,"data":[]}`)
	for _, args := range [][]string{
		{},
		{"no-such-verb"},
		{"list-member", "--no-such-flag"},
		{"list-member", "extra"},
		{"-o", "yaml", "list-member"},
		{"offline-member", "--name", "w1"},
		{"offline-member", "--master", "--worker", "--name", "w1"},
		{"offline-member", "--type", "leader", "--name", "w1"},
		{"offline-member", "--worker"},
		{"query-status", "a", "b"},
		{"stop-task"},
		{"transfer-source", "mysql-01"},
		{"start-relay", "w1"},
		{"pause-relay"},
		{"purge-relay", "-s", "mysql-01"},
		{"operate-source"},
		{"operate-source", "restart"},
		{"operate-source", "stop"},
		{"binlog-schema", "list"},
		{"binlog-schema", "update", "t", "db", "tbl"},
		{"binlog-schema", "update", "t", "db", "tbl", "--from-source", "--from-target"},
		{"binlog-schema", "update", "t", "db", "tbl", "t.sql", "--from-target"},
		{"binlog-schema", "update", "t", "db", "tbl", "t.sql", "--from-source"},
		{"binlog-schema", "rename", "t"},
		{"shard-ddl-lock", "a", "b"},
		{"shard-ddl-lock", "unlock", "x", "--action", "later"},
		{"config", "tasks", "t"},
		{"--rpc-timeout", "0s", "list-member"},
		{"encrypt", "secret"},
	} {
		r := dmctl(t, srv.URL, args...)
		require.Equal(t, exitUsage, r.code, "dmctl %v: %+v", args, r)
		require.Empty(t, r.stdout, "dmctl %v", args)
		require.Regexp(t, `^Error: .+\nRun 'dmctl.* --help' for usage.\n$`, r.stderr, "dmctl %v", args)
	}
	require.Empty(t, reqs(), "refused before any call")
}

func TestVersionAndHelp(t *testing.T) {
	r := dmctlEnv(t, nil, "-V")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "dmctl ")
	r = dmctlEnv(t, nil, "-version") // DM's single-dash spelling
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "dmctl ")
	r = dmctlEnv(t, nil, "query-status", "--help")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "--watch")
}

// TestMasterAddrList: DM's --master-addr list is tried in turn; the first address that
// answers serves the run, a dead one or one without a leader (503) passes the call on, and
// an error template is the answer (not tried elsewhere).
func TestMasterAddrList(t *testing.T) {
	live, liveReqs := fakeMaster(t, http.StatusOK, `{"total":1,"data":[{"name":"w1","addr":"127.0.0.1:8262","bound_stage":"free","bound_source_name":""}]}`)
	dead := deadAddr(t)
	r := dmctl(t, dead+","+live.Listener.Addr().String(), "list-member", "--worker")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.Equal(t, "w1", jsonOf(t, r)["members"].([]any)[0].(map[string]any)["worker"].(map[string]any)["workers"].([]any)[0].(map[string]any)["name"])
	require.Len(t, liveReqs(), 1)

	noLeader, noLeaderReqs := fakeMaster(t, http.StatusServiceUnavailable, `{"error_msg":"no leader","error_code":11108}`)
	r = dmctl(t, noLeader.URL+","+live.URL, "list-member", "--worker")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.Len(t, noLeaderReqs(), 1)
	require.Len(t, liveReqs(), 2)

	refusing, refusingReqs := fakeMaster(t, http.StatusBadRequest, `{"error_msg":"worker \"w9\" does not exist","error_code":46004}`)
	r = dmctl(t, refusing.URL+","+live.URL, "offline-member", "--worker", "--name", "w9")
	require.Equal(t, exitFailure, r.code)
	require.Len(t, refusingReqs(), 1)
	require.Len(t, liveReqs(), 2, "an answer is an answer: the next master is not asked")

	r = dmctl(t, dead+","+deadAddr(t), "list-member")
	require.Equal(t, exitFailure, r.code)
	m := jsonOf(t, r)
	require.Equal(t, false, m["result"])
	require.Contains(t, m["msg"], "no dm-master answered")
	require.Contains(t, m["msg"], dead)
}

// TestMasterAddrSources: the flag wins over the config file, which wins over DM_MASTER_ADDR;
// DM's single-dash flags work.
func TestMasterAddrSources(t *testing.T) {
	fromFlag, flagReqs := fakeMaster(t, http.StatusOK, `{"total":0,"data":[]}`)
	fromFile, fileReqs := fakeMaster(t, http.StatusOK, `{"total":0,"data":[]}`)
	fromEnv, envReqs := fakeMaster(t, http.StatusOK, `{"total":0,"data":[]}`)
	conf := filepath.Join(t.TempDir(), "dmctl.toml")
	require.NoError(t, os.WriteFile(conf, []byte("master-addr = \""+fromFile.URL+"\"\nrpc-timeout = \"30s\"\nlog-level = \"info\"\n"), 0o600))
	env := map[string]string{"DM_MASTER_ADDR": fromEnv.URL}

	require.Equal(t, exitOK, dmctlEnv(t, env, "list-member").code)
	require.Len(t, envReqs(), 2)
	r := dmctlEnv(t, env, "--config", conf, "list-member", "--master")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.Len(t, fileReqs(), 1)
	require.Contains(t, r.stderr, "log-level", "keys dmctl does not use are named")
	require.Equal(t, exitOK, dmctlEnv(t, env, "-config="+conf, "-master-addr="+fromFlag.URL, "list-member", "--master").code)
	require.Len(t, flagReqs(), 1)
	require.Len(t, fileReqs(), 1)

	r = dmctlEnv(t, env, "--config", filepath.Join(t.TempDir(), "missing.toml"), "list-member")
	require.Equal(t, exitUsage, r.code)
}

func TestShardDDLLockList(t *testing.T) {
	srv, reqs := fakeMaster(t, http.StatusOK, `{"total":1,"data":[{"id":"t1-`+"`db`.`tbl`"+`","task_name":"t1","mode":"pessimistic","owner":"mysql-01","ddls":["ALTER TABLE x ADD c INT"],"synced":["mysql-01"],"unsynced":["mysql-02"],"resolved":false,"action":"","done":false}]}`)
	r := dmctl(t, srv.URL, "shard-ddl-lock")
	require.Equal(t, exitOK, r.code)
	require.JSONEq(t, `{"result":true,"msg":"","locks":[{"ID":"t1-`+"`db`.`tbl`"+`","task":"t1","mode":"pessimistic","owner":"mysql-01",
		"DDLs":["ALTER TABLE x ADD c INT"],"synced":["mysql-01"],"unsynced":["mysql-02"],"resolved":false,"action":"","done":false}]}`, r.stdout)
	r = dmctl(t, srv.URL, "-o", "table", "shard-ddl-lock", "task 1")
	require.Equal(t, exitOK, r.code)
	require.Regexp(t, `(?m)^ID\s+TASK\s+MODE\s+OWNER\s+SYNCED\s+UNSYNCED\s+STATE\s+DDLS$`, r.stdout)
	require.Regexp(t, "(?m)^t1-`db`.`tbl`\\s+t1\\s+pessimistic\\s+mysql-01\\s+mysql-01\\s+mysql-02\\s+waiting\\s+ALTER TABLE x ADD c INT$", r.stdout)
	require.Equal(t, []seen{
		{method: "GET", rawPath: "/api/v1/shard-ddl-locks", path: "/api/v1/shard-ddl-locks"},
		{method: "GET", rawPath: "/api/v1/shard-ddl-locks", path: "/api/v1/shard-ddl-locks", query: "task_name=task+1"},
	}, reqs())
}

func TestShardDDLLockUnlock(t *testing.T) {
	srv, reqs := fakeMaster(t, http.StatusOK, `{"id":"t1-`+"`db`.`tbl`"+`","resolved":true,"action":"exec","owner":"mysql-01"}`)
	id := "t1-`db`.`tbl`"
	r := dmctl(t, srv.URL, "shard-ddl-lock", "unlock", id)
	require.Equal(t, exitOK, r.code)
	require.JSONEq(t, `{"result":true,"msg":""}`, r.stdout)
	r = dmctl(t, srv.URL, "-o", "table", "shard-ddl-lock", "unlock", id, "--owner", "mysql-02", "-a", "skip")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "lock "+id+" resolved")
	got := reqs()
	require.Len(t, got, 2)
	require.Equal(t, "POST", got[0].method)
	require.Equal(t, "/api/v1/shard-ddl-locks/t1-%60db%60.%60tbl%60/unlock", got[0].rawPath)
	require.Equal(t, "/api/v1/shard-ddl-locks/"+id+"/unlock", got[0].path)
	require.JSONEq(t, `{"action":"exec"}`, got[0].body)
	require.JSONEq(t, `{"action":"skip","owner":"mysql-02"}`, got[1].body)
}

// TestServerErrorsInDMShape: an error template comes back as DM's {"result": false, "msg"}
// with the code (JSON), or one line on stderr (table); never the raw HTTP answer.
func TestServerErrorsInDMShape(t *testing.T) {
	code := int(fsm.CodeShardLockNotFound)
	srv, _ := fakeMaster(t, http.StatusBadRequest, `{"error_msg":"lock \"x\" not found","error_code":`+strconv.Itoa(code)+`}`)
	r := dmctl(t, srv.URL, "shard-ddl-lock", "unlock", "x")
	require.Equal(t, exitFailure, r.code)
	require.JSONEq(t, `{"result":false,"msg":"lock \"x\" not found","code":`+strconv.Itoa(code)+`}`, r.stdout)
	require.Empty(t, r.stderr)

	r = dmctl(t, srv.URL, "-o", "table", "shard-ddl-lock", "unlock", "x")
	require.Equal(t, exitFailure, r.code)
	require.Empty(t, r.stdout)
	require.Equal(t, "Error: lock \"x\" not found (code "+strconv.Itoa(code)+")\n", r.stderr)

	// Not the template (a proxy's page): said so, clipped, one line.
	html, _ := fakeMaster(t, http.StatusBadGateway, "<html>\n<body>bad gateway</body></html>")
	r = dmctl(t, html.URL, "-o", "table", "list-member")
	require.Equal(t, exitFailure, r.code)
	require.Equal(t, "Error: the master answered HTTP 502 without DM's error template: <html> <body>bad gateway</body></html>\n", r.stderr)
}

// TestTLSFlags: with DM's --ssl-ca/--ssl-cert/--ssl-key, dmctl speaks HTTPS to an address
// without a scheme and presents its certificate, which a master with ssl-* requires.
func TestTLSFlags(t *testing.T) {
	pki := integration.NewPKI(t, t.TempDir(), "dmctl-test-ca")
	srvCert, srvKey := pki.Issue("master1")
	cert, err := tls.LoadX509KeyPair(srvCert, srvKey)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := r.TLS.PeerCertificates[0].Subject.CommonName
		_, _ = io.WriteString(w, `{"total":1,"data":[{"name":"`+cn+`","alive":true,"leader":true,"addr":"127.0.0.1:8261"}]}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pki.Pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	dmctlCert, dmctlKey := pki.Issue("dmctl")
	r := dmctl(t, addr, "--ssl-ca", pki.CAPath, "--ssl-cert", dmctlCert, "--ssl-key", dmctlKey, "list-member", "--master")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.Contains(t, r.stdout, `"name": "dmctl"`, "the master saw dmctl's certificate")
	require.Contains(t, r.stdout, `"https://127.0.0.1:8261"`)

	r = dmctl(t, addr, "--ssl-ca", pki.CAPath, "list-member", "--master")
	require.Equal(t, exitFailure, r.code, "no certificate: the master refuses")
	r = dmctl(t, addr, "--ssl-ca", pki.CAPath, "--ssl-cert", dmctlCert, "list-member")
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, r.stdout, "go together")
}

func TestTokenFromFlagOrEnvironment(t *testing.T) {
	srv, reqs := fakeMaster(t, http.StatusOK, `{"total":0,"data":[]}`)
	addr := []string{"--master-addr", srv.URL}
	require.Equal(t, exitOK, dmctlEnv(t, nil, append(addr, "shard-ddl-lock")...).code)
	require.Equal(t, exitOK, dmctlEnv(t, nil, append(addr, "--token", "flag-token-0123456789", "shard-ddl-lock")...).code)
	env := map[string]string{"DM_TOKEN": "env-token-0123456789\n"}
	require.Equal(t, exitOK, dmctlEnv(t, env, append(addr, "shard-ddl-lock")...).code)
	require.Equal(t, exitOK, dmctlEnv(t, env, append(addr, "--token", "flag-token-0123456789", "shard-ddl-lock")...).code, "the flag wins")
	var auths []string
	for _, r := range reqs() {
		auths = append(auths, r.auth)
	}
	require.Equal(t, []string{"", "Bearer flag-token-0123456789", "Bearer env-token-0123456789", "Bearer flag-token-0123456789"}, auths)

	// The help never shows the environment's token.
	r := dmctlEnv(t, env, "--help")
	require.Contains(t, r.stdout, "--token")
	require.NotContains(t, r.stdout, "env-token")
}

// TestPendingSeams: the verbs that need routes this dmctl does not have yet answer a clear
// failure without calling anyone.
func TestPendingSeams(t *testing.T) {
	srv, reqs := fakeMaster(t, http.StatusOK, `{"total":0,"data":[]}`)
	for _, args := range [][]string{
		{"config", "export"},
		{"config", "import"},
	} {
		r := dmctl(t, srv.URL, args...)
		require.Equal(t, exitFailure, r.code, "dmctl %v: %+v", args, r)
		m := jsonOf(t, r)
		require.Equal(t, false, m["result"])
		require.Regexp(t, "not supported", m["msg"], "dmctl %v", args)
	}
	require.Empty(t, reqs())
}

// TestNoWriteResent: a write that reached a master which then broke the connection is not
// sent to the next address (it may have been applied); a read is.
func TestNoWriteResent(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(broken.Close)
	live, reqs := fakeMaster(t, http.StatusOK, `{"total":0,"data":[]}`)
	r := dmctl(t, broken.URL+","+live.URL, "transfer-source", "mysql-01", "worker2")
	require.Equal(t, exitFailure, r.code, "%+v", r)
	require.Contains(t, jsonOf(t, r)["msg"], broken.Listener.Addr().String())
	require.Empty(t, reqs())
	r = dmctl(t, broken.URL+","+live.URL, "shard-ddl-lock")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.Len(t, reqs(), 1)
}
