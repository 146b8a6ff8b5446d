package integration

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

// shardEnv is two sources, each with shard tables shard.t1 and shard.t2, merged into one
// target table by a task.
type shardEnv struct {
	*migrationEnv
	src2   *MariaDB
	src2DB *sql.DB
	dbs    map[string]*MariaDB // source name → server
}

func newShardEnv(t *testing.T) *shardEnv {
	e := newMigrationEnv(t, 2)
	src2 := StartMariaDB(t, MariaDBOptions{Binlog: true})
	se := &shardEnv{migrationEnv: e, src2: src2, src2DB: src2.DB(t), dbs: map[string]*MariaDB{"s1": e.src, "s2": src2}}
	for i, db := range []*MariaDB{e.src, src2} {
		db.Exec(t, "CREATE DATABASE shard")
		for j, tb := range []string{"t1", "t2"} {
			db.Exec(t, "CREATE TABLE shard."+tb+" (id INT PRIMARY KEY, v VARCHAR(20))")
			base := (i*2 + j) * 1000
			db.Exec(t, fmt.Sprintf("INSERT INTO shard.%s SELECT seq, CONCAT('row', seq) FROM shard.seq_%d_to_%d", tb, base+1, base+50))
		}
	}
	se.createSource("s1", e.src)
	se.createSource("s2", src2)
	return se
}

// shardTask routes shard.t* of both sources into target.t.
func (se *shardEnv) shardTask(name, mode, target string) map[string]any {
	task := se.task(name, "all", []string{"s1", "s2"}, "shard")
	var rules []map[string]any
	for _, s := range []string{"s1", "s2"} {
		rules = append(rules, map[string]any{
			"source": map[string]any{"source_name": s, "schema": "shard", "table": "t*"},
			"target": map[string]any{"schema": target, "table": "t"},
		})
	}
	task["table_migrate_rule"] = rules
	task["shard_mode"] = mode
	return task
}

// waitAllSynced polls until every subtask is in Sync and caught up with its own source.
func (se *shardEnv) waitAllSynced(task string, timeout time.Duration) {
	se.t.Helper()
	Eventually(se.t, timeout, func() error {
		for _, st := range se.status(task) {
			if st.ErrorMsg != nil {
				se.t.Fatalf("subtask %s/%s failed: %s", st.Name, st.SourceName, *st.ErrorMsg)
			}
			if st.Unit != "Sync" || st.SyncStatus == nil {
				return fmt.Errorf("%s/%s not syncing yet", st.Name, st.SourceName)
			}
			var gtid string
			if err := se.dbs[st.SourceName].DB(se.t).QueryRow("SELECT @@gtid_binlog_pos").Scan(&gtid); err != nil {
				return err
			}
			if ss := st.SyncStatus; !ss.Synced || ss.SyncerBinlogGtid != gtid {
				return fmt.Errorf("%s/%s not synced: syncer at %q, source at %q", st.Name, st.SourceName, ss.SyncerBinlogGtid, gtid)
			}
		}
		return nil
	})
}

// shardRows reads id, v and c (NULL where a shard has no c) of every shard table of both
// sources, as the merged table must hold them.
func (se *shardEnv) shardRows() []string {
	se.t.Helper()
	var out []string
	for _, db := range []*sql.DB{se.srcDB, se.src2DB} {
		for _, tb := range []string{"t1", "t2"} {
			var hasC int
			require.NoError(se.t, db.QueryRow("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shard' AND TABLE_NAME = ? AND COLUMN_NAME = 'c'", tb).Scan(&hasC))
			c := "NULL"
			if hasC > 0 {
				c = "c"
			}
			out = append(out, queryRows(se.t, db, "SELECT id, v, "+c+" FROM shard."+tb)...)
		}
	}
	slices.Sort(out)
	return out
}

func queryRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int
		var v, c sql.NullString
		require.NoError(t, rows.Scan(&id, &v, &c))
		out = append(out, fmt.Sprintf("%d|%s|%s", id, v.String, c.String))
	}
	require.NoError(t, rows.Err())
	return out
}

func (se *shardEnv) targetRows(table string) []string {
	se.t.Helper()
	out := queryRows(se.t, se.dstDB, "SELECT id, v, c FROM "+table)
	slices.Sort(out)
	return out
}

type shardGroupView struct {
	Target        string   `json:"target"`
	DDLList       []string `json:"ddl_list"`
	FirstLocation string   `json:"first_location"`
	Synced        []string `json:"synced"`
	Unsynced      []string `json:"unsynced"`
}

type shardStatusView struct {
	SourceName          string `json:"source_name"`
	Stage               string `json:"stage"`
	UnresolvedDDLLockID string `json:"unresolved_ddl_lock_id"`
	ErrorMsg            string `json:"error_msg"`
	SyncStatus          *struct {
		BlockingDDLs     []string         `json:"blocking_ddls"`
		UnresolvedGroups []shardGroupView `json:"unresolved_groups"`
	} `json:"sync_status"`
}

func (se *shardEnv) shardStatus(task string) map[string]shardStatusView {
	se.t.Helper()
	var l listResp[shardStatusView]
	resp := se.api.call(http.MethodGet, se.addr, "/api/v1/tasks/"+task+"/status", nil)
	require.Equal(se.t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.NoError(se.t, resp.JSON(&l))
	out := map[string]shardStatusView{}
	for _, st := range l.Data {
		out[st.SourceName] = st
	}
	return out
}

type lockView struct {
	ID       string   `json:"id"`
	TaskName string   `json:"task_name"`
	Owner    string   `json:"owner"`
	DDLs     []string `json:"ddls"`
	Synced   []string `json:"synced"`
	Unsynced []string `json:"unsynced"`
	Resolved bool     `json:"resolved"`
}

func (se *shardEnv) locks(task string) []lockView {
	se.t.Helper()
	var l listResp[lockView]
	resp := se.api.call(http.MethodGet, se.addr, "/api/v1/shard-ddl-locks?task_name="+url.QueryEscape(task), nil)
	require.Equal(se.t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.NoError(se.t, resp.JSON(&l))
	return l.Data
}

// TestShardMergePessimistic: two sources × two shard tables merged into one target table; an
// ADD COLUMN arrives on each shard at a different time. Each shard table is held back from its
// DDL until every shard of every source has it; the DDL runs once; the rows written before and
// after it, on every shard, all land with the right values.
func TestShardMergePessimistic(t *testing.T) {
	se := newShardEnv(t)
	resp := se.startTask(se.shardTask("pess", "pessimistic", "merged"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	se.waitAllSynced("pess", 90*time.Second)
	require.Equal(t, se.shardRows(), se.targetRowsNoC("`merged`.`t`"))

	const alter = "ALTER TABLE shard.%s ADD COLUMN c VARCHAR(20) NOT NULL DEFAULT 'none'"
	// s1.t1 first: its later rows are held back, s1.t2's rows go on.
	se.src.Exec(t, fmt.Sprintf(alter, "t1"))
	se.src.Exec(t, "INSERT INTO shard.t1 VALUES (101, 'after', 'c101'), (102, 'after', 'c102')")
	se.src.Exec(t, "UPDATE shard.t1 SET c = 'c1' WHERE id = 1")
	se.src.Exec(t, "INSERT INTO shard.t2 VALUES (1101, 'before')")
	Eventually(t, 30*time.Second, func() error {
		st := se.shardStatus("pess")["s1"]
		if st.SyncStatus == nil || len(st.SyncStatus.UnresolvedGroups) != 1 {
			return fmt.Errorf("no unresolved group yet: %+v", st)
		}
		g := st.SyncStatus.UnresolvedGroups[0]
		if g.Target != "`merged`.`t`" || !slices.Equal(g.Synced, []string{"`shard`.`t1`"}) || !slices.Equal(g.Unsynced, []string{"`shard`.`t2`"}) || len(g.DDLList) != 1 || g.FirstLocation == "" {
			return fmt.Errorf("group: %+v", g)
		}
		if n := TableCount(t, se.dstDB, "merged.t WHERE id = 1101"); n != 1 {
			return fmt.Errorf("s1.t2's row not applied yet")
		}
		return nil
	})
	metrics := call(t, http.MethodGet, se.boundWorker("s1").APIAddr, "/metrics")
	require.Contains(t, string(metrics.Body), "dm_syncer_unsynced_table_number{source_id=\"s1\",table=\"`merged`.`t`\",task=\"pess\"} 1")
	require.Equal(t, int64(0), TableCount(t, se.dstDB, "merged.t WHERE id IN (101, 102)"), "s1.t1's rows after its DDL must be held back")
	require.Empty(t, se.shardStatus("pess")["s1"].UnresolvedDDLLockID, "s1 does not wait on the masters before all its shards sent the DDL")

	// kill -9 of s1's worker while t1 is held back: the restarted unit holds the same rows
	// back (the group is stored with the checkpoint) and replays them later.
	w1 := se.boundWorker("s1")
	w1.Kill()
	se.src.Exec(t, "INSERT INTO shard.t1 VALUES (105, 'while down', 'c105')")
	se.src.Exec(t, "INSERT INTO shard.t2 VALUES (1103, 'while down')")
	w1.Start()
	Eventually(t, 60*time.Second, func() error {
		st := se.shardStatus("pess")["s1"]
		if st.Stage != "Running" || st.SyncStatus == nil || len(st.SyncStatus.UnresolvedGroups) != 1 {
			return fmt.Errorf("s1 not back with its group: %+v", st)
		}
		if n := TableCount(t, se.dstDB, "merged.t WHERE id = 1103"); n != 1 {
			return fmt.Errorf("s1.t2's row not applied yet")
		}
		return nil
	})
	require.Equal(t, int64(0), TableCount(t, se.dstDB, "merged.t WHERE id IN (101, 102, 105)"), "s1.t1's rows are still held back after the restart")

	// s1.t2: s1's group is complete; s1 waits on the lock for s2.
	se.src.Exec(t, fmt.Sprintf(alter, "t2"))
	se.src.Exec(t, "INSERT INTO shard.t2 VALUES (1102, 'after', 'c1102')")
	lockID := "pess-`merged`.`t`"
	Eventually(t, 30*time.Second, func() error {
		st := se.shardStatus("pess")["s1"]
		if st.UnresolvedDDLLockID != lockID || st.SyncStatus == nil || len(st.SyncStatus.BlockingDDLs) != 1 {
			return fmt.Errorf("s1 not waiting on the lock: %+v", st)
		}
		l := se.locks("pess")
		if len(l) != 1 || l[0].ID != lockID || !slices.Equal(l[0].Synced, []string{"s1"}) || !slices.Equal(l[0].Unsynced, []string{"s2"}) || l[0].Resolved {
			return fmt.Errorf("locks: %+v", l)
		}
		return nil
	})
	metrics = call(t, http.MethodGet, se.boundWorker("s1").APIAddr, "/metrics")
	require.Contains(t, string(metrics.Body), `dm_syncer_shard_lock_resolving{source_id="s1",task="pess"} 1`)
	var cols int
	require.NoError(t, se.dstDB.QueryRow("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'merged' AND TABLE_NAME = 't' AND COLUMN_NAME = 'c'").Scan(&cols))
	require.Zero(t, cols, "the DDL must wait for every source")

	// A pause while waiting: the resumed unit restores the held-back tables and waits again.
	require.Equal(t, http.StatusOK, se.api.call(http.MethodPost, se.addr, "/api/v1/tasks/pess/pause", []string{"s1"}).Status)
	Eventually(t, 20*time.Second, func() error {
		if st := se.shardStatus("pess")["s1"]; st.Stage != "Paused" {
			return fmt.Errorf("s1 is %s", st.Stage)
		}
		return nil
	})
	se.src.Exec(t, "INSERT INTO shard.t1 VALUES (103, 'paused', 'c103')")
	require.Equal(t, http.StatusOK, se.api.call(http.MethodPost, se.addr, "/api/v1/tasks/pess/resume", []string{"s1"}).Status)
	Eventually(t, 30*time.Second, func() error {
		if st := se.shardStatus("pess")["s1"]; st.UnresolvedDDLLockID != lockID || st.Stage != "Running" {
			return fmt.Errorf("s1 not waiting on the lock again: %+v", st)
		}
		return nil
	})

	// s2: rows on the old schema first, then t2 then t1 alter, with rows between.
	se.src2.Exec(t, "INSERT INTO shard.t1 VALUES (2101, 'before')")
	se.src2.Exec(t, fmt.Sprintf(alter, "t2"))
	se.src2.Exec(t, "INSERT INTO shard.t2 VALUES (3101, 'after', 'c3101')")
	se.src2.Exec(t, "INSERT INTO shard.t1 VALUES (2102, 'before')")
	se.src2.Exec(t, fmt.Sprintf(alter, "t1"))
	se.src2.Exec(t, "INSERT INTO shard.t1 VALUES (2103, 'after', 'c2103')")
	se.src2.Exec(t, "DELETE FROM shard.t1 WHERE id = 2001")

	// Resolved: one DDL, every row where it belongs, no lock left.
	se.src.Exec(t, "INSERT INTO shard.t1 VALUES (104, 'later', 'c104')")
	se.src2.Exec(t, "INSERT INTO shard.t2 VALUES (3102, 'later', 'c3102')")
	se.waitAllSynced("pess", 60*time.Second)
	require.Equal(t, se.shardRows(), se.targetRows("merged.t"))
	Eventually(t, 10*time.Second, func() error {
		if l := se.locks("pess"); len(l) != 0 {
			return fmt.Errorf("locks left: %+v", l)
		}
		return nil
	})
	for src, st := range se.shardStatus("pess") {
		require.Empty(t, st.UnresolvedDDLLockID, src)
		require.Empty(t, st.SyncStatus.UnresolvedGroups, src)
	}

	// A DDL only s1 sends (s2 will never): the operator unlocks, s1 runs it and goes on.
	se.src.Exec(t, "ALTER TABLE shard.t1 ADD INDEX idx_v (v)")
	se.src.Exec(t, "ALTER TABLE shard.t2 ADD INDEX idx_v (v)")
	se.src.Exec(t, "INSERT INTO shard.t1 VALUES (106, 'after index', 'c106')")
	Eventually(t, 30*time.Second, func() error {
		if st := se.shardStatus("pess")["s1"]; st.UnresolvedDDLLockID != lockID {
			return fmt.Errorf("s1 not waiting on the lock: %+v", st)
		}
		return nil
	})
	resp = se.api.call(http.MethodPost, se.addr, "/api/v1/shard-ddl-locks/"+url.PathEscape("pess-`merged`.`t`")+"/unlock", map[string]any{"action": "exec"})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	se.waitAllSynced("pess", 60*time.Second)
	require.Equal(t, se.shardRows(), se.targetRows("merged.t"))
	var idx int
	require.NoError(t, se.dstDB.QueryRow("SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'merged' AND TABLE_NAME = 't' AND INDEX_NAME = 'idx_v'").Scan(&idx))
	require.Equal(t, 1, idx)
	resp = se.api.call(http.MethodPost, se.addr, "/api/v1/shard-ddl-locks/"+url.PathEscape("pess-`merged`.`t`")+"/unlock", map[string]any{"action": "exec"})
	requireAPIError(t, resp, http.StatusBadRequest, fsm.CodeShardLockNotFound)
}

// boundWorker is the process of the worker bound to a source.
func (se *shardEnv) boundWorker(source string) *Proc {
	se.t.Helper()
	name := se.api.bindings(se.addr)[source]
	for _, w := range se.c.Workers {
		if w.Name == name {
			return w
		}
	}
	se.t.Fatalf("no worker bound to %s", source)
	return nil
}

// targetRowsNoC reads the merged table before it has column c.
func (se *shardEnv) targetRowsNoC(table string) []string {
	se.t.Helper()
	out := queryRows(se.t, se.dstDB, "SELECT id, v, NULL FROM "+table)
	slices.Sort(out)
	return out
}

// TestShardMergeOptimistic: compatible DDLs on single shards (a nullable column, a wider
// type, an index) are applied to the merged table at once; a shard that adds the same column
// with another type pauses its subtask with an error naming both shards.
func TestShardMergeOptimistic(t *testing.T) {
	se := newShardEnv(t)
	resp := se.startTask(se.shardTask("opt", "optimistic", "omerged"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	se.waitAllSynced("opt", 90*time.Second)

	se.src.Exec(t, "ALTER TABLE shard.t1 ADD COLUMN c INT NULL")
	se.src.Exec(t, "INSERT INTO shard.t1 VALUES (101, 'after', 7)")
	se.src.Exec(t, "INSERT INTO shard.t2 VALUES (1101, 'old shape')")
	se.src2.Exec(t, "ALTER TABLE shard.t1 ADD COLUMN c INT NULL")
	se.src2.Exec(t, "ALTER TABLE shard.t1 MODIFY v VARCHAR(50)")
	se.src2.Exec(t, "INSERT INTO shard.t1 VALUES (2101, 'a value longer than twenty', 8)")
	se.src.Exec(t, "ALTER TABLE shard.t2 MODIFY v VARCHAR(30)")
	se.src.Exec(t, "ALTER TABLE shard.t1 ADD INDEX idx_c (c)")
	se.src2.Exec(t, "ALTER TABLE shard.t1 ADD INDEX idx_c (c)")
	se.src.Exec(t, "INSERT INTO shard.t2 VALUES (1102, 'twenty-five characters!!')")
	se.waitAllSynced("opt", 60*time.Second)
	require.Equal(t, se.shardRows(), se.targetRows("omerged.t"))
	var vType string
	require.NoError(t, se.dstDB.QueryRow("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'omerged' AND TABLE_NAME = 't' AND COLUMN_NAME = 'v'").Scan(&vType))
	require.Equal(t, "varchar(50)", vType, "the merged column keeps the widest type")
	var idx int
	require.NoError(t, se.dstDB.QueryRow("SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'omerged' AND TABLE_NAME = 't' AND INDEX_NAME = 'idx_c'").Scan(&idx))
	require.Equal(t, 1, idx)

	// Conflict: s2's t2 adds c as text.
	se.src2.Exec(t, "ALTER TABLE shard.t2 ADD COLUMN c VARCHAR(10) NULL")
	se.src2.Exec(t, "INSERT INTO shard.t2 VALUES (3101, 'x', 'text')")
	var msg string
	Eventually(t, 30*time.Second, func() error {
		st := se.shardStatus("opt")["s2"]
		if st.Stage != "Paused" || st.ErrorMsg == "" {
			return fmt.Errorf("s2 not paused: %+v", st)
		}
		msg = st.ErrorMsg
		return nil
	})
	for _, want := range []string{"`shard`.`t1`", "`shard`.`t2`", `"s1"`, `"s2"`, "int", "varchar(10)"} {
		require.Contains(t, msg, want, "the error must name both shards and both types")
	}
	require.Equal(t, "Running", se.shardStatus("opt")["s1"].Stage, "the other source goes on")
	require.True(t, strings.Contains(msg, "36069") || strings.Contains(msg, "disagree"), msg)
}
