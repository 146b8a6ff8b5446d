package syncer

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/tracker"
)

// trackerEnv: db1.t exists on both sides (as after a dump) and the replay starts after it, at
// e.start. It returns the CREATE TABLE at the start position.
func trackerEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	create := "CREATE TABLE db1.t (id INT PRIMARY KEY, a INT, b VARCHAR(20), d DATETIME)"
	execAll(t, e.srcDB, "CREATE DATABASE db1", create)
	execAll(t, e.tgtDB, "CREATE DATABASE db1", create)
	text, err := tracker.ShowCreateTable(context.Background(), e.srcDB, "db1", "t")
	require.NoError(t, err)
	e.start = e.masterPos(t)
	return e, text
}

func seededTracker(t *testing.T, create string) *tracker.Tracker {
	tr := tracker.New(testLogger(t))
	require.NoError(t, tr.CreateTable("db1", "t", create))
	return tr
}

// trackerDDLs are three phases of changes to db1.t, each a DDL with rows on both sides: a
// column added in the middle, one dropped, one retyped.
var trackerDDLs = [][]string{
	{
		"INSERT INTO db1.t VALUES (1, 10, 'one', '2024-01-01 00:00:01'), (2, 20, 'two', NULL)",
		"UPDATE db1.t SET b = 'uno' WHERE id = 1",
		"ALTER TABLE db1.t ADD COLUMN c BIGINT UNSIGNED NOT NULL DEFAULT 7 AFTER a",
		"INSERT INTO db1.t VALUES (3, 30, 18446744073709551615, 'three', '2024-01-03 00:00:03')",
		"UPDATE db1.t SET c = 5, b = 'deux' WHERE id = 2",
	},
	{
		"INSERT INTO db1.t VALUES (4, 40, 4, 'four', NULL)",
		"ALTER TABLE db1.t DROP COLUMN b",
		"INSERT INTO db1.t VALUES (5, 50, 5, '2024-01-05 00:00:05')",
		"DELETE FROM db1.t WHERE id = 1",
	},
	{
		"INSERT INTO db1.t VALUES (6, -60, 6, NULL)",
		"ALTER TABLE db1.t MODIFY a VARCHAR(30)",
		"INSERT INTO db1.t VALUES (7, 'seven', 7, '2024-01-07 00:00:07')",
		"UPDATE db1.t SET a = CONCAT(a, '!') WHERE id IN (3, 6)",
	},
}

// TestTrackerAcrossDDL: the replay starts before three DDLs, so the live upstream already has
// the final definition; rows written before each DDL must be decoded with the definition of
// their time, which only the tracker (seeded at the start position) has.
func TestTrackerAcrossDDL(t *testing.T) {
	e, create := trackerEnv(t)
	for _, phase := range trackerDDLs {
		execAll(t, e.srcDB, phase...)
	}
	tr := seededTracker(t, create)
	cfg := e.config(t, 4, 10)
	cfg.Tracker = tr
	s := mustNew(t, cfg)
	require.Same(t, tr, s.Tracker())
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "db1.t")
	require.NoError(t, r.stop())

	// The final definition is stored with the checkpoint.
	tr2 := tracker.New(nil)
	ok, err := LoadTracker(context.Background(), e.tgtDB, "", "t1", "src1", tr2)
	require.NoError(t, err)
	require.True(t, ok)
	def, ok := tr2.Table("db1", "t")
	require.True(t, ok)
	var names []string
	for _, c := range def.Columns {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"id", "a", "c", "d"}, names)
	require.Equal(t, "varchar", def.Columns[1].DataType)
}

// TestTrackerRestart: the sync unit stops between the DDLs; the next run, with a new (empty)
// tracker, restores the state stored with the checkpoint and decodes the rows written before
// the later DDLs correctly, although the upstream has moved on.
func TestTrackerRestart(t *testing.T) {
	e, create := trackerEnv(t)
	execAll(t, e.srcDB, trackerDDLs[0]...)
	cfg := e.config(t, 4, 10)
	cfg.Tracker = seededTracker(t, create)
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)
	require.NoError(t, r.stop())
	e.sameData(t, "db1.t")

	// While it is stopped, the upstream goes through the next DDL (and part of the third).
	execAll(t, e.srcDB, trackerDDLs[1]...)
	execAll(t, e.srcDB, trackerDDLs[2][:2]...)

	cfg.Tracker = tracker.New(testLogger(t))
	s = mustNew(t, cfg)
	r = e.resume(t, s)
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "db1.t")
	// A stop right after a DDL, then the rest.
	require.NoError(t, r.stop())
	execAll(t, e.srcDB, trackerDDLs[2][2:]...)
	cfg.Tracker = tracker.New(testLogger(t))
	s = mustNew(t, cfg)
	r = e.resume(t, s)
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "db1.t")
	require.NoError(t, r.stop())
}

