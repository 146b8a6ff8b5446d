package integration

import (
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// writeShop runs inserts, updates and deletes on shop.w and inserts into the keyless
// shop.nokey, with ids from first on, until stop is closed.
func writeShop(db *sql.DB, first int, stop <-chan struct{}) <-chan error {
	done := make(chan error, 1)
	go func() {
		for i := first; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			var err error
			switch i % 5 {
			case 0, 1:
				_, err = db.Exec("INSERT INTO shop.w VALUES (?, ?, ?)", i, i, fmt.Sprintf("row %d", i))
			case 2:
				_, err = db.Exec("UPDATE shop.w SET v = v + 1 WHERE id = ?", i-1)
			case 3:
				_, err = db.Exec("DELETE FROM shop.w WHERE id = ?", i-3)
			case 4:
				_, err = db.Exec("INSERT INTO shop.nokey VALUES (?, 'w'), (?, NULL)", i%7, i%3)
			}
			if err != nil {
				done <- fmt.Errorf("write %d: %w", i, err)
				return
			}
		}
	}()
	return done
}

// requireSameKeyless fails unless the keyless table holds the same rows, each as many times,
// on both sides: a row applied twice or lost shows as a count that differs.
func requireSameKeyless(t *testing.T, src, dst *sql.DB, table string) {
	t.Helper()
	rows := func(db *sql.DB) map[string]int {
		r, err := db.Query("SELECT CONCAT_WS('|', COALESCE(a, 'NULL'), COALESCE(b, 'NULL')), COUNT(*) FROM " + table + " GROUP BY a, b")
		require.NoError(t, err)
		defer r.Close()
		out := map[string]int{}
		for r.Next() {
			var key string
			var n int
			require.NoError(t, r.Scan(&key, &n))
			out[key] = n
		}
		require.NoError(t, r.Err())
		return out
	}
	want := rows(src)
	require.NotEmpty(t, want)
	require.Equal(t, want, rows(dst), "rows of %s and how many times each", table)
}

