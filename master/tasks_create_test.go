package master

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/integration"
)

// taskEnv is a real master with one source on a real MariaDB that is also the task's target.
// Its worker is registered but never runs: these tests stop at the master.
type taskEnv struct {
	t  *testing.T
	s  *Server
	db *integration.MariaDB
}

func newTaskEnv(t *testing.T) *taskEnv {
	t.Helper()
	db := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	s := startTestMaster(t)
	mustApply(t, s, fsm.RegisterWorker{Name: "w1", Addr: "127.0.0.1:1", KeepaliveTTL: 600})
	// Only the required fields: enable_gtid defaults to false.
	a := do(t, s, http.MethodPost, "/api/v1/sources", map[string]any{
		"source_name": "s1", "host": db.Host(), "port": db.Port(), "user": db.User(), "password": db.Password(),
	})
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	require.Contains(t, string(a.body), `"enable_gtid":false`)
	require.Eventually(t, func() bool { _, ok := s.state.BoundWorker("s1"); return ok }, 10*time.Second, 20*time.Millisecond)
	return &taskEnv{t: t, s: s, db: db}
}

// minimalTask has only the fields the document requires, migrating the given schema patterns.
func (e *taskEnv) minimalTask(name string, schemas ...string) map[string]any {
	var rules []map[string]any
	for _, schema := range schemas {
		rules = append(rules, map[string]any{"source": map[string]any{"source_name": "s1", "schema": schema, "table": "*"}})
	}
	return map[string]any{"task": map[string]any{
		"name": name, "task_mode": "full", "on_duplicate": "error",
		"target_config":      map[string]any{"host": e.db.Host(), "port": e.db.Port(), "user": e.db.User(), "password": e.db.Password()},
		"table_migrate_rule": rules,
		"source_config":      map[string]any{"source_conf": []map[string]any{{"source_name": "s1"}}},
	}}
}

// post sends a JSON body without failing the test, so that goroutines can use it.
func post(s *Server, path string, body any) (apiAnswer, http.Header, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return apiAnswer{}, nil, err
	}
	url := "http://" + net.JoinHostPort("127.0.0.1", portOf(s.APIAddr())) + path
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return apiAnswer{}, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return apiAnswer{status: resp.StatusCode, body: data}, resp.Header, err
}

func errorMsg(t *testing.T, a apiAnswer) string {
	t.Helper()
	var e struct {
		Msg string `json:"error_msg"`
	}
	require.NoError(t, json.Unmarshal(a.body, &e), "%s", a.body)
	return e.Msg
}

// TestCreateTaskWithOnlyRequiredFields: every field the document leaves optional may be left
// out, and the documented defaults apply (enhance_online_schema_change true above all).
func TestCreateTaskWithOnlyRequiredFields(t *testing.T) {
	e := newTaskEnv(t)
	e.db.Exec(t, "CREATE DATABASE shop")
	e.db.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY)")

	a, _, err := post(e.s, "/api/v1/tasks", e.minimalTask("t1", "shop"))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	var created map[string]any
	require.NoError(t, json.Unmarshal(a.body, &created))
	require.Equal(t, true, created["enhance_online_schema_change"])
	require.Equal(t, "dm_meta", created["meta_schema"])

	task, ok := e.s.state.Task("t1")
	require.True(t, ok)
	st := task.Spec
	require.Equal(t, fsm.TaskSpecVersion, st.Version)
	require.True(t, st.EnhanceOnlineSchemaChange)
	require.Equal(t, "dm_meta", st.MetaSchema)
	require.Equal(t, "", st.ShardMode)
	require.Equal(t, defaultExportThreads, st.Full.ExportThreads)
	require.Equal(t, defaultImportThreads, st.Full.ImportThreads)
	require.Equal(t, defaultConsistency, st.Full.Consistency)
	require.NotEmpty(t, st.Full.DataDir)
	require.Equal(t, fsm.IncrSpec{ReplThreads: defaultReplThreads, ReplBatch: defaultReplBatch}, st.Incr)
	require.Empty(t, st.Filters)
	require.Equal(t, []fsm.RuleSpec{{Schema: "shop", Table: "*"}}, st.Sources["s1"].Rules)

	// Set explicitly, false is kept.
	body := e.minimalTask("t2", "shop")
	body["task"].(map[string]any)["enhance_online_schema_change"] = false
	a, _, err = post(e.s, "/api/v1/tasks", body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	task, _ = e.s.state.Task("t2")
	require.False(t, task.Spec.EnhanceOnlineSchemaChange)
}

