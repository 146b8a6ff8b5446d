package restapi

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

func TestShardDDLLockList(t *testing.T) {
	b := selfLeader("m1")
	b.locks = []ShardDDLLock{{
		Id: "task-1-`db`.`tbl`", TaskName: "task-1", Mode: ShardDDLLockModePessimistic, Owner: "mysql-01",
		Ddls: []string{"ALTER TABLE `db`.`tbl` ADD COLUMN `c2` INT"}, Synced: []string{"mysql-01"},
		Unsynced: []string{"mysql-02"},
	}}
	srv, _ := newTestServer(t, b, "m1")

	resp := do(t, srv.Client(), "GET", srv.URL+"/api/v1/shard-ddl-locks", "", nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	require.JSONEq(t, `{"total":1,"data":[{"id":"task-1-`+"`db`.`tbl`"+`","task_name":"task-1","mode":"pessimistic",
		"owner":"mysql-01","ddls":["ALTER TABLE `+"`db`.`tbl`"+` ADD COLUMN `+"`c2`"+` INT"],"synced":["mysql-01"],
		"unsynced":["mysql-02"],"resolved":false,"action":"","done":false}]}`, string(resp.body))

	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/shard-ddl-locks?task_name=task-2", "", nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	tasks, _ := b.lockCalls()
	require.Equal(t, []string{"", "task-2"}, tasks, "the task filter reaches the backend")

	// No locks: an empty array, not null.
	b.update(func(f *fakeBackend) { f.locks = nil })
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/shard-ddl-locks", "", nil)
	require.JSONEq(t, `{"total":0,"data":[]}`, string(resp.body))

	// An unknown task: the backend's DM code.
	b.update(func(f *fakeBackend) {
		f.lockErr = &dmError{code: fsm.CodeTaskNotExist, msg: `task "nope" does not exist`}
	})
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/shard-ddl-locks?task_name=nope", "", nil)
	msg := requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeTaskNotExist)
	require.Contains(t, msg, "nope")
}

func TestShardDDLLockUnlock(t *testing.T) {
	b := selfLeader("m1")
	srv, _ := newTestServer(t, b, "m1")
	id := "task-1-`db`.`tbl`"
	unlockURL := srv.URL + "/api/v1/shard-ddl-locks/" + url.PathEscape(id) + "/unlock"
	require.Contains(t, unlockURL, "%60", "the backticks travel escaped")

	// No body: exec by the current owner.
	resp := do(t, srv.Client(), "POST", unlockURL, "", nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	require.JSONEq(t, `{"id":"task-1-`+"`db`.`tbl`"+`","task_name":"task-1","mode":"pessimistic","owner":"",
		"ddls":[],"synced":[],"unsynced":[],"resolved":true,"action":"exec","done":false}`, string(resp.body))

	resp = do(t, srv.Client(), "POST", unlockURL, `{"action":"skip"}`, nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	resp = do(t, srv.Client(), "POST", unlockURL, `{"owner":"mysql-02"}`, nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	resp = do(t, srv.Client(), "POST", unlockURL, `{"action":"exec","owner":"mysql-01"}`, nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)

	// Other characters that need escaping in a path segment come through too.
	odd := "task-1-`d b`.`t/%1`"
	resp = do(t, srv.Client(), "POST", srv.URL+"/api/v1/shard-ddl-locks/"+url.PathEscape(odd)+"/unlock", "", nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)

	_, unlocks := b.lockCalls()
	require.Equal(t, []unlockCall{
		{id: id, action: "exec"},
		{id: id, action: "skip"},
		{id: id, owner: "mysql-02", action: "exec"},
		{id: id, owner: "mysql-01", action: "exec"},
		{id: odd, action: "exec"},
	}, unlocks)

	// A bad action is refused by validation, before the backend is asked.
	resp = do(t, srv.Client(), "POST", unlockURL, `{"action":"drop"}`, nil)
	msg := requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
	require.Contains(t, msg, `"action"`)
	_, after := b.lockCalls()
	require.Len(t, after, len(unlocks))

	// An unknown lock: the backend's code.
	b.update(func(f *fakeBackend) {
		f.lockErr = fmt.Errorf("unlock: %w", &dmError{code: fsm.CodeShardLockNotFound, msg: "lock not found"})
	})
	resp = do(t, srv.Client(), "POST", unlockURL, `{"action":"exec"}`, nil)
	msg = requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeShardLockNotFound)
	require.Contains(t, msg, "lock not found")

	// The route takes POST only.
	resp = do(t, srv.Client(), "GET", unlockURL, "", nil)
	requireErrorBody(t, resp, http.StatusMethodNotAllowed, fsm.CodeRequestInvalid)
}