// TestSourceFailoverToReplica: the upstream fails over to a GTID replica as a DBA does it
// (writes stopped, the replica caught up and promoted, the writers moved to it); the source is
// updated in place with the new host, and the task continues from its GTID checkpoint: the
// target ends equal to the new primary, keyless table included, nothing lost or applied twice.
func TestSourceFailoverToReplica(t *testing.T) {
	e := newMigrationEnv(t, 1)
	replica := StartReplica(t, e.src)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.w (id INT PRIMARY KEY, v INT, note VARCHAR(40))")
	e.src.Exec(t, "CREATE TABLE shop.nokey (a INT, b VARCHAR(20))")
	// The replica's binlog sits one file behind the primary's: every position differs.
	e.src.Exec(t, "FLUSH BINARY LOGS")
	e.createSource("mysql-01", e.src)
	stop := make(chan struct{})
	written := writeShop(e.srcDB, 1, stop)
	resp := e.startTask(e.task("fo", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	Eventually(t, 60*time.Second, func() error {
		st := e.status("fo")[0]
		if st.ErrorMsg != nil {
			t.Fatalf("subtask failed: %s", *st.ErrorMsg)
		}
		if st.SyncStatus == nil || st.SyncStatus.TotalEvents < 300 {
			return fmt.Errorf("sync has not replayed enough yet: %s %+v", st.Unit, st.SyncStatus)
		}
		return nil
	})

	// The failover: the primary's writes stop, the replica catches up and is promoted, the
	// writers move to it while the task still reads the old primary.
	close(stop)
	require.NoError(t, <-written)
	replica.WaitCaughtUp(t, e.src, 30*time.Second)
	replica.Promote(t)
	newDB := replica.DB(t)
	stop = make(chan struct{})
	written = writeShop(newDB, 1_000_000, stop)
	time.Sleep(500 * time.Millisecond) // writes land on the new primary before the switch (not a sync)

	resp = e.api.call(http.MethodPut, e.addr, "/api/v1/sources/mysql-01", map[string]any{"source": map[string]any{
		"source_name": "mysql-01", "host": replica.Host(), "port": replica.Port(), "user": replica.User(), "password": replica.Password(), "enable_gtid": true,
	}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	var src struct {
		Port     int    `json:"port"`
		Password string `json:"password"`
	}
	require.NoError(t, resp.JSON(&src))
	require.Equal(t, replica.Port(), src.Port)
	require.Equal(t, "******", src.Password)

	// More writes on the new primary, then everything converges.
	Eventually(t, 30*time.Second, func() error {
		var n int
		if err := e.dstDB.QueryRow("SELECT COUNT(*) FROM shop.w WHERE id >= 1000000").Scan(&n); err != nil {
			return err
		}
		if n < 50 {
			return fmt.Errorf("%d rows of the new primary's writes in the target", n)
		}
		return nil
	})
	close(stop)
	require.NoError(t, <-written)
	e.src, e.srcDB = replica, newDB
	e.waitSynced("fo", 60*time.Second)
	st := e.status("fo")[0]
	require.Equal(t, "Running", st.Stage)
	require.Nil(t, st.ErrorMsg)
	RequireSameTables(t, newDB, e.dstDB, "shop")
	requireSameKeyless(t, newDB, e.dstDB, "shop.nokey")
}

// TestTaskUpdatedWhilePaused: a paused task gets a table rule that takes in a table created
// while it was paused, a filter that drops deletes, and other thread and batch counts; resumed,
// its data follows the new rules from its checkpoint on. A running task is refused.
func TestTaskUpdatedWhilePaused(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.a (id INT PRIMARY KEY, v INT)")
	e.src.Exec(t, "INSERT INTO shop.a VALUES (1, 1), (2, 2), (3, 3)")
	e.src.Exec(t, "CREATE TABLE shop.skipped (id INT PRIMARY KEY)")
	e.createSource("mysql-01", e.src)

	task := e.task("upd", "all", []string{"mysql-01"})
	task["table_migrate_rule"] = []map[string]any{{"source": map[string]any{"source_name": "mysql-01", "schema": "shop", "table": "a"}}}
	resp := e.startTask(task)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.src.Exec(t, "INSERT INTO shop.a VALUES (4, 4)")
	e.src.Exec(t, "INSERT INTO shop.skipped VALUES (1)")
	e.waitSynced("upd", 60*time.Second)
	RequireSameTable(t, e.srcDB, "shop.a", e.dstDB, "shop.a")
	require.Equal(t, int64(0), TableCount(t, e.dstDB, "information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'skipped'"))
	workerLog, err := os.ReadFile(e.c.Workers[0].LogPath)
	require.NoError(t, err)
	require.Contains(t, string(workerLog), "sync unit starting")
	require.NotContains(t, string(workerLog), "sync starts at the dump's GTID set", "on the server of the dump, sync starts at its position")

	// The new settings, as a DM user sends them: the task read back, changed, put.
	var stored map[string]any
	resp = e.api.call(http.MethodGet, e.addr, "/api/v1/tasks/upd", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.NoError(t, resp.JSON(&stored))
	require.Equal(t, "******", stored["target_config"].(map[string]any)["password"])
	stored["table_migrate_rule"] = []map[string]any{
		{"source": map[string]any{"source_name": "mysql-01", "schema": "shop", "table": "a"}, "binlog_filter_rule": []string{"keep-rows"}},
		{"source": map[string]any{"source_name": "mysql-01", "schema": "shop", "table": "b"}},
	}
	stored["binlog_filter_rule"] = map[string]any{"keep-rows": map[string]any{"ignore_event": []string{"delete"}}}
	stored["source_config"].(map[string]any)["incr_migrate_conf"] = map[string]any{"repl_threads": 3, "repl_batch": 7}
	update := map[string]any{"task": stored}

	requireAPIError(t, e.api.call(http.MethodPut, e.addr, "/api/v1/tasks/upd", update), http.StatusBadRequest, fsm.CodeSubtaskCfgUpdate)
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/upd/pause", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	e.waitStage("upd", "Paused", 30*time.Second)

	// While it is paused: a new table, more rows, a delete.
	e.src.Exec(t, "CREATE TABLE shop.b (id INT PRIMARY KEY, s VARCHAR(10))")
	e.src.Exec(t, "INSERT INTO shop.b VALUES (1, 'x'), (2, 'y')")
	e.src.Exec(t, "INSERT INTO shop.a VALUES (5, 5)")
	e.src.Exec(t, "DELETE FROM shop.a WHERE id = 1")
	frozen := map[string]any{"task": map[string]any{}}
	for k, v := range stored {
		frozen["task"].(map[string]any)[k] = v
	}
	frozen["task"].(map[string]any)["meta_schema"] = "other_meta"
	requireAPIError(t, e.api.call(http.MethodPut, e.addr, "/api/v1/tasks/upd", frozen), http.StatusBadRequest, fsm.CodeSubtaskCfgUpdate)
	resp = e.api.call(http.MethodPut, e.addr, "/api/v1/tasks/upd", update)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.Equal(t, "Paused", e.status("upd")[0].Stage, "the update does not resume the task")

	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/upd/resume", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	e.src.Exec(t, "INSERT INTO shop.b VALUES (3, 'z')")
	e.src.Exec(t, "DELETE FROM shop.a WHERE id = 2")
	e.src.Exec(t, "UPDATE shop.a SET v = 50 WHERE id = 5")
	e.waitSynced("upd", 60*time.Second)

	RequireSameTable(t, e.srcDB, "shop.b", e.dstDB, "shop.b")
	// Deletes on shop.a are dropped from the checkpoint on: rows 1 and 2 stay in the target.
	ids := func(db *sql.DB) []int {
		r, err := db.Query("SELECT id FROM shop.a ORDER BY id")
		require.NoError(t, err)
		defer r.Close()
		var out []int
		for r.Next() {
			var id int
			require.NoError(t, r.Scan(&id))
			out = append(out, id)
		}
		return out
	}
	require.Equal(t, []int{3, 4, 5}, ids(e.srcDB))
	require.Equal(t, []int{1, 2, 3, 4, 5}, ids(e.dstDB))
	require.Equal(t, int64(1), TableCount(t, e.dstDB, "shop.a WHERE id = 5 AND v = 50"))
	require.Equal(t, int64(0), TableCount(t, e.dstDB, "information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'skipped'"))
	// The sync unit runs with the new worker count: its progress rows say so.
	Eventually(t, 20*time.Second, func() error {
		var counts string
		if err := e.dstDB.QueryRow("SELECT GROUP_CONCAT(DISTINCT worker_count) FROM dm_meta.upd_syncer_checkpoint").Scan(&counts); err != nil {
			return err
		}
		if counts != "3" {
			return fmt.Errorf("worker counts in the checkpoint: %s", counts)
		}
		return nil
	})
}

// TestSourceUpdatedWhileRelayed: the source's user changes in place (same server) while a
// worker relays it and a task reads the relay log: the relay reconnects with the new user,
// the task continues from its checkpoint, and the target stays equal.
func TestSourceUpdatedWhileRelayed(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(10))")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (1, 'a')")
	e.src.CreateUser(t, "dm2", "Dm2-Pa55", "ALL PRIVILEGES ON *.*")
	e.createSource("mysql-01", e.src)
	bound := e.api.bindings(e.addr)["mysql-01"]
	resp := e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/start-relay", map[string]any{"worker_name_list": []string{bound}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	resp = e.startTask(e.task("cred", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced("cred", 60*time.Second)
	require.Equal(t, "local", e.status("cred")[0].SyncStatus.BinlogType)

	// Another server is refused while relayed: the relay log is the old server's binlog.
	other := StartMariaDB(t, MariaDBOptions{Binlog: true})
	requireAPIError(t, e.api.call(http.MethodPut, e.addr, "/api/v1/sources/mysql-01", map[string]any{"source": map[string]any{
		"source_name": "mysql-01", "host": other.Host(), "port": other.Port(), "user": other.User(), "password": other.Password(), "enable_gtid": true,
	}}), http.StatusBadRequest, fsm.CodeSourceCfgUpdate)

	resp = e.api.call(http.MethodPut, e.addr, "/api/v1/sources/mysql-01", map[string]any{"source": map[string]any{
		"source_name": "mysql-01", "host": e.src.Host(), "port": e.src.Port(), "user": "dm2", "password": "Dm2-Pa55", "enable_gtid": true,
	}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	e.src.Exec(t, "INSERT INTO shop.t VALUES (2, 'b'), (3, 'c')")
	e.waitSynced("cred", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	require.Equal(t, "local", e.status("cred")[0].SyncStatus.BinlogType)
	// The relay's binlog dump now runs as the new user.
	Eventually(t, 20*time.Second, func() error {
		var users string
		if err := e.srcDB.QueryRow("SELECT COALESCE(GROUP_CONCAT(DISTINCT USER), '') FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'").Scan(&users); err != nil {
			return err
		}
		if users != "dm2" {
			return fmt.Errorf("binlog dumps run as %q", users)
		}
		return nil
	})
	for _, s := range e.sourceStatus("mysql-01") {
		require.NotNil(t, s.RelayStatus, "%+v", s)
		require.Equal(t, "Running", s.RelayStatus.Stage)
		require.Nil(t, s.ErrorMsg, "%+v", s)
	}
}
