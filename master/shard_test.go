package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
)

func listLocks(t *testing.T, s *Server, query string) []restapi.ShardDDLLock {
	t.Helper()
	a := do(t, s, http.MethodGet, "/api/v1/shard-ddl-locks"+query, nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	var resp restapi.GetShardDDLLockListResponse
	require.NoError(t, json.Unmarshal(a.body, &resp))
	require.Len(t, resp.Data, resp.Total)
	return resp.Data
}

func unlockLock(t *testing.T, s *Server, id string, body any) (apiAnswer, restapi.ShardDDLLock) {
	t.Helper()
	a := do(t, s, http.MethodPost, "/api/v1/shard-ddl-locks/"+url.PathEscape(id)+"/unlock", body)
	var l restapi.ShardDDLLock
	if a.status == http.StatusOK {
		require.NoError(t, json.Unmarshal(a.body, &l))
	}
	return a, l
}

// scrapeMetrics returns the master's /metrics page.
func scrapeMetrics(t *testing.T, s *Server) string {
	t.Helper()
	resp, err := http.Get("http://" + s.APIAddr() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func requireAPIError(t *testing.T, err error, code fsm.Code, inMsg string) {
	t.Helper()
	require.Error(t, err)
	var apiErr *restapi.Error
	require.True(t, errors.As(err, &apiErr), "%T: %v", err, err)
	require.Equal(t, code, apiErr.Code, "%v", err)
	require.Equal(t, http.StatusBadRequest, apiErr.Status, "%v", err)
	require.Contains(t, err.Error(), inMsg)
}

// startShardMaster is a single-node master with sources s1–s3 bound to w1–w3 and shard-merging
// task t1 on s1 and s2, and a worker-side client for it.
func startShardMaster(t *testing.T) (*Server, *peer.Client) {
	t.Helper()
	s := startTestMaster(t)
	for i, src := range []string{"s1", "s2", "s3"} {
		w := fmt.Sprintf("w%d", i+1)
		mustApply(t, s, fsm.AddSource{Source: testSource(src)})
		mustApply(t, s, fsm.RegisterWorker{Name: w, Addr: "127.0.0.1:1", KeepaliveTTL: 600})
		mustApply(t, s, fsm.BindSource{Source: src, Worker: w})
	}
	mustApply(t, s, fsm.AddTask{Task: shardTask("t1", "s1", "s2")})
	c, err := peer.NewClient([]string{s.APIAddr()}, nil)
	require.NoError(t, err)
	return s, c
}

// TestShardDDLLocks drives the pessimistic locks through the workers' internal routes and the
// public lock routes of a real single-node master.
func TestShardDDLLocks(t *testing.T) {
	s, c := startShardMaster(t)
	ctx := context.Background()
	mustApply(t, s, fsm.AddTask{Task: shardTask("t2", "s3")})

	target := "`db`.`tbl`"
	ddls := []string{"ALTER TABLE `db`.`tbl` ADD COLUMN `c2` INT"}

	shardLockLifecycle(t, s, c, target, ddls)
	id2 := shardLockUnlocks(t, s, c, ddls)

	// The list filter by task; an unknown task is 46018.
	_, err := c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t2", Source: "s3", Target: target, DDLs: ddls})
	require.NoError(t, err)
	ids := func(ls []restapi.ShardDDLLock) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Id)
		}
		return out
	}
	require.Equal(t, []string{id2}, ids(listLocks(t, s, "?task_name=t1")))
	require.Equal(t, []string{"t2-`db`.`tbl`"}, ids(listLocks(t, s, "?task_name=t2")))
	require.Equal(t, []string{id2, "t2-`db`.`tbl`"}, ids(listLocks(t, s, "")))
	a := do(t, s, http.MethodGet, "/api/v1/shard-ddl-locks?task_name=nope", nil)
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, fsm.CodeTaskNotExist, a.code(t))

	// Reports for an unknown task or a source outside it are refused with their codes.
	_, err = c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "nope", Source: "s1", Target: target, DDLs: ddls})
	requireAPIError(t, err, fsm.CodeTaskNotExist, "nope")
	_, err = c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t1", Source: "s3", Target: target, DDLs: ddls})
	requireAPIError(t, err, fsm.CodeSourceNotInTask, "s3")

	// A task that merges no shards takes no reports: no one would ever act on its locks.
	mustApply(t, s, fsm.AddTask{Task: testTask("plain", map[string]*fsm.Subtask{"s3": {Stage: fsm.StageRunning}})})
	_, err = c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "plain", Source: "s3", Target: target, DDLs: []string{"DROP TABLE `db`.`tbl`"}})
	requireAPIError(t, err, fsm.CodeRequestInvalid, "merges no shards")
	// Nor does a source bound to no worker: only the worker bound to a source reports for it.
	mustApply(t, s, fsm.UnbindSource{Source: "s3"})
	_, err = c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t2", Source: "s3", Target: target, DDLs: ddls})
	var apiErr *restapi.Error
	require.True(t, errors.As(err, &apiErr), "%T: %v", err, err)
	require.Equal(t, http.StatusForbidden, apiErr.Status, "%v", err)
	require.Contains(t, err.Error(), "bound to no worker")
	require.Empty(t, listLocks(t, s, "?task_name=plain"))
}

