package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// goroutines reads go_goroutines from a process's /metrics.
func goroutines(t *testing.T, addr string) int {
	t.Helper()
	resp := callAuth(t, http.MethodGet, addr, "/metrics", "", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	for _, line := range strings.Split(string(resp.Body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			n, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return int(n)
		}
	}
	t.Fatalf("no go_goroutines on %s/metrics", addr)
	return 0
}

// followerOf returns a running master other than leader.
func followerOf(masters []*Proc, leader *Proc) *Proc {
	for _, m := range masters {
		if m != leader && m.Running() {
			return m
		}
	}
	return nil
}

// TestSlowBodiesAreCutOnAFollower: 200 clients that announce a body and send only its first
// bytes hold the follower's goroutines (and the leader's, which the follower streams them to)
// only until the read timeout; the follower serves other clients meanwhile and closes every
// slow connection.
func TestSlowBodiesAreCutOnAFollower(t *testing.T) {
	const conns = 200
	c := NewCluster(t)
	masters := c.StartMasters(3, MasterOptions{})
	leader := waitLeader(t, masters, 20*time.Second)
	follower := followerOf(masters, leader)
	baseFollower, baseLeader := goroutines(t, follower.APIAddr), goroutines(t, leader.APIAddr)

	closed := make(chan error, conns)
	for range conns {
		conn, err := net.Dial("tcp", follower.APIAddr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		_, err = io.WriteString(conn, "POST /api/v1/sources HTTP/1.1\r\nHost: "+follower.APIAddr+
			"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"source_name\":")
		require.NoError(t, err)
		go func() {
			_ = conn.SetReadDeadline(time.Now().Add(90 * time.Second))
			_, err := io.ReadAll(conn) // returns nil once the follower closes the connection
			closed <- err
		}()
	}
	Eventually(t, 15*time.Second, func() error {
		if n := goroutines(t, follower.APIAddr); n < baseFollower+conns {
			return fmt.Errorf("the follower holds %d goroutines (%d before)", n, baseFollower)
		}
		return nil
	})
	// Others are served meanwhile.
	resp := callAuth(t, http.MethodGet, follower.APIAddr, "/api/v1/cluster/masters", "", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)

	start := time.Now()
	for range conns {
		require.NoError(t, <-closed, "the follower closes a slow connection")
	}
	t.Logf("slow connections closed %s after the first check", time.Since(start))
	Eventually(t, 20*time.Second, func() error {
		nf, nl := goroutines(t, follower.APIAddr), goroutines(t, leader.APIAddr)
		if nf > baseFollower+20 || nl > baseLeader+20 {
			return fmt.Errorf("goroutines: follower %d (%d before), leader %d (%d before)", nf, baseFollower, nl, baseLeader)
		}
		return nil
	})
}

// brokenBody sends a request whose body ends before its Content-Length, and reads the answer.
func brokenBody(t *testing.T, addr, path, partial string) Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"+partial)
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// newHardeningEnv is a migration environment with three masters (dump-dir-allowed set to
// dumps) whose API calls go through a follower.
func newHardeningEnv(t *testing.T, dumps string) (*migrationEnv, *Proc, *Proc) {
	t.Helper()
	var src, dst *MariaDB
	done := make(chan struct{}, 2)
	go func() { src = StartMariaDB(t, MariaDBOptions{Binlog: true}); done <- struct{}{} }()
	go func() { dst = StartMariaDB(t, MariaDBOptions{}); done <- struct{}{} }()
	c := NewCluster(t)
	c.UseSecretKey()
	masters := c.StartMasters(3, MasterOptions{Extra: []string{fmt.Sprintf("dump-dir-allowed = [%q]", dumps)}})
	c.StartWorker("worker1", 3)
	leader := waitLeader(t, masters, 20*time.Second)
	follower := followerOf(masters, leader)
	Eventually(t, 20*time.Second, func() error {
		if st, err := workerStages(follower.APIAddr); err != nil || st["worker1"] != "free" {
			return fmt.Errorf("worker1 not free yet: %v %v", st, err)
		}
		return nil
	})
	<-done
	<-done
	dst.CreateUser(t, "dmtarget", taskPassword, "ALL PRIVILEGES ON *.*")
	e := &migrationEnv{t: t, c: c, masters: masters, api: &apiRecorder{t: t}, addr: follower.APIAddr,
		src: src, dst: dst, srcDB: src.DB(t), dstDB: dst.DB(t)}
	return e, leader, follower
}

// setConf sets source_config.<conf>.<key> of a task body.
func setConf(task map[string]any, conf, key string, v any) map[string]any {
	sc := task["source_config"].(map[string]any)
	m, ok := sc[conf].(map[string]any)
	if !ok {
		m = map[string]any{}
		sc[conf] = m
	}
	m[key] = v
	return task
}

// TestRequestHardening: names out of DM's limits, thread and batch counts out of range, a
// data_dir leaving its allowed base (relative or absolute), trailing JSON and oversized bodies
// are refused with 400/413 in the template, through a follower as on the leader, and each
// legitimate call next to them succeeds; a malformed request through a follower gets the
// leader's 400; unknown routes and wrong methods answer in the template on masters and workers.
func TestRequestHardening(t *testing.T) {
	dumps := filepath.Join(t.TempDir(), "dumps")
	e, leader, follower := newHardeningEnv(t, dumps)
	worker := e.c.Workers[0]
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20))")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
	e.createSource("mysql-01", e.src) // through the follower

	long := strings.Repeat("n", 5000)
	for _, name := range []string{strings.Repeat("s", 33), "a/b", "../x", "-x", long} {
		resp := e.api.call(http.MethodPost, follower.APIAddr, "/api/v1/sources", map[string]any{
			"source_name": name, "host": e.src.Host(), "port": e.src.Port(), "user": e.src.User(), "password": e.src.Password(),
		})
		requireAPIError(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
		require.Contains(t, string(resp.Body), "source_name")
		require.NotContains(t, string(resp.Body), long[:200])
	}
	requireAPIError(t, e.api.call(http.MethodGet, follower.APIAddr, "/api/v1/sources/"+long+"/status", nil), http.StatusBadRequest, fsm.CodeRequestInvalid)

	taskName := strings.Repeat("t", 43) // the longest task name
	good := func() map[string]any {
		task := e.task(taskName, "full", []string{"mysql-01"}, "shop")
		task["clean_dump_file"] = false
		return setConf(task, "full_migrate_conf", "data_dir", filepath.Join(dumps, "full"))
	}
	withName := func(name string) map[string]any {
		task := good()
		task["name"] = name
		return task
	}
	for _, tc := range []struct {
		field string
		task  map[string]any
	}{
		{"task.name", withName(strings.Repeat("t", 44))},
		{"task.name", withName("bad name")},
		{"export_threads", setConf(good(), "full_migrate_conf", "export_threads", 0)},
		{"import_threads", setConf(good(), "full_migrate_conf", "import_threads", 1025)},
		{"repl_threads", setConf(good(), "incr_migrate_conf", "repl_threads", 100000)},
		{"repl_batch", setConf(good(), "incr_migrate_conf", "repl_batch", 5001)},
		{"data_dir", setConf(good(), "full_migrate_conf", "data_dir", "../../../../tmp/x")},
		{"data_dir", setConf(good(), "full_migrate_conf", "data_dir", "/tmp/dm-outside-allowed")},
		{"data_dir", setConf(good(), "full_migrate_conf", "data_dir", dumps+"/../escape")},
		{"data_dir", setConf(good(), "full_migrate_conf", "data_dir", dumps+"-sibling")},
	} {
		resp := e.startTask(tc.task)
		requireAPIError(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
		require.Contains(t, string(resp.Body), tc.field)
	}

	// Trailing data after the body, on the leader and through the follower.
	body, err := json.Marshal(map[string]any{"remove_meta": false, "task": good()})
	require.NoError(t, err)
	for _, m := range []*Proc{leader, follower} {
		for _, extra := range []string{`{}`, ` {"task":{}}`, ` x`} {
			resp := callAuth(t, http.MethodPost, m.APIAddr, "/api/v1/tasks", string(body)+extra, nil)
			requireAPIError(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
			require.Contains(t, string(resp.Body), "after the JSON value")
		}
	}
	// The same body alone: created, dumped inside the allowed base, loaded.
	resp := callAuth(t, http.MethodPost, follower.APIAddr, "/api/v1/tasks", string(body), nil)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitStage(taskName, "Finished", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	require.FileExists(t, filepath.Join(dumps, "full", taskName, "mysql-01", "metadata"))

	// Oversized bodies: 413 on both masters and on the worker.
	huge := `{"pad":"` + strings.Repeat("x", 5<<20) + `"}`
	for _, addr := range []string{leader.APIAddr, follower.APIAddr, worker.APIAddr} {
		requireAPIError(t, callAuth(t, http.MethodPost, addr, "/api/v1/tasks", huge, nil), http.StatusRequestEntityTooLarge, fsm.CodeRequestInvalid)
	}

	// A malformed request through the follower gets the leader's answer, not a 503.
	direct := callAuth(t, http.MethodPost, leader.APIAddr, "/api/v1/sources", `{"source_name":`, nil)
	requireAPIError(t, direct, http.StatusBadRequest, fsm.CodeRequestInvalid)
	forwarded := callAuth(t, http.MethodPost, follower.APIAddr, "/api/v1/sources", `{"source_name":`, nil)
	requireAPIError(t, forwarded, http.StatusBadRequest, fsm.CodeRequestInvalid)
	require.Equal(t, string(direct.Body), string(forwarded.Body))
	require.Equal(t, follower.Name, forwarded.Header.Get("X-Dm-Forwarded-By"))
	for _, m := range []*Proc{leader, follower} {
		resp := brokenBody(t, m.APIAddr, "/api/v1/sources", `{"source_name":"x`)
		requireAPIError(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
	}

	// Unknown routes and wrong methods, on both ports, next to the routes that work.
	for _, addr := range []string{follower.APIAddr, worker.APIAddr} {
		requireAPIError(t, callAuth(t, http.MethodGet, addr, "/nope", "", nil), http.StatusNotFound, fsm.CodeRequestInvalid)
		resp := callAuth(t, http.MethodPost, addr, "/metrics", "{}", nil)
		requireAPIError(t, resp, http.StatusMethodNotAllowed, fsm.CodeRequestInvalid)
		require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
		require.Equal(t, http.StatusOK, callAuth(t, http.MethodGet, addr, "/metrics", "", nil).Status)
		require.Equal(t, http.StatusOK, callAuth(t, http.MethodGet, addr, "/status", "", nil).Status)
	}
	requireAPIError(t, callAuth(t, http.MethodGet, follower.APIAddr, "/api/v1/nope", "", nil), http.StatusNotFound, fsm.CodeRequestInvalid)
	requireAPIError(t, callAuth(t, http.MethodPut, follower.APIAddr, "/api/v1/sources", "{}", nil), http.StatusMethodNotAllowed, fsm.CodeRequestInvalid)

	for _, p := range append(append([]*Proc{}, e.c.Masters...), e.c.Workers...) {
		log, err := os.ReadFile(p.LogPath)
		require.NoError(t, err)
		require.NotContains(t, string(log), long[:200], "%s logs a long name whole", p.Name)
	}
}
