package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

// TestFullTaskCopiesEveryType runs a `full` task and checks every table byte for byte.
func TestFullTaskCopiesEveryType(t *testing.T) {
	e := newMigrationEnv(t, 1)
	seedTypes(t, e.src, "shop")
	e.createSource("mysql-01", e.src)

	resp := e.startTask(e.task("copy", "full", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	require.NotContains(t, string(resp.Body), taskPassword)
	require.Contains(t, string(resp.Body), `"password":"******"`)
	// The precheck reports the table without a primary or unique key.
	require.Contains(t, resp.Header.Get("X-Dm-Warning"), "shop.nokey")
	require.NotContains(t, resp.Header.Get("X-Dm-Warning"), "shop.uk", "a UNIQUE key is enough")

	st := e.waitStage("copy", "Finished", 60*time.Second)
	require.Equal(t, "mysql-01", st[0].SourceName)
	require.NotNil(t, st[0].LoadStatus)
	require.Equal(t, st[0].LoadStatus.TotalBytes, st[0].LoadStatus.FinishedBytes)
	require.Equal(t, "100.00 %", st[0].LoadStatus.Progress)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")

	// GET /tasks returns the task as created, masked.
	var tasks listResp[map[string]any]
	require.NoError(t, e.api.call(http.MethodGet, e.addr, "/api/v1/tasks", nil).JSON(&tasks))
	require.Equal(t, 1, tasks.Total)
	require.Equal(t, "copy", tasks.Data[0]["name"])
	require.Equal(t, "full", tasks.Data[0]["task_mode"])
	require.Equal(t, "******", tasks.Data[0]["target_config"].(map[string]any)["password"])
	require.Equal(t, "dm_meta", tasks.Data[0]["meta_schema"])

	resp = e.api.call(http.MethodDelete, e.addr, "/api/v1/tasks/copy", nil)
	require.Equal(t, http.StatusNoContent, resp.Status, "%s", resp.Body)
	for _, b := range e.api.bodies {
		require.NotContains(t, b, taskPassword)
	}
}

// TestTaskAPIErrors walks the error codes of the task routes.
func TestTaskAPIErrors(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY)")
	e.createSource("mysql-01", e.src)
	// A second source has no free worker left: it stays unbound.
	resp := e.api.call(http.MethodPost, e.addr, "/api/v1/sources", map[string]any{
		"source_name": "mysql-02", "host": e.src.Host(), "port": e.src.Port(), "user": e.src.User(), "password": e.src.Password(), "enable_gtid": false,
	})
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)

	mutate := func(f func(task map[string]any)) map[string]any {
		task := e.task("t1", "all", []string{"mysql-01"}, "shop")
		f(task)
		return task
	}
	cases := []struct {
		name string
		task map[string]any
		code fsm.Code
		msg  string
	}{
		{"bad task_mode", mutate(func(m map[string]any) { m["task_mode"] = "sometimes" }), fsm.CodeRequestInvalid, "task_mode"},
		{"bad on_duplicate", mutate(func(m map[string]any) { m["on_duplicate"] = "merge" }), fsm.CodeRequestInvalid, "on_duplicate"},
		{"bad shard_mode", mutate(func(m map[string]any) { m["shard_mode"] = "eager" }), fsm.CodeRequestInvalid, "shard_mode"},
		{"bad consistency", mutate(func(m map[string]any) {
			m["source_config"].(map[string]any)["full_migrate_conf"].(map[string]any)["consistency"] = "maybe"
		}), fsm.CodeRequestInvalid, "consistency"},
		{"zero threads", mutate(func(m map[string]any) {
			m["source_config"].(map[string]any)["incr_migrate_conf"].(map[string]any)["repl_threads"] = 0
		}), fsm.CodeRequestInvalid, "repl_threads"},
		{"zero batch", mutate(func(m map[string]any) {
			m["source_config"].(map[string]any)["incr_migrate_conf"].(map[string]any)["repl_batch"] = 0
		}), fsm.CodeRequestInvalid, "repl_batch"},
		{"unknown source", mutate(func(m map[string]any) {
			m["source_config"].(map[string]any)["source_conf"] = []map[string]any{{"source_name": "ghost"}}
		}), fsm.CodeTaskSourceNotFound, "ghost"},
		{"unbound source", e.task("t1", "all", []string{"mysql-02"}, "shop"), fsm.CodeSourceUnbound, "mysql-02"},
		{"unknown filter", mutate(func(m map[string]any) {
			m["table_migrate_rule"].([]map[string]any)[0]["binlog_filter_rule"] = []string{"nope"}
		}), fsm.CodeOpenAPICommon, "nope"},
		{"incremental without start", mutate(func(m map[string]any) { m["task_mode"] = "incremental" }), fsm.CodeRequestInvalid, "start point"},
		{"unreachable target", mutate(func(m map[string]any) {
			m["target_config"].(map[string]any)["port"] = FreePort(t)
		}), fsm.CodeDBDriver, "target"},
		{"wrong target password", mutate(func(m map[string]any) {
			m["target_config"].(map[string]any)["password"] = "nope"
		}), fsm.CodeDBDriver, "denied"},
	}
	for _, tc := range cases {
		resp := e.startTask(tc.task)
		e := requireTemplate(t, resp, http.StatusBadRequest)
		require.Equal(t, tc.code, fsm.Code(e.Code), "%s: %s", tc.name, e.Msg)
		require.Contains(t, strings.ToLower(e.Msg), strings.ToLower(tc.msg), tc.name)
	}

	resp = e.startTask(e.task("t1", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	requireAPIError(t, e.startTask(e.task("t1", "all", []string{"mysql-01"}, "shop")), 400, fsm.CodeSubtaskExist)
	requireAPIError(t, e.api.call(http.MethodDelete, e.addr, "/api/v1/tasks/ghost", nil), 400, fsm.CodeTaskNotExist)
	requireAPIError(t, e.api.call(http.MethodGet, e.addr, "/api/v1/tasks/ghost/status", nil), 400, fsm.CodeTaskNotExist)
	requireAPIError(t, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/ghost/pause", nil), 400, fsm.CodeSubtaskTaskNotExist)
	requireAPIError(t, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/t1/pause", []string{"mysql-02"}), 400, fsm.CodeSourceNotInTask)
	requireAPIError(t, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/t1/resume", []string{"mysql-02"}), 400, fsm.CodeSourceNotInTask)
	requireAPIError(t, e.api.call(http.MethodDelete, e.addr, "/api/v1/tasks/t1?source_name_list=mysql-02", nil), 400, fsm.CodeSourceNotInTask)

	// Pause and resume change the stage; ?stage= filters.
	e.waitSynced("t1", 60*time.Second)
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/t1/pause", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	e.waitStage("t1", "Paused", 20*time.Second)
	var l listResp[subtaskStatus]
	require.NoError(t, e.api.call(http.MethodGet, e.addr, "/api/v1/tasks/t1/status?stage=running", nil).JSON(&l))
	require.Equal(t, 0, l.Total)
	e.src.Exec(t, "INSERT INTO shop.t VALUES (1), (2)")
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/t1/resume", []string{"mysql-01"})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	e.waitSynced("t1", 30*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
}

// TestAllTaskWithConcurrentWrites: writes during the dump and after converge, and status
// says synced with no lag when idle.
func TestAllTaskWithConcurrentWrites(t *testing.T) {
	e := newMigrationEnv(t, 1)
	seedTypes(t, e.src, "shop")
	e.src.Exec(t, "CREATE TABLE shop.big (id INT PRIMARY KEY, v VARCHAR(100))")
	e.src.Exec(t, "INSERT INTO shop.big SELECT seq, REPEAT('x', 100) FROM shop.seq_1_to_50000")
	e.createSource("mysql-01", e.src)
	stop := make(chan struct{})
	writerDone := startWriter(t, e.srcDB, "shop", stop)

	resp := e.startTask(e.task("live", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	Eventually(t, 60*time.Second, func() error {
		for _, st := range e.status("live") {
			if st.ErrorMsg != nil {
				t.Fatalf("subtask failed: %s", *st.ErrorMsg)
			}
			if st.Unit != "Sync" {
				return fmt.Errorf("unit %s", st.Unit)
			}
		}
		return nil
	})
	// Keep writing until the sync unit has replayed some of it.
	Eventually(t, 30*time.Second, func() error {
		st := e.status("live")[0]
		if st.SyncStatus == nil || st.SyncStatus.TotalEvents < 200 {
			return fmt.Errorf("sync has not replayed enough yet: %+v", st.SyncStatus)
		}
		return nil
	})
	close(stop)
	require.NoError(t, <-writerDone)
	e.waitSynced("live", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	st := e.status("live")[0]
	require.Equal(t, int64(0), st.SyncStatus.SecondsBehindMaster)
	require.Equal(t, "remote", st.SyncStatus.BinlogType)

	// The worker publishes DM's series for the task (gauges refresh every few seconds).
	Eventually(t, 10*time.Second, func() error {
		metrics := call(t, http.MethodGet, e.c.Workers[0].APIAddr, "/metrics")
		for _, name := range []string{
			`dm_worker_task_state{source_id="mysql-01",task="live",worker="worker1"} 2`,
			`dm_loader_progress{source_id="mysql-01",task="live"} 1`,
			"dm_loader_data_size_gauge", "dm_syncer_finished_jobs_total", "dm_syncer_replication_lag_gauge",
			"dm_syncer_binlog_file", "dm_syncer_binlog_pos", "dm_syncer_queue_size", "dm_syncer_txn_duration_time",
		} {
			if !strings.Contains(string(metrics.Body), name) {
				return fmt.Errorf("worker metrics lack %s", name)
			}
		}
		return nil
	})
}

// TestIncrementalRoutingAndFilters: incremental from a file/pos and from a GTID set, two
// shards routed into one table, ignore_event delete and ignore_sql on an ALTER.
func TestIncrementalRoutingAndFilters(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shard_1")
	e.src.Exec(t, "CREATE DATABASE shard_2")
	e.src.Exec(t, "CREATE TABLE shard_1.orders (id INT PRIMARY KEY, v INT)")
	e.src.Exec(t, "CREATE TABLE shard_2.orders (id INT PRIMARY KEY, v INT)")
	e.dst.Exec(t, "CREATE DATABASE merged")
	e.dst.Exec(t, "CREATE TABLE merged.orders (id INT PRIMARY KEY, v INT)")
	e.createSource("mysql-01", e.src)

	var file string
	var pos uint32
	var doDB, ignoreDB any
	require.NoError(t, e.srcDB.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB))

	task := e.task("merge", "incremental", []string{"mysql-01"})
	task["table_migrate_rule"] = []map[string]any{{
		"source":             map[string]any{"source_name": "mysql-01", "schema": "shard_?", "table": "orders"},
		"target":             map[string]any{"schema": "merged", "table": "orders"},
		"binlog_filter_rule": []string{"keep-rows"},
	}}
	task["binlog_filter_rule"] = map[string]any{"keep-rows": map[string]any{"ignore_event": []string{"delete"}, "ignore_sql": []string{"^ALTER TABLE .* ADD INDEX idx_junk"}}}
	task["source_config"].(map[string]any)["source_conf"] = []map[string]any{{"source_name": "mysql-01", "binlog_name": file, "binlog_pos": pos}}
	resp := e.startTask(task)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)

	e.src.Exec(t, "INSERT INTO shard_1.orders VALUES (1, 10), (2, 20)")
	e.src.Exec(t, "INSERT INTO shard_2.orders VALUES (101, 30), (102, 40)")
	e.src.Exec(t, "UPDATE shard_2.orders SET v = 41 WHERE id = 102")
	e.src.Exec(t, "DELETE FROM shard_1.orders WHERE id = 1")
	e.src.Exec(t, "ALTER TABLE shard_1.orders ADD INDEX idx_junk (v)")
	e.src.Exec(t, "INSERT INTO shard_1.orders (id, v) VALUES (3, 50)")
	e.waitSynced("merge", 60*time.Second)
	Eventually(t, 20*time.Second, func() error {
		var n, sum int64
		if err := e.dstDB.QueryRow("SELECT COUNT(*), SUM(v) FROM merged.orders").Scan(&n, &sum); err != nil {
			return err
		}
		// the delete was ignored: rows 1, 2, 3, 101, 102
		if n != 5 || sum != 10+20+50+30+41 {
			return fmt.Errorf("merged.orders has %d rows, sum %d", n, sum)
		}
		return nil
	})
	var idx int
	require.NoError(t, e.dstDB.QueryRow("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='merged' AND TABLE_NAME='orders' AND INDEX_NAME='idx_junk'").Scan(&idx))
	require.Equal(t, 0, idx, "the ALTER matched ignore_sql")

	// A second task starting from a GTID set.
	var gtid string
	require.NoError(t, e.srcDB.QueryRow("SELECT @@gtid_binlog_pos").Scan(&gtid))
	e.src.Exec(t, "CREATE DATABASE g")
	e.src.Exec(t, "CREATE TABLE g.t (id INT PRIMARY KEY, v VARCHAR(10))")
	e.src.Exec(t, "INSERT INTO g.t VALUES (1, 'a'), (2, 'b')")
	gt := e.task("bygtid", "incremental", []string{"mysql-01"}, "g")
	gt["source_config"].(map[string]any)["source_conf"] = []map[string]any{{"source_name": "mysql-01", "binlog_gtid": gtid}}
	resp = e.startTask(gt)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced("bygtid", 60*time.Second)
	EventuallySame(t, e.srcDB, e.dstDB, "g", 20*time.Second)
}

// TestWorkerKilledDuringLoadAndSync: kill -9 the worker during load, then during sync; the
// source is rebound to the second worker, the task resumes, and the data is exact.
func TestWorkerKilledDuringLoadAndSync(t *testing.T) {
	e := newMigrationEnv(t, 2)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.big (id INT PRIMARY KEY, v VARCHAR(200))")
	e.src.Exec(t, "INSERT INTO shop.big SELECT seq, REPEAT('y', 200) FROM shop.seq_1_to_400000")
	e.src.Exec(t, "CREATE TABLE shop.nokey (a INT, b VARCHAR(200))")
	e.src.Exec(t, "INSERT INTO shop.nokey SELECT seq % 10, REPEAT('z', 200) FROM shop.seq_1_to_100000")
	e.createSource("mysql-01", e.src)

	task := e.task("crash", "all", []string{"mysql-01"}, "shop")
	task["source_config"].(map[string]any)["full_migrate_conf"].(map[string]any)["import_threads"] = 2
	resp := e.startTask(task)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)

	killWorkerOf := func() string {
		w := e.api.bindings(e.addr)["mysql-01"]
		for _, p := range e.c.Workers {
			if p.Name == w {
				p.Kill()
			}
		}
		return w
	}
	// Wait until the load is under way, then kill the worker running it.
	Eventually(t, 60*time.Second, func() error {
		st := e.status("crash")[0]
		if st.Unit == "Load" && st.LoadStatus != nil && st.LoadStatus.FinishedBytes > 0 {
			return nil
		}
		if st.Unit == "Sync" {
			t.Fatalf("the load finished before the kill; make the table bigger")
		}
		return fmt.Errorf("unit %s", st.Unit)
	})
	first := killWorkerOf()
	Eventually(t, 30*time.Second, func() error {
		if w := e.api.bindings(e.addr)["mysql-01"]; w == "" || w == first {
			return fmt.Errorf("not rebound yet")
		}
		return nil
	})
	for _, p := range e.c.Workers {
		if p.Name == first {
			p.Start()
		}
	}
	stop := make(chan struct{})
	writerDone := startWriter(t, e.srcDB, "shop", stop)
	// The load resumes on the new worker and sync starts replaying the writer's changes.
	Eventually(t, 120*time.Second, func() error {
		st := e.status("crash")[0]
		if st.ErrorMsg != nil {
			t.Fatalf("subtask failed: %s", *st.ErrorMsg)
		}
		if st.Unit != "Sync" || st.SyncStatus == nil || st.SyncStatus.TotalEvents < 500 {
			return fmt.Errorf("unit %s on %s", st.Unit, st.WorkerName)
		}
		return nil
	})

	// Now kill the worker during sync, with writes going on. Until the source is rebound, the
	// status call still answers, with an error_msg on the subtask whose worker is gone.
	second := killWorkerOf()
	if st := e.status("crash"); len(st) == 1 && st[0].WorkerName == second {
		require.NotNil(t, st[0].ErrorMsg, "a worker that cannot be reached gives its entry an error_msg")
	}
	Eventually(t, 30*time.Second, func() error {
		if w := e.api.bindings(e.addr)["mysql-01"]; w == "" || w == second {
			return fmt.Errorf("not rebound yet")
		}
		return nil
	})
	close(stop)
	require.NoError(t, <-writerDone)
	e.waitSynced("crash", 120*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
}