// shardTask is a pessimistic shard-merging task on sources, all running.
func shardTask(name string, sources ...string) fsm.Task {
	subtasks := map[string]*fsm.Subtask{}
	for _, src := range sources {
		subtasks[src] = &fsm.Subtask{Stage: fsm.StageRunning}
	}
	task := testTask(name, subtasks)
	task.Spec.ShardMode = "pessimistic"
	return task
}

// shardLockLifecycle takes the lock of task t1 on target from its first report to its removal.
func shardLockLifecycle(t *testing.T, s *Server, c *peer.Client, target string, ddls []string) {
	ctx := context.Background()
	id := fsm.ShardLockID("t1", target)
	require.Equal(t, "t1-`db`.`tbl`", id)

	// The first report creates the lock, owned by its source, waiting for the other.
	st, err := c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t1", Source: "s1", Target: target, DDLs: ddls})
	require.NoError(t, err)
	require.Equal(t, peer.ShardLockState{ID: id, Owner: "s1", Synced: []string{"s1"}, Unsynced: []string{"s2"}}, st)
	require.Equal(t, []restapi.ShardDDLLock{{
		Id: id, TaskName: "t1", Mode: restapi.ShardDDLLockModePessimistic, Owner: "s1", Ddls: ddls,
		Synced: []string{"s1"}, Unsynced: []string{"s2"},
	}}, listLocks(t, s, ""))
	require.Eventually(t, func() bool {
		return strings.Contains(scrapeMetrics(t, s), `dm_master_ddl_state_number{task="t1",type="Un-synced"} 1`)
	}, 5*time.Second, 50*time.Millisecond)

	// Other DDLs from the second source: a conflict, with the FSM's message and code.
	_, err = c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t1", Source: "s2", Target: target, DDLs: []string{"ALTER TABLE `db`.`tbl` DROP COLUMN `c1`"}})
	requireAPIError(t, err, fsm.CodeShardDDLConflict, "DROP COLUMN")

	// The owner cannot be done, nor the other source ack, before the lock is resolved.
	err = c.ShardDDLDone(ctx, peer.ShardDDLDoneRequest{ID: id, Source: "s1"})
	requireAPIError(t, err, fsm.CodeRequestInvalid, "not resolved")

	// The same DDLs from the second source resolve it.
	st, err = c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t1", Source: "s2", Target: target, DDLs: ddls})
	require.NoError(t, err)
	require.Equal(t, peer.ShardLockState{ID: id, Owner: "s1", Resolved: true, Action: fsm.ShardActionExec,
		Synced: []string{"s1", "s2"}, Unsynced: []string{}}, st)
	require.Eventually(t, func() bool {
		m := scrapeMetrics(t, s)
		return strings.Contains(m, `dm_master_ddl_state_number{task="t1",type="Synced"} 1`) &&
			strings.Contains(m, `dm_master_ddl_state_number{task="t1",type="Un-synced"} 0`) &&
			strings.Contains(m, `dm_master_shard_ddl_error{task="t1",type="ErrSyncerShardDDLConflict"} 1`)
	}, 5*time.Second, 50*time.Millisecond)

	err = c.ShardDDLDone(ctx, peer.ShardDDLDoneRequest{ID: id, Source: "s2"})
	requireAPIError(t, err, fsm.CodeRequestInvalid, "before its owner")

	// The owner ran the DDLs (and is past them); the lock stays until the other source is too.
	require.NoError(t, c.ShardDDLDone(ctx, peer.ShardDDLDoneRequest{ID: id, Source: "s1"}))
	locks := listLocks(t, s, "?task_name=t1")
	require.Len(t, locks, 1)
	require.True(t, locks[0].Done)
	require.NoError(t, c.ShardDDLDone(ctx, peer.ShardDDLDoneRequest{ID: id, Source: "s2"}))
	require.Empty(t, listLocks(t, s, ""))
	require.Eventually(t, func() bool {
		m := scrapeMetrics(t, s)
		return !strings.Contains(m, `dm_master_ddl_state_number{task="t1",type="Synced"} 1`) &&
			strings.Contains(m, `dm_master_ddl_state_number{task="t1",type="Synced"} 0`)
	}, 5*time.Second, 50*time.Millisecond)
	// A late ack of a finished lock is no error.
	require.NoError(t, c.ShardDDLDone(ctx, peer.ShardDDLDoneRequest{ID: id, Source: "s2"}))
}

