package master

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/integration"
	"github.com/dm-oss/dm/restapi"
)

// sourceBody is a PUT body for source s1 on db.
func sourceBody(db *integration.MariaDB, password string, gtid bool) map[string]any {
	return map[string]any{"source": map[string]any{
		"source_name": "s1", "host": db.Host(), "port": db.Port(), "user": db.User(), "password": password, "enable_gtid": gtid,
	}}
}

func (e *taskEnv) requireCode(a apiAnswer, status int, code fsm.Code) string {
	e.t.Helper()
	require.Equal(e.t, status, a.status, "%s", a.body)
	require.Equal(e.t, code, a.code(e.t), "%s", a.body)
	return errorMsg(e.t, a)
}

func TestGetSource(t *testing.T) {
	e := newTaskEnv(t)
	a := do(t, e.s, http.MethodGet, "/api/v1/sources/s1", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	var src restapi.Source
	require.NoError(t, json.Unmarshal(a.body, &src))
	require.Equal(t, "******", src.Password)
	require.Equal(t, e.db.Port(), src.Port)
	require.Nil(t, src.StatusList, "no status unless asked for")

	a = do(t, e.s, http.MethodGet, "/api/v1/sources/s1?with_status=true", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.NoError(t, json.Unmarshal(a.body, &src))
	require.NotNil(t, src.StatusList)
	require.Equal(t, restapi.TaskNameList{}, *src.TaskNameList)

	msg := e.requireCode(do(t, e.s, http.MethodGet, "/api/v1/sources/nope", nil), http.StatusNotFound, fsm.CodeSourceNotExist)
	require.Contains(t, msg, `"nope"`)
}

// TestUpdateSource: the masked password keeps the stored one; every error path has its code;
// enable_gtid is turned on only with no task running, another server only with GTID.
func TestUpdateSource(t *testing.T) {
	e := newTaskEnv(t)
	e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/sources/nope", map[string]any{"source": map[string]any{
		"source_name": "nope", "host": e.db.Host(), "port": e.db.Port(), "user": "u", "password": "p"}}), http.StatusBadRequest, fsm.CodeSourceNotExist)
	msg := e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/sources/s1", map[string]any{"source": map[string]any{
		"source_name": "s2", "host": e.db.Host(), "port": e.db.Port(), "user": "u", "password": "p"}}), http.StatusBadRequest, fsm.CodeRequestInvalid)
	require.Contains(t, msg, "cannot be renamed")
	e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/sources/s1", map[string]any{"source": map[string]any{
		"source_name": "s1", "host": " ", "port": 0, "user": "u", "password": "p"}}), http.StatusBadRequest, fsm.CodeRequestInvalid)
	e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/sources/s1", map[string]any{"source_name": "s1"}), http.StatusBadRequest, fsm.CodeRequestInvalid)
	e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/sources/s1", sourceBody(e.db, "wrong-password", false)), http.StatusBadRequest, fsm.CodeDBDriver)
	before, _ := e.s.state.Source("s1")

	// A running task: GTID cannot be turned on.
	e.db.Exec(t, "CREATE DATABASE shop")
	e.db.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY)")
	created, _, err := post(e.s, "/api/v1/tasks", e.minimalTask("t1", "shop"))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, created.status, "%s", created.body)
	msg = e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/sources/s1", sourceBody(e.db, "******", true)), http.StatusBadRequest, fsm.CodeSourceCfgUpdate)
	require.Contains(t, msg, "t1")
	after, _ := e.s.state.Source("s1")
	require.Equal(t, before, after, "refusals change nothing")

	// Paused, it can: the masked password keeps the stored one, which still opens the upstream.
	require.Equal(t, http.StatusOK, do(t, e.s, http.MethodPost, "/api/v1/tasks/t1/pause", nil).status)
	a := do(t, e.s, http.MethodPut, "/api/v1/sources/s1", sourceBody(e.db, "******", true))
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Contains(t, string(a.body), `"password":"******"`)
	require.Contains(t, string(a.body), `"enable_gtid":true`)
	after, _ = e.s.state.Source("s1")
	require.True(t, after.Spec.EnableGTID)
	require.NotEqual(t, before.Spec.PasswordEnc, after.Spec.PasswordEnc, "encrypted afresh")
	require.Equal(t, http.StatusOK, do(t, e.s, http.MethodGet, "/api/v1/sources/s1/schemas", nil).status, "the stored password still works")

	// Another server: allowed with GTID on both sides, refused without, and while relayed.
	other := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	msg = e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/sources/s1", sourceBody(other, other.Password(), false)), http.StatusBadRequest, fsm.CodeSourceCfgUpdate)
	require.Contains(t, msg, "another server")
	mustApply(t, e.s, fsm.StartRelay{Source: "s1", Workers: []string{"w1"}})
	msg = e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/sources/s1", sourceBody(other, other.Password(), true)), http.StatusBadRequest, fsm.CodeSourceCfgUpdate)
	require.Contains(t, msg, "relay")
	mustApply(t, e.s, fsm.StopRelay{Source: "s1", Workers: []string{"w1"}})
	a = do(t, e.s, http.MethodPut, "/api/v1/sources/s1", sourceBody(other, other.Password(), true))
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	after, _ = e.s.state.Source("s1")
	require.Equal(t, other.Port(), after.Spec.Port)
	require.Equal(t, other.ServerID, after.Spec.ServerID)
	w, _ := e.s.state.BoundWorker("s1")
	require.Equal(t, "w1", w, "the binding stays")
}

