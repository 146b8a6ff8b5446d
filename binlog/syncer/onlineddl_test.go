package syncer

import (
	"context"
	"database/sql"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/schema"
	"github.com/dm-oss/dm/binlog/tracker"
)

func TestOnlineTableNames(t *testing.T) {
	for name, want := range map[string]onlineKind{
		"_t_gho": onlineGhost, "_t_new": onlineGhost, "_my_table_gho": onlineGhost,
		"_t_ghc": onlineTrash, "_t_del": onlineTrash, "_t_old": onlineTrash,
		"t": onlineNone, "t_gho": onlineNone, "_gho": onlineNone, "__gho": onlineNone, "_t_ghost": onlineNone,
	} {
		require.Equal(t, want, onlineKindOf(name), name)
	}
	k, real := onlineTable("_my_table_gho")
	require.Equal(t, onlineGhost, k)
	require.Equal(t, "my_table", real)

	for _, c := range []struct {
		ghost, table string
		want         bool
	}{
		{"_t_new", "t", true}, {"_t_gho", "t", true}, {"___t_new", "t", true}, {"__t_new", "_t", true},
		{"_t_new", "_t", false}, {"_t_old", "t", false}, {"_xt_new", "t", false}, {"_t_new", "tt", false},
	} {
		require.Equal(t, c.want, isGhostOf(c.ghost, c.table), "%s of %s", c.ghost, c.table)
	}
	require.Equal(t, []string{"__t", "_t", "t"}, ghostReals("___t_new"))
	require.Equal(t, []string{"t"}, ghostReals("_t_gho"))
}

// onlineEnv: db1.t with rows on both sides, the replay starting after it, with a seeded
// tracker and OnlineDDL on.
func onlineEnv(t *testing.T) (*env, Config) {
	e := newEnv(t)
	create := "CREATE TABLE db1.t (id INT PRIMARY KEY, v VARCHAR(20))"
	rows := "INSERT INTO db1.t VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four')"
	execAll(t, e.srcDB, "CREATE DATABASE db1", create, rows)
	execAll(t, e.tgtDB, "CREATE DATABASE db1", create, rows)
	text, err := tracker.ShowCreateTable(context.Background(), e.srcDB, "db1", "t")
	require.NoError(t, err)
	e.start = e.masterPos(t)
	tr := tracker.New(testLogger(t))
	require.NoError(t, tr.CreateTable("db1", "t", text))
	cfg := e.config(t, 4, 10)
	cfg.Tracker = tr
	cfg.OnlineDDL = true
	return e, cfg
}

var ghostPhase1 = []string{
	"CREATE TABLE db1._t_gho LIKE db1.t",
	"ALTER /* gh-ost */ TABLE `db1`.`_t_gho` ADD COLUMN c INT",
	"CREATE TABLE db1._t_ghc (id BIGINT AUTO_INCREMENT PRIMARY KEY, hint VARCHAR(64), value VARCHAR(255))",
	"INSERT INTO db1._t_ghc (hint, value) VALUES ('state', 'GhostTableMigrated')",
	// concurrent DML on t, mirrored into the ghost table by the tool
	"INSERT INTO db1.t VALUES (10, 'ten')",
	"INSERT INTO db1._t_gho VALUES (10, 'ten', NULL)",
	// the copy
	"INSERT IGNORE INTO db1._t_gho SELECT id, v, NULL FROM db1.t WHERE id < 10",
}

var ghostPhase2 = []string{
	"UPDATE db1.t SET v = 'uno' WHERE id = 1",
	"UPDATE db1._t_gho SET v = 'uno' WHERE id = 1",
	"DELETE FROM db1.t WHERE id = 2",
	"DELETE FROM db1._t_gho WHERE id = 2",
	"INSERT INTO db1._t_ghc (hint, value) VALUES ('state', 'AllEventsUpToLockProcessed')",
	"RENAME TABLE db1.t TO db1._t_del, db1._t_gho TO db1.t",
	"DROP TABLE IF EXISTS db1._t_del, db1._t_ghc",
	"INSERT INTO db1.t VALUES (11, 'eleven', 11)",
	"UPDATE db1.t SET c = 3 WHERE id = 3",
}