// shardLockUnlocks resolves locks of task t1 by hand (exec by another owner, exec without a
// body, skip) and tries the unlocks that must fail; it returns the lock it leaves in place.
func shardLockUnlocks(t *testing.T, s *Server, c *peer.Client, ddls []string) string {
	ctx := context.Background()
	// Unlock exec by another source that reported: it becomes the owner.
	target2 := "`db`.`tbl2`"
	id2 := fsm.ShardLockID("t1", target2)
	_, err := c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t1", Source: "s2", Target: target2, DDLs: ddls})
	require.NoError(t, err)
	_, err = c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t1", Source: "s1", Target: target2, DDLs: ddls})
	require.NoError(t, err)
	a, l := unlockLock(t, s, id2, map[string]string{"action": "exec", "owner": "s1"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, restapi.ShardDDLLock{Id: id2, TaskName: "t1", Mode: restapi.ShardDDLLockModePessimistic, Owner: "s1",
		Ddls: ddls, Synced: []string{"s1", "s2"}, Unsynced: []string{}, Resolved: true, Action: "exec"}, l)

	// Unlock exec (no body) of a lock a source has not reported: it no longer waits for it.
	target3 := "`db`.`tbl3`"
	id3 := fsm.ShardLockID("t1", target3)
	_, err = c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t1", Source: "s1", Target: target3, DDLs: ddls})
	require.NoError(t, err)
	a, _ = unlockLock(t, s, id3, map[string]string{"owner": "s2"})
	require.Equal(t, http.StatusBadRequest, a.status, "only a source that reported can own it: %s", a.body)
	require.Equal(t, fsm.CodeRequestInvalid, a.code(t))
	a, l = unlockLock(t, s, id3, nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, restapi.ShardDDLLock{Id: id3, TaskName: "t1", Mode: restapi.ShardDDLLockModePessimistic, Owner: "s1",
		Ddls: ddls, Synced: []string{"s1"}, Unsynced: []string{}, Resolved: true, Action: "exec"}, l)
	st, err := c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t1", Source: "s1", Target: target3, DDLs: ddls})
	require.NoError(t, err, "a repeated report is answered with the lock")
	require.True(t, st.Resolved)
	require.NoError(t, c.ShardDDLDone(ctx, peer.ShardDDLDoneRequest{ID: id3, Source: "s1"}))
	_, ok := s.state.ShardLock(id3)
	require.False(t, ok, "the only source ran and passed it")

	// Unlock skip: done at once, nobody runs the DDLs; gone once the source is past it.
	target4 := "`db`.`tbl4`"
	id4 := fsm.ShardLockID("t1", target4)
	_, err = c.ReportShardDDL(ctx, peer.ShardDDLReport{Task: "t1", Source: "s2", Target: target4, DDLs: ddls})
	require.NoError(t, err)
	a, l = unlockLock(t, s, id4, map[string]string{"action": "skip"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, restapi.ShardDDLLock{Id: id4, TaskName: "t1", Mode: restapi.ShardDDLLockModePessimistic, Owner: "s2",
		Ddls: ddls, Synced: []string{"s2"}, Unsynced: []string{}, Resolved: true, Action: "skip", Done: true}, l)
	a, _ = unlockLock(t, s, id4, map[string]string{"action": "exec"})
	require.Equal(t, http.StatusBadRequest, a.status, "already skipped: %s", a.body)
	require.NoError(t, c.ShardDDLDone(ctx, peer.ShardDDLDoneRequest{ID: id4, Source: "s2"}))
	_, ok = s.state.ShardLock(id4)
	require.False(t, ok)

	// Unknown lock, bad action.
	a, _ = unlockLock(t, s, "t1-`no`.`such`", nil)
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, fsm.CodeShardLockNotFound, a.code(t))
	a, _ = unlockLock(t, s, id2, map[string]string{"action": "later"})
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, fsm.CodeRequestInvalid, a.code(t))
	return id2
}

// TestShardColumnClaims covers the optimistic column claims: the first shard adding a column
// claims it, another definition is a conflict (36069) carrying the FSM's message.
func TestShardColumnClaims(t *testing.T) {
	s, c := startShardMaster(t)
	ctx := context.Background()
	target := "`db`.`tbl`"

	claim := peer.ShardColumnClaim{Task: "t1", Target: target, Source: "s1", Table: "`db_1`.`tbl_1`",
		Columns: []fsm.ColumnDef{{Name: "c2", Def: "int(11)"}}}
	require.NoError(t, c.ClaimShardColumns(ctx, claim))
	same := peer.ShardColumnClaim{Task: "t1", Target: target, Source: "s2", Table: "`db_2`.`tbl_2`",
		Columns: []fsm.ColumnDef{{Name: "C2", Def: "INT(11)"}}}
	require.NoError(t, c.ClaimShardColumns(ctx, same), "the same definition agrees")
	require.Equal(t, map[string]fsm.ShardColumn{"c2": {Source: "s1", Table: "`db_1`.`tbl_1`", Def: "int(11)"}},
		s.state.ShardColumns("t1", target))

	other := peer.ShardColumnClaim{Task: "t1", Target: target, Source: "s2", Table: "`db_2`.`tbl_2`",
		Columns: []fsm.ColumnDef{{Name: "c2", Def: "varchar(20)"}}}
	err := c.ClaimShardColumns(ctx, other)
	requireAPIError(t, err, fsm.CodeShardDDLConflict, "varchar(20)")
	require.Contains(t, err.Error(), "disagree")
}