func TestGetTask(t *testing.T) {
	e := newTaskEnv(t)
	e.db.Exec(t, "CREATE DATABASE shop")
	e.db.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY)")
	created, _, err := post(e.s, "/api/v1/tasks", e.minimalTask("t1", "shop"))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, created.status, "%s", created.body)

	a := do(t, e.s, http.MethodGet, "/api/v1/tasks/t1", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.JSONEq(t, string(created.body), string(a.body), "the task as created")
	var task restapi.Task
	require.NoError(t, json.Unmarshal(a.body, &task))
	require.Equal(t, "******", task.TargetConfig.Password)

	a = do(t, e.s, http.MethodGet, "/api/v1/tasks/t1?with_status=true", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.NoError(t, json.Unmarshal(a.body, &task))
	require.NotNil(t, task.StatusList)
	require.Len(t, *task.StatusList, 1)
	require.Equal(t, "s1", (*task.StatusList)[0].SourceName)

	e.requireCode(do(t, e.s, http.MethodGet, "/api/v1/tasks/nope", nil), http.StatusNotFound, fsm.CodeTaskNotExist)
}

// TestUpdateTask: a paused task's rules, filters, threads and batch change, and its target
// password stays when masked; a running one, a frozen field, an unknown task or an invalid
// body are refused with their codes and change nothing.
func TestUpdateTask(t *testing.T) {
	e := newTaskEnv(t)
	e.db.Exec(t, "CREATE DATABASE shop")
	e.db.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY)")
	e.db.Exec(t, "CREATE DATABASE more")
	body := e.minimalTask("t1", "shop")
	body["task"].(map[string]any)["task_mode"] = "all"
	created, _, err := post(e.s, "/api/v1/tasks", body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, created.status, "%s", created.body)
	before, _ := e.s.state.Task("t1")

	update := func() map[string]any {
		b := e.minimalTask("t1", "shop", "more")
		task := b["task"].(map[string]any)
		task["task_mode"] = "all"
		task["target_config"].(map[string]any)["password"] = "******"
		task["binlog_filter_rule"] = map[string]any{"no-drop": map[string]any{"ignore_sql": []string{"^DROP"}}}
		task["table_migrate_rule"].([]map[string]any)[1]["binlog_filter_rule"] = []string{"no-drop"}
		task["source_config"].(map[string]any)["incr_migrate_conf"] = map[string]any{"repl_threads": 4, "repl_batch": 500}
		return b
	}
	msg := e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/tasks/t1", update()), http.StatusBadRequest, fsm.CodeSubtaskCfgUpdate)
	require.Contains(t, msg, "pause it first")
	require.Equal(t, http.StatusOK, do(t, e.s, http.MethodPost, "/api/v1/tasks/t1/pause", nil).status)

	e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/tasks/nope", func() map[string]any {
		b := update()
		b["task"].(map[string]any)["name"] = "nope"
		return b
	}()), http.StatusBadRequest, fsm.CodeTaskNotExist)
	msg = e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/tasks/t2", update()), http.StatusBadRequest, fsm.CodeRequestInvalid)
	require.Contains(t, msg, "cannot be renamed")
	for field, value := range map[string]any{"task_mode": "full", "meta_schema": "other_meta", "shard_mode": "optimistic"} {
		b := update()
		b["task"].(map[string]any)[field] = value
		msg = e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/tasks/t1", b), http.StatusBadRequest, fsm.CodeSubtaskCfgUpdate)
		require.Contains(t, msg, field)
	}
	b := update()
	b["task"].(map[string]any)["source_config"].(map[string]any)["source_conf"] = []map[string]any{{"source_name": "s1", "binlog_gtid": "0-1-5"}}
	msg = e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/tasks/t1", b), http.StatusBadRequest, fsm.CodeSubtaskCfgUpdate)
	require.Contains(t, msg, "source_conf[s1].binlog_gtid")
	// Validated as a create: a bad count by the document, a filter that does not exist in DM's
	// words, a source that does not exist.
	b = update()
	b["task"].(map[string]any)["source_config"].(map[string]any)["incr_migrate_conf"] = map[string]any{"repl_batch": 0}
	e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/tasks/t1", b), http.StatusBadRequest, fsm.CodeRequestInvalid)
	b = update()
	b["task"].(map[string]any)["table_migrate_rule"].([]map[string]any)[0]["binlog_filter_rule"] = []string{"ghost"}
	e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/tasks/t1", b), http.StatusBadRequest, fsm.CodeOpenAPICommon)
	b = update()
	b["task"].(map[string]any)["source_config"].(map[string]any)["source_conf"] = []map[string]any{{"source_name": "s9"}}
	e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/tasks/t1", b), http.StatusBadRequest, fsm.CodeTaskSourceNotFound)
	// Prechecked as a create: a target the user cannot reach.
	b = update()
	b["task"].(map[string]any)["target_config"].(map[string]any)["password"] = "wrong-password"
	e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/tasks/t1", b), http.StatusBadRequest, fsm.CodeDBDriver)
	e.requireCode(do(t, e.s, http.MethodPut, "/api/v1/tasks/t1", map[string]any{"name": "t1"}), http.StatusBadRequest, fsm.CodeRequestInvalid)
	unchanged, _ := e.s.state.Task("t1")
	require.Equal(t, before.Spec, unchanged.Spec, "refusals change nothing")

	a := do(t, e.s, http.MethodPut, "/api/v1/tasks/t1", update())
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	var task restapi.Task
	require.NoError(t, json.Unmarshal(a.body, &task))
	require.Equal(t, "******", task.TargetConfig.Password)
	require.Len(t, task.TableMigrateRule, 2)
	after, _ := e.s.state.Task("t1")
	require.Equal(t, fsm.IncrSpec{ReplThreads: 4, ReplBatch: 500}, after.Spec.Incr)
	require.Equal(t, []fsm.RuleSpec{{Schema: "shop", Table: "*"}, {Schema: "more", Table: "*", FilterRules: []string{"no-drop"}}}, after.Spec.Sources["s1"].Rules)
	require.Equal(t, map[string]fsm.FilterSpec{"no-drop": {IgnoreSQL: []string{"^DROP"}}}, after.Spec.Filters)
	require.Equal(t, fsm.StagePaused, after.Subtasks["s1"].Stage, "the task stays paused until resumed")
	c, err := e.s.cipher(t.Context())
	require.NoError(t, err)
	pwd, err := c.Decrypt(after.Spec.Target.PasswordEnc)
	require.NoError(t, err)
	require.Equal(t, e.db.Password(), pwd, "the masked password kept the stored one")
	got := do(t, e.s, http.MethodGet, "/api/v1/tasks/t1", nil)
	require.JSONEq(t, string(a.body), string(got.body), "GET answers with the task as updated")
}