// TestTrackerSkippedDDL: a DDL that a binlog filter keeps from the target (here the operator
// altered the target table beforehand) still changes the upstream definition: the tracker
// follows it, and the rows after it decode with the new column. Views are not applied, and
// must not trouble the tracker.
func TestTrackerSkippedDDL(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB, "CREATE DATABASE db1", "CREATE TABLE db1.k (id INT PRIMARY KEY, v INT)")
	execAll(t, e.tgtDB, "CREATE DATABASE db1", "CREATE TABLE db1.k (w INT, id INT PRIMARY KEY, v INT)")
	create, err := tracker.ShowCreateTable(context.Background(), e.srcDB, "db1", "k")
	require.NoError(t, err)
	e.start = e.masterPos(t)
	tr := tracker.New(testLogger(t))
	require.NoError(t, tr.CreateTable("db1", "k", create))
	execAll(t, e.srcDB,
		"CREATE VIEW db1.v AS SELECT id FROM db1.k",
		"INSERT INTO db1.k VALUES (1, 1)",
		"ALTER TABLE db1.k ADD COLUMN w INT FIRST",
		"INSERT INTO db1.k VALUES (100, 2, 2)",
		"UPDATE db1.k SET v = 3 WHERE id = 1",
	)
	rl, err := rules.New([]rules.MigrateRule{{SchemaPattern: "db1", FilterRules: []string{"noalter"}}},
		map[string]rules.Filter{"noalter": {IgnoreEvents: []string{"alter table"}}}, false)
	require.NoError(t, err)
	cfg := e.config(t, 2, 10)
	cfg.Tracker = tr
	cfg.Rules = rl
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "db1.k")
	require.NoError(t, r.stop())
	def, ok := tr.Table("db1", "k")
	require.True(t, ok)
	require.Equal(t, "w", def.Columns[0].Name)
}

// TestSaveLoadTracker: an operator's change to the tracker while the subtask is paused is
// saved with the checkpoint and restored by the next Run.
func TestSaveLoadTracker(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tr := tracker.New(nil)
	require.NoError(t, tr.CreateTable("db1", "x", "CREATE TABLE x (id INT PRIMARY KEY, s VARCHAR(5))"))
	require.Error(t, SaveTracker(ctx, e.tgtDB, "", "t1", "src1", tr), "no global checkpoint yet")
	ok, err := LoadTracker(ctx, e.tgtDB, "", "t1", "src1", tracker.New(nil))
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, SaveStart(ctx, e.tgtDB, DefaultMetaSchema, "t1", "src1", e.start))
	ok, err = LoadTracker(ctx, e.tgtDB, "", "t1", "src1", tracker.New(nil))
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, SaveTracker(ctx, e.tgtDB, "", "t1", "src1", tr))
	require.NoError(t, SaveTracker(ctx, e.tgtDB, "", "t1", "src1", tr)) // same state again
	tr2 := tracker.New(nil)
	ok, err = LoadTracker(ctx, e.tgtDB, "", "t1", "src1", tr2)
	require.NoError(t, err)
	require.True(t, ok)
	def, ok := tr2.Table("db1", "x")
	require.True(t, ok)
	require.Len(t, def.Columns, 2)
	loc, found, err := LoadCheckpoint(ctx, e.tgtDB, DefaultMetaSchema, "t1", "src1")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, e.start, loc)

	// A Run restores it before decoding anything.
	cfg := e.config(t, 2, 10)
	tr3 := tracker.New(nil)
	cfg.Tracker = tr3
	s := mustNew(t, cfg)
	r := e.resume(t, s)
	require.Eventually(t, func() bool { _, ok := tr3.Table("db1", "x"); return ok }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, r.stop())
}

// TestTrackerColumnUpgrade: a checkpoint table made before tracker_state existed gets it.
func TestTrackerColumnUpgrade(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	require.NoError(t, SaveStart(ctx, e.tgtDB, "dm_meta", "t1", "src1", e.start))
	execAll(t, e.tgtDB, "ALTER TABLE dm_meta.t1_syncer_checkpoint DROP COLUMN tracker_state")
	ok, err := LoadTracker(ctx, e.tgtDB, "", "t1", "src1", tracker.New(nil))
	require.NoError(t, err)
	require.False(t, ok)
	tr := tracker.New(nil)
	require.NoError(t, tr.CreateTable("db1", "x", "CREATE TABLE x (id INT)"))
	require.NoError(t, SaveTracker(ctx, e.tgtDB, "", "t1", "src1", tr))
	ok, err = LoadTracker(ctx, e.tgtDB, "", "t1", "src1", tracker.New(nil))
	require.NoError(t, err)
	require.True(t, ok)
}