// TestCreateExistingTaskSays46014: a second create of a task, with or without remove_meta,
// answers DM's 46014 "already exists" and leaves the target's checkpoints alone.
func TestCreateExistingTaskSays46014(t *testing.T) {
	e := newTaskEnv(t)
	e.db.Exec(t, "CREATE DATABASE shop")
	a, _, err := post(e.s, "/api/v1/tasks", e.minimalTask("t1", "shop"))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	// The checkpoint a worker of the running task would have written.
	e.db.Exec(t, "CREATE TABLE dm_meta.t1_loader_checkpoint (id INT PRIMARY KEY)")

	for _, removeMeta := range []bool{false, true} {
		body := e.minimalTask("t1", "shop")
		body["remove_meta"] = removeMeta
		a, _, err = post(e.s, "/api/v1/tasks", body)
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
		require.Equal(t, fsm.CodeSubtaskExist, a.code(t))
		msg := errorMsg(t, a)
		require.Contains(t, msg, `task "t1" already exists`)
		require.Contains(t, msg, "subtasks with name t1 for sources [s1] already exist")
	}
	var n int
	require.NoError(t, e.db.DB(t).QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'dm_meta' AND TABLE_NAME = 't1_loader_checkpoint'").Scan(&n))
	require.Equal(t, 1, n, "remove_meta of a create that is refused drops nothing")
}

// TestParallelCreatesOfOneTask: of five concurrent creates of one task exactly one succeeds;
// the others say the task already exists (never a privilege error from the target probe).
func TestParallelCreatesOfOneTask(t *testing.T) {
	e := newTaskEnv(t)
	e.db.Exec(t, "CREATE DATABASE shop")
	const n = 5
	answers := make([]apiAnswer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := e.minimalTask("t1", "shop")
			body["remove_meta"] = true
			answers[i], _, errs[i] = post(e.s, "/api/v1/tasks", body)
		})
	}
	wg.Wait()
	created := 0
	for i, a := range answers {
		require.NoError(t, errs[i])
		if a.status == http.StatusCreated {
			created++
			continue
		}
		require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
		require.Equal(t, fsm.CodeSubtaskExist, a.code(t), "%s", a.body)
		require.Contains(t, errorMsg(t, a), "already exists")
	}
	require.Equal(t, 1, created)
}

// TestRuleMatchingNoDatabaseIsReported: a table_migrate_rule whose schema pattern matches no
// upstream database is a precheck warning (header and task status), not an error.
func TestRuleMatchingNoDatabaseIsReported(t *testing.T) {
	e := newTaskEnv(t)
	e.db.Exec(t, "CREATE DATABASE shop")
	a, header, err := post(e.s, "/api/v1/tasks", e.minimalTask("t1", "shop", "later_*", "dm_meta"))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)

	var unmatched []string
	for _, w := range header.Values("X-Dm-Warning") {
		if strings.Contains(w, "matched no upstream database") {
			unmatched = append(unmatched, w)
		}
	}
	// The meta schema exists (the precheck created it) but is never migrated.
	require.Len(t, unmatched, 2, "warnings: %q", header.Values("X-Dm-Warning"))
	require.Contains(t, unmatched[0], `source s1: table_migrate_rule (schema "later_*", table "*")`)
	require.Contains(t, unmatched[1], `(schema "dm_meta", table "*")`)

	status := do(t, e.s, http.MethodGet, "/api/v1/tasks/t1/status", nil)
	require.Equal(t, http.StatusOK, status.status, "%s", status.body)
	var l struct {
		Data []struct {
			SourceName string   `json:"source_name"`
			Warnings   []string `json:"warnings"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(status.body, &l))
	require.Len(t, l.Data, 1)
	require.Equal(t, unmatched, l.Data[0].Warnings)

	// A task whose rules all match says nothing.
	a, header, err = post(e.s, "/api/v1/tasks", e.minimalTask("t2", "sh*"))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	require.Empty(t, header.Values("X-Dm-Warning"))
	status = do(t, e.s, http.MethodGet, "/api/v1/tasks/t2/status", nil)
	require.NotContains(t, string(status.body), "warnings")
}