var ptoscSteps = []string{
	"CREATE TABLE db1._t_new LIKE db1.t",
	"ALTER TABLE db1._t_new ADD COLUMN c INT",
	// the copy (pt-osc's triggers mirror t's changes; here they are issued by hand)
	"INSERT LOW_PRIORITY IGNORE INTO db1._t_new (id, v) SELECT id, v FROM db1.t",
	"INSERT INTO db1.t VALUES (10, 'ten')",
	"REPLACE INTO db1._t_new (id, v) VALUES (10, 'ten')",
	"UPDATE db1.t SET v = 'uno' WHERE id = 1",
	"REPLACE INTO db1._t_new (id, v) VALUES (1, 'uno')",
	"DELETE FROM db1.t WHERE id = 2",
	"DELETE IGNORE FROM db1._t_new WHERE id = 2",
	"RENAME TABLE db1.t TO db1._t_old, db1._t_new TO db1.t",
	"DROP TABLE IF EXISTS db1._t_old",
	"INSERT INTO db1.t VALUES (11, 'eleven', 11)",
}

func tableNames(t *testing.T, db *sql.DB, schemaName string) []string {
	t.Helper()
	rows, err := db.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", schemaName)
	require.NoError(t, err)
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Err())
	sort.Strings(names)
	return names
}

func columnNames(t *testing.T, db *sql.DB, schemaName, table string) []string {
	t.Helper()
	rows, err := db.Query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", schemaName, table)
	require.NoError(t, err)
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Err())
	return names
}

func onlineRecords(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM dm_meta.t1_onlineddl").Scan(&n))
	return n
}

// checkCutOver: the target's t has the new column and the source's rows, there are no helper
// tables, no pending record, and the tracker's t has the new definition.
func checkCutOver(t *testing.T, e *env, s *Syncer) {
	t.Helper()
	e.sameData(t, "db1.t")
	require.Equal(t, []string{"t"}, tableNames(t, e.tgtDB, "db1"))
	require.Equal(t, []string{"id", "v", "c"}, columnNames(t, e.tgtDB, "db1", "t"))
	require.Equal(t, 0, onlineRecords(t, e.tgtDB))
	def, ok := s.Tracker().Table("db1", "t")
	require.True(t, ok)
	var names []string
	for _, c := range def.Columns {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"id", "v", "c"}, names)
	for _, tbl := range []string{"_t_gho", "_t_ghc", "_t_del", "_t_new", "_t_old"} {
		_, ok := s.Tracker().Table("db1", tbl)
		require.False(t, ok, tbl)
	}
}

func TestOnlineDDLGhost(t *testing.T) {
	e, cfg := onlineEnv(t)
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	execAll(t, e.srcDB, ghostPhase1...)
	execAll(t, e.srcDB, ghostPhase2...)
	e.waitSynced(t, s, r, 30*time.Second)
	checkCutOver(t, e, s)
	require.NoError(t, r.stop())
}

func TestOnlineDDLPtOSC(t *testing.T) {
	e, cfg := onlineEnv(t)
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	execAll(t, e.srcDB, ptoscSteps...)
	e.waitSynced(t, s, r, 30*time.Second)
	checkCutOver(t, e, s)
	require.NoError(t, r.stop())
}

// TestOnlineDDLRestart: the sync unit stops between the ALTER of the ghost table and the
// cut-over; the record survives in the target, and the next run (with a new tracker, restored
// from the checkpoint) applies it at the cut-over. A replay of the ALTER from an earlier
// position does not record it twice.
func TestOnlineDDLRestart(t *testing.T) {
	e, cfg := onlineEnv(t)
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	execAll(t, e.srcDB, ghostPhase1...)
	e.waitSynced(t, s, r, 30*time.Second)
	require.NoError(t, r.stop())
	require.Equal(t, 1, onlineRecords(t, e.tgtDB))
	require.Equal(t, []string{"t"}, tableNames(t, e.tgtDB, "db1"))
	require.Equal(t, []string{"id", "v"}, columnNames(t, e.tgtDB, "db1", "t"))
	e.sameData(t, "db1.t")

	execAll(t, e.srcDB, ghostPhase2...)
	cfg.Tracker = tracker.New(testLogger(t))
	s = mustNew(t, cfg)
	r = e.resume(t, s)
	e.waitSynced(t, s, r, 30*time.Second)
	checkCutOver(t, e, s)
	require.NoError(t, r.stop())
}