// TestCheckTask: the precheck alone, in DM's check-task shape; nothing is created.
func TestCheckTask(t *testing.T) {
	e := newTaskEnv(t)
	e.db.Exec(t, "CREATE DATABASE shop")
	e.db.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY)")
	check := func(body map[string]any) restapi.CheckTaskResponse {
		t.Helper()
		a, _, err := post(e.s, "/api/v1/tasks/check", body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		var res restapi.CheckTaskResponse
		require.NoError(t, json.Unmarshal(a.body, &res))
		return res
	}
	res := check(e.minimalTask("t1", "shop"))
	require.True(t, res.Result)
	require.Equal(t, "pre-check is passed. ", res.Msg)
	require.True(t, res.Summary.Passed)
	require.Equal(t, res.Summary.Total, res.Summary.Successful)
	require.Equal(t, len(res.Results), res.Summary.Total)

	e.db.Exec(t, "CREATE TABLE shop.nokey (a INT)")
	res = check(e.minimalTask("t1", "shop"))
	require.True(t, res.Result, "warnings do not fail the check")
	require.Contains(t, res.Msg, "no errors but some warnings")
	require.Contains(t, res.Msg, "shop.nokey")
	require.Equal(t, 1, res.Summary.Warning)

	bad := e.minimalTask("t1", "shop")
	bad["task"].(map[string]any)["target_config"].(map[string]any)["password"] = "wrong-password"
	res = check(bad)
	require.False(t, res.Result)
	require.False(t, res.Summary.Passed)
	require.Equal(t, 1, res.Summary.Failed)
	require.Contains(t, res.Msg, "fail to check synchronization configuration with type: target database")
	require.Equal(t, restapi.CheckItemStateFail, res.Results[0].State)
	require.NotContains(t, res.Msg, "wrong-password")

	a, _, err := post(e.s, "/api/v1/tasks/check", func() map[string]any {
		b := e.minimalTask("t1", "shop")
		b["task"].(map[string]any)["source_config"].(map[string]any)["source_conf"] = []map[string]any{{"source_name": "s9"}}
		return b
	}())
	require.NoError(t, err)
	e.requireCode(a, http.StatusBadRequest, fsm.CodeTaskSourceNotFound)
	_, ok := e.s.state.Task("t1")
	require.False(t, ok, "a check creates nothing")
}
