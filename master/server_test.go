package master

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/integration"
)

// startTestMaster runs a real single-node master in process (Raft over TCP on 127.0.0.1).
func startTestMaster(t *testing.T) *Server {
	t.Helper()
	ports := integration.FreePorts(t, 2)
	cfg := DefaultConfig()
	cfg.Name = "m1"
	cfg.MasterAddr = "127.0.0.1:" + strconv.Itoa(ports[0])
	cfg.PeerURLs = "http://127.0.0.1:" + strconv.Itoa(ports[1])
	cfg.DataDir = t.TempDir()
	cfg.OpenAPI = true
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(cfg, logger)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, s.Start(ctx))
	t.Cleanup(func() {
		cancel()
		require.NoError(t, s.Stop())
	})
	deadline := time.Now().Add(15 * time.Second)
	for !s.isLeader() {
		require.True(t, time.Now().Before(deadline), "no leader within 15s")
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

type apiAnswer struct {
	status int
	body   []byte
}

func (a apiAnswer) code(t *testing.T) fsm.Code {
	t.Helper()
	var e struct {
		Msg  string   `json:"error_msg"`
		Code fsm.Code `json:"error_code"`
	}
	require.NoError(t, json.Unmarshal(a.body, &e), "body %s", a.body)
	require.NotEmpty(t, e.Msg)
	return e.Code
}

func do(t *testing.T, s *Server, method, path string, body any) apiAnswer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+net.JoinHostPort("127.0.0.1", portOf(s.APIAddr()))+path, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return apiAnswer{status: resp.StatusCode, body: data}
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func mustApply(t *testing.T, s *Server, cmd fsm.Command) {
	t.Helper()
	_, err := s.apply(context.Background(), cmd)
	require.NoError(t, err)
}

// testSource is the least a source needs to be in the state: a spec of the current version.
func testSource(name string) fsm.Source {
	return fsm.Source{Name: name, Spec: fsm.SourceSpec{Version: fsm.SourceSpecVersion}}
}

// testTask is the least a task with these subtasks needs to be in the state: a spec of the
// current version with (empty) settings for each of its sources.
func testTask(name string, subtasks map[string]*fsm.Subtask) fsm.Task {
	spec := fsm.TaskSpec{Version: fsm.TaskSpecVersion, Name: name, Sources: map[string]fsm.SubtaskSpec{}}
	for source := range subtasks {
		spec.Sources[source] = fsm.SubtaskSpec{}
	}
	return fsm.Task{Name: name, Spec: spec, Subtasks: subtasks}
}

// TestSourceRoutesAgainstTasksAndRelay covers the source error codes that depend on tasks and
// relay, whose own routes come later: the state is written straight into the FSM.
func TestSourceRoutesAgainstTasksAndRelay(t *testing.T) {
	db := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	s := startTestMaster(t)

	// Registered workers count as online for their TTL (none of them gossips here).
	for _, w := range []string{"w1", "w2", "w3"} {
		mustApply(t, s, fsm.RegisterWorker{Name: w, Addr: "127.0.0.1:1", KeepaliveTTL: 600})
	}
	src := map[string]any{"source_name": "s1", "host": db.Host(), "port": db.Port(), "user": db.User(), "password": db.Password(), "enable_gtid": true}
	a := do(t, s, http.MethodPost, "/api/v1/sources", src)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	require.NotContains(t, string(a.body), db.Password())
	src["source_name"] = "s2"
	a = do(t, s, http.MethodPost, "/api/v1/sources", src)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)

	// The scheduler binds both sources.
	require.Eventually(t, func() bool { return len(s.state.Bindings()) == 2 }, 10*time.Second, 20*time.Millisecond)
	w1, _ := s.state.BoundWorker("s1")

	mustApply(t, s, fsm.AddTask{Task: testTask("t1", map[string]*fsm.Subtask{"s1": {Stage: fsm.StageRunning}, "s2": {Stage: fsm.StageRunning}})})

	// Transfer with a running task → 46019; pausing it makes the transfer possible.
	free := ""
	for _, w := range []string{"w1", "w2", "w3"} {
		if _, bound := s.state.BoundSource(w); !bound {
			free = w
		}
	}
	a = do(t, s, http.MethodPost, "/api/v1/sources/s1/transfer", map[string]string{"worker_name": free})
	require.Equal(t, 400, a.status)
	require.Equal(t, fsm.CodeRequireNotRunning, a.code(t))
	mustApply(t, s, fsm.SetSubtaskStage{Task: "t1", Sources: []string{"s1"}, Stage: fsm.StagePaused})
	a = do(t, s, http.MethodPost, "/api/v1/sources/s1/transfer", map[string]string{"worker_name": free})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	now, _ := s.state.BoundWorker("s1")
	require.Equal(t, free, now)
	_, stillBound := s.state.BoundSource(w1)
	require.False(t, stillBound, "the old worker is free after a transfer")

	// Transfer to a worker that relays another source → 46027.
	mustApply(t, s, fsm.StartRelay{Source: "s2", Workers: []string{w1}})
	a = do(t, s, http.MethodPost, "/api/v1/sources/s1/transfer", map[string]string{"worker_name": w1})
	require.Equal(t, 400, a.status)
	require.Equal(t, fsm.CodeBoundDiffWithRelay, a.code(t))

	// Delete with tasks → 46010; relay workers → 46023 even with force.
	a = do(t, s, http.MethodDelete, "/api/v1/sources/s1", nil)
	require.Equal(t, 400, a.status)
	require.Equal(t, fsm.CodeSourceHasTasks, a.code(t))
	a = do(t, s, http.MethodDelete, "/api/v1/sources/s2?force=true", nil)
	require.Equal(t, 400, a.status)
	require.Equal(t, fsm.CodeSourceHasRelayWorkers, a.code(t))

	// force stops this source's subtask only, then deletes.
	a = do(t, s, http.MethodDelete, "/api/v1/sources/s1?force=true", nil)
	require.Equal(t, http.StatusNoContent, a.status, "%s", a.body)
	task, ok := s.state.Task("t1")
	require.True(t, ok)
	require.Contains(t, task.Subtasks, "s2")
	require.NotContains(t, task.Subtasks, "s1")
	_, ok = s.state.Source("s1")
	require.False(t, ok)
	a = do(t, s, http.MethodDelete, "/api/v1/sources/s1", nil)
	require.Equal(t, fsm.CodeSourceNotExist, a.code(t))

	// Secrets are stored encrypted: the Raft state holds only ciphertext.
	stored, ok := s.state.Source("s2")
	require.True(t, ok)
	spec, err := json.Marshal(stored.Spec)
	require.NoError(t, err)
	require.NotContains(t, string(spec), db.Password())
	st := stored.Spec
	require.NotEmpty(t, st.PasswordEnc)
	require.NotContains(t, st.PasswordEnc, db.Password())
	c, err := s.secrets.Cipher()
	require.NoError(t, err)
	plain, err := c.Decrypt(st.PasswordEnc)
	require.NoError(t, err)
	require.Equal(t, db.Password(), plain)
}