// TestOnlineDDLRecordOnce: the ALTER of the ghost table is read again (the reader starts
// before it, the checkpoint having been lost): it is recorded once.
func TestOnlineDDLRecordOnce(t *testing.T) {
	e, cfg := onlineEnv(t)
	execAll(t, e.srcDB, ghostPhase1...)
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)
	require.NoError(t, r.stop())
	var text string
	require.NoError(t, e.tgtDB.QueryRow("SELECT ddls FROM dm_meta.t1_onlineddl").Scan(&text))
	// Forget the checkpoint (as a re-created task would), keep the record, and replay.
	execAll(t, e.tgtDB, "DROP TABLE dm_meta.t1_syncer_checkpoint")
	cfg.Tracker = tracker.New(testLogger(t))
	text0, err := tracker.ShowCreateTable(context.Background(), e.srcDB, "db1", "_t_del")
	require.ErrorIs(t, err, schema.ErrTableNotFound, text0)
	require.NoError(t, cfg.Tracker.CreateTable("db1", "t", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))"))
	cfg.SafeModeUntil = e.masterPos(t) // the rows are replayed again
	s = mustNew(t, cfg)
	r = e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)
	require.NoError(t, r.stop())
	var text2 string
	require.NoError(t, e.tgtDB.QueryRow("SELECT ddls FROM dm_meta.t1_onlineddl").Scan(&text2))
	require.Equal(t, text, text2)

	execAll(t, e.srcDB, ghostPhase2...)
	s = mustNew(t, cfg)
	r = e.resume(t, s)
	e.waitSynced(t, s, r, 30*time.Second)
	checkCutOver(t, e, s)
	require.NoError(t, r.stop())
}

// TestOnlineDDLRouted: the recorded ALTER is applied to the routed target table; only the real
// table matches the rules (the helper tables do not).
func TestOnlineDDLRouted(t *testing.T) {
	e, cfg := onlineEnv(t)
	rl, err := rules.New([]rules.MigrateRule{
		{SchemaPattern: "db1", TablePattern: "t", TargetSchema: "db2", TargetTable: "t2"},
	}, nil, false)
	require.NoError(t, err)
	cfg.Rules = rl
	execAll(t, e.tgtDB, "CREATE DATABASE db2", "CREATE TABLE db2.t2 LIKE db1.t", "INSERT INTO db2.t2 SELECT * FROM db1.t")
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	execAll(t, e.srcDB, ghostPhase1...)
	execAll(t, e.srcDB, ghostPhase2...)
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "db1.t=>db2.t2")
	require.Equal(t, []string{"t2"}, tableNames(t, e.tgtDB, "db2"))
	require.Equal(t, []string{"t"}, tableNames(t, e.tgtDB, "db1"))
	require.Equal(t, []string{"id", "v"}, columnNames(t, e.tgtDB, "db1", "t"))
	require.Equal(t, []string{"id", "v", "c"}, columnNames(t, e.tgtDB, "db2", "t2"))
	require.Equal(t, 0, onlineRecords(t, e.tgtDB))
	require.NoError(t, r.stop())
}

// TestOnlineDDLOff: without OnlineDDL the helper tables are replicated as ordinary tables.
func TestOnlineDDLOff(t *testing.T) {
	e, cfg := onlineEnv(t)
	cfg.OnlineDDL = false
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	execAll(t, e.srcDB, ghostPhase1...)
	e.waitSynced(t, s, r, 30*time.Second)
	require.Equal(t, []string{"_t_ghc", "_t_gho", "t"}, tableNames(t, e.tgtDB, "db1"))
	e.sameData(t, "db1._t_gho", "db1.t")
	require.NoError(t, r.stop())
}

// TestOnlineDDLPtOSCRetriedName: a table left over by an interrupted run holds the name
// _t_new, so pt-osc adds underscores until a name is free (__t_new, ___t_new, ...). The
// cut-over into t still applies the change recorded for the ghost table.
func TestOnlineDDLPtOSCRetriedName(t *testing.T) {
	e, cfg := onlineEnv(t)
	execAll(t, e.srcDB, "CREATE TABLE db1._t_new LIKE db1.t", "CREATE TABLE db1.__t_new LIKE db1.t")
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	for _, q := range ptoscSteps {
		execAll(t, e.srcDB, strings.ReplaceAll(q, "._t_new", ".___t_new"))
	}
	e.waitSynced(t, s, r, 30*time.Second)
	execAll(t, e.srcDB, "DROP TABLE db1._t_new, db1.__t_new")
	e.waitSynced(t, s, r, 30*time.Second)
	checkCutOver(t, e, s)
	require.NoError(t, r.stop())
}

// TestOnlineDDLPtOSCOldTableName: when _t_old is taken, pt-osc moves t away under another
// name (after ten underscores, a random prefix), which no pattern knows: that pair is still
// part of the swap and never applied, so the target's t is altered, not renamed.
func TestOnlineDDLPtOSCOldTableName(t *testing.T) {
	e, cfg := onlineEnv(t)
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	for _, q := range ptoscSteps {
		execAll(t, e.srcDB, strings.ReplaceAll(q, "._t_old", ".Q7X2KD__________t_old"))
	}
	e.waitSynced(t, s, r, 30*time.Second)
	checkCutOver(t, e, s)
	require.NoError(t, r.stop())
}