func TestPickWorkerPriority(t *testing.T) {
	s := startTestMaster(t)
	for _, w := range []string{"a", "b", "c", "d"} {
		mustApply(t, s, fsm.RegisterWorker{Name: w, Addr: "127.0.0.1:1", KeepaliveTTL: 600})
	}
	mustApply(t, s, fsm.AddSource{Source: testSource("src")})
	mustApply(t, s, fsm.AddSource{Source: testSource("other")})
	online := []string{"a", "b", "c", "d"}
	src, _ := s.state.Source("src")
	require.Equal(t, "a", s.pickWorker(src, online), "any free worker, in name order")

	mustApply(t, s, fsm.StartRelay{Source: "other", Workers: []string{"a"}})
	require.Equal(t, "b", s.pickWorker(src, online), "a worker relaying another source is not free for this one")

	mustApply(t, s, fsm.BindSource{Source: "src", Worker: "c"})
	mustApply(t, s, fsm.UnbindSource{Source: "src"})
	src, _ = s.state.Source("src")
	require.Equal(t, "c", src.LastWorker)
	require.Equal(t, "c", s.pickWorker(src, online), "the previous worker before any free one")

	mustApply(t, s, fsm.StartRelay{Source: "src", Workers: []string{"d"}})
	require.Equal(t, "d", s.pickWorker(src, online), "a worker with the relay log before the previous worker")

	mustApply(t, s, fsm.StartRelay{Source: "src", Workers: []string{"c"}})
	require.Equal(t, "c", s.pickWorker(src, online), "the previous worker with the relay log first")

	mustApply(t, s, fsm.AddTask{Task: testTask("t", map[string]*fsm.Subtask{"src": {Stage: fsm.StageRunning}})})
	mustApply(t, s, fsm.SetLoadWorker{Task: "t", Source: "src", Worker: "b"})
	require.Equal(t, "b", s.pickWorker(src, online), "the worker holding an unfinished load comes first")
	require.Equal(t, "c", s.pickWorker(src, []string{"a", "c", "d"}), "unless it is not online")
	require.Equal(t, "", s.pickWorker(src, nil), "nobody online")
}

// TestTaskSchemaRoutesNeedABoundWorker: 40070 when no worker serves the source.
func TestTaskSchemaRoutesNeedABoundWorker(t *testing.T) {
	s := startTestMaster(t)
	mustApply(t, s, fsm.AddSource{Source: testSource("lonely")})
	mustApply(t, s, fsm.AddTask{Task: testTask("t", map[string]*fsm.Subtask{"lonely": {Stage: fsm.StageRunning}})})
	a := do(t, s, http.MethodGet, "/api/v1/tasks/t/sources/lonely/schemas", nil)
	require.Equal(t, 400, a.status, "%s", a.body)
	require.Equal(t, fsm.CodeWorkerNoStart, a.code(t))
	a = do(t, s, http.MethodGet, "/api/v1/tasks/nope/sources/lonely/schemas", nil)
	require.Equal(t, fsm.CodeTaskNotExist, a.code(t))
}
