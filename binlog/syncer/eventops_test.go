package syncer

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog"
)

// opBook is an EventOps kept in memory, as the worker keeps the masters' operations.
type opBook struct {
	mu     sync.Mutex
	ops    map[string]EventOp
	passed []binlog.Location
	seen   []string // the events asked about that have an operation, in order
}

func newOpBook() *opBook { return &opBook{ops: map[string]EventOp{}} }

func opKey(file string, pos uint32) string { return fmt.Sprintf("%s:%d", file, pos) }

func (b *opBook) At(file string, pos uint32) (EventOp, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	op, ok := b.ops[opKey(file, pos)]
	if ok {
		b.seen = append(b.seen, opKey(file, pos))
	}
	return op, ok
}

func (b *opBook) Passed(loc binlog.Location) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.passed = append(b.passed, loc)
}

func (b *opBook) put(at binlog.Location, op EventOp) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ops[opKey(at.File, at.Pos)] = op
}

// passedBeyond reports whether a flushed checkpoint was reported past the event at.
func (b *opBook) passedBeyond(at binlog.Location) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, loc := range b.passed {
		if compareLoc(loc, at) > 0 {
			return true
		}
	}
	return false
}

// stopsWith waits for the run to stop on its own and returns its event error.
func stopsWith(t *testing.T, r *running, timeout time.Duration) *EventError {
	t.Helper()
	var err error
	select {
	case err = <-r.done:
		r.done <- err
	case <-time.After(timeout):
		t.Fatalf("the sync unit did not stop within %v", timeout)
	}
	var ee *EventError
	require.ErrorAs(t, err, &ee, "%v", err)
	return ee
}

// binlogEvent returns the type and the info of the event SHOW BINLOG EVENTS lists at pos.
func binlogEvent(t *testing.T, db *sql.DB, at binlog.Location) (string, string) {
	t.Helper()
	rows, err := db.Query(fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %d LIMIT 1", at.File, at.Pos))
	require.NoError(t, err)
	defer rows.Close()
	require.True(t, rows.Next(), "no event at %s:%d", at.File, at.Pos)
	var file, typ, info string
	var pos, server, end int64
	require.NoError(t, rows.Scan(&file, &pos, &typ, &server, &end, &info))
	require.Equal(t, int64(at.Pos), pos)
	return typ, info
}

// TestEventOpsOnDDL: DDLs the target rejects stop the sync unit with an EventError naming the
// event (as SHOW BINLOG EVENTS lists it), its GTID and the statement; an operation there
// replaces one with another statement and skips the other, and the data ends equal.
func TestEventOpsOnDDL(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB,
		"CREATE DATABASE db",
		"CREATE TABLE db.t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO db.t VALUES (1, 1), (2, 2)",
	)
	book := newOpBook()
	cfg := e.config(t, 4, 10)
	cfg.EventOps = book
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)

	// The target got a column of its own, under the name the upstream adds next.
	execAll(t, e.tgtDB, "ALTER TABLE db.t ADD COLUMN c VARCHAR(5)")
	execAll(t, e.srcDB, "ALTER TABLE db.t ADD COLUMN c INT", "INSERT INTO db.t VALUES (3, 3, 300)")
	ee := stopsWith(t, r, 30*time.Second)
	typ, info := binlogEvent(t, e.srcDB, ee.Event)
	require.Equal(t, "Query", typ)
	require.Contains(t, info, "ADD COLUMN c INT")
	require.Contains(t, ee.Statement, "ADD COLUMN")
	require.Regexp(t, `^0-\d+-\d+$`, ee.GTID)
	require.Contains(t, ee.Error(), "binlog event at "+ee.Position()+" (GTID "+ee.GTID+")")
	require.Contains(t, ee.Error(), "Duplicate column")

	// Resumed without an operation, it stops there again: the target refused the DDL, so its
	// "duplicate column" is no sign that the DDL ran before a stop.
	r = e.resume(t, mustNew(t, cfg))
	again := stopsWith(t, r, 30*time.Second)
	require.Equal(t, ee.Event, again.Event)
	require.Contains(t, again.Error(), "Duplicate column")

	book.put(ee.Event, EventOp{Replace: []string{"ALTER TABLE db.t MODIFY COLUMN c INT"}})
	s = mustNew(t, cfg)
	r = e.resume(t, s)
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "db.t")
	require.True(t, book.passedBeyond(ee.Event), "the checkpoint passed the replaced DDL: %v", book.passed)

	// A unique key the target's own duplicates refuse: skipped.
	execAll(t, e.tgtDB, "INSERT INTO db.t VALUES (100, 1, NULL)")
	execAll(t, e.srcDB, "ALTER TABLE db.t ADD UNIQUE KEY uv (v)", "INSERT INTO db.t VALUES (4, 4, 400)")
	ee2 := stopsWith(t, r, 30*time.Second)
	require.Contains(t, ee2.Statement, "UNIQUE")
	require.Contains(t, ee2.Error(), "Duplicate entry")
	book.put(ee2.Event, EventOp{})
	s = mustNew(t, cfg)
	r = e.resume(t, s)
	e.waitSynced(t, s, r, 30*time.Second)
	execAll(t, e.tgtDB, "DELETE FROM db.t WHERE id = 100")
	e.sameData(t, "db.t")
	var keys int
	require.NoError(t, e.tgtDB.QueryRow("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'db' AND TABLE_NAME = 't' AND INDEX_NAME = 'uv'").Scan(&keys))
	require.Zero(t, keys, "the skipped DDL did not run")
	require.True(t, book.passedBeyond(ee2.Event))
	require.NoError(t, r.stop())
}

// TestEventOpsSkipRows: a duplicate key caused by a target-only row stops the sync unit with the
// ROWS event that has it, in a transaction whose other events the other replay workers may have
// applied; skipping that event applies the rest of the transaction exactly once (no safe mode:
// a replayed insert would fail, a lost one would show).
func TestEventOpsSkipRows(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB, "CREATE DATABASE db", "CREATE TABLE db.t (id INT PRIMARY KEY, v VARCHAR(20))")
	book := newOpBook()
	cfg := e.config(t, 4, 3)
	cfg.EventOps = book
	s := mustNew(t, cfg)
	s.noAutoSafe = true
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)

	// The target has row 25 already, as the upstream will write it.
	execAll(t, e.tgtDB, "INSERT INTO db.t VALUES (25, 'v25')")
	var stmts []string
	for i := 0; i < 5; i++ {
		var vals []string
		for id := i*10 + 1; id <= i*10+10; id++ {
			vals = append(vals, fmt.Sprintf("(%d, 'v%d')", id, id))
		}
		stmts = append(stmts, "INSERT INTO db.t VALUES "+strings.Join(vals, ","))
	}
	execAll(t, e.srcDB, append(append([]string{"BEGIN"}, stmts...), "COMMIT")...)
	ee := stopsWith(t, r, 30*time.Second)
	typ, _ := binlogEvent(t, e.srcDB, ee.Event)
	require.Contains(t, typ, "Write_rows")
	require.Contains(t, ee.Statement, "INSERT INTO `db`.`t`")
	require.Contains(t, ee.Error(), "Duplicate entry")
	require.NotEmpty(t, ee.GTID)

	// The event is the third INSERT (ids 21..30): the rows after the failed one, and those
	// of the event that went to other workers, are skipped with it.
	book.put(ee.Event, EventOp{})
	s = mustNew(t, cfg)
	s.noAutoSafe = true
	r = e.resume(t, s)
	e.waitSynced(t, s, r, 30*time.Second)
	var n int
	require.NoError(t, e.tgtDB.QueryRow("SELECT COUNT(*) FROM db.t WHERE id NOT BETWEEN 21 AND 30").Scan(&n))
	require.Equal(t, 40, n, "every other event of the transaction applied")
	require.NoError(t, e.srcDB.QueryRow("SELECT COUNT(*) FROM db.t").Scan(&n))
	require.Equal(t, 50, n)
	// Make the tables equal the way an operator would, then check every value.
	execAll(t, e.tgtDB, "REPLACE INTO db.t SELECT seq, CONCAT('v', seq) FROM db.seq_21_to_30")
	e.sameData(t, "db.t")
	require.True(t, book.passedBeyond(ee.Event))

	// Later changes still flow.
	execAll(t, e.srcDB, "UPDATE db.t SET v = 'x' WHERE id % 7 = 0", "DELETE FROM db.t WHERE id > 45")
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "db.t")
	require.NoError(t, r.stop())
}

// TestEventOpsReplaceRowsOnce: a replace of a ROWS event runs its statements once, also when
// the sync unit meets the event again because it stopped before its checkpoint was past it.
func TestEventOpsReplaceRowsOnce(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB, "CREATE DATABASE db", "CREATE TABLE db.t (id INT PRIMARY KEY, v INT)")
	book := newOpBook()
	cfg := e.config(t, 2, 10)
	cfg.EventOps = book
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)
	execAll(t, e.tgtDB, "CREATE TABLE db.hits (n INT NOT NULL)", "INSERT INTO db.hits VALUES (0)", "INSERT INTO db.t VALUES (7, 70)")

	txnStart := e.masterPos(t)
	execAll(t, e.srcDB, "INSERT INTO db.t VALUES (7, 70)")
	ee := stopsWith(t, r, 30*time.Second)
	book.put(ee.Event, EventOp{Replace: []string{"UPDATE db.t SET v = 70 WHERE id = 7", "UPDATE db.hits SET n = n + 1"}})
	s = mustNew(t, cfg)
	r = e.resume(t, s)
	e.waitSynced(t, s, r, 30*time.Second)
	require.NoError(t, r.stop())
	require.Equal(t, 1, hits(t, e.tgtDB))

	// As if the sync unit had stopped right after the replace, before any checkpoint moved:
	// every checkpoint row back at the transaction's start. It meets the event again.
	execAll(t, e.tgtDB, fmt.Sprintf("UPDATE dm_meta.t1_syncer_checkpoint SET binlog_name = '%s', binlog_pos = %d, txn_rows = 0",
		txnStart.File, txnStart.Pos))
	seen := len(book.seen)
	s = mustNew(t, cfg)
	r = e.resume(t, s)
	e.waitSynced(t, s, r, 30*time.Second)
	require.NoError(t, r.stop())
	book.mu.Lock()
	require.Greater(t, len(book.seen), seen, "the event was met again")
	book.mu.Unlock()
	require.Equal(t, 1, hits(t, e.tgtDB), "the replace ran once")
	e.sameData(t, "db.t")

	// A replace the target rejects stops the unit at the same event, naming the statement.
	execAll(t, e.tgtDB, "INSERT INTO db.t VALUES (8, 80)")
	r = e.resume(t, mustNew(t, cfg))
	execAll(t, e.srcDB, "INSERT INTO db.t VALUES (8, 80)")
	ee = stopsWith(t, r, 30*time.Second)
	book.put(ee.Event, EventOp{Replace: []string{"INSERT INTO db.t VALUES (8, 80)"}})
	s = mustNew(t, cfg)
	r = e.resume(t, s)
	again := stopsWith(t, r, 30*time.Second)
	require.Equal(t, ee.Event, again.Event)
	require.Equal(t, "INSERT INTO db.t VALUES (8, 80)", again.Statement)
	var se *StatementError
	require.True(t, errors.As(again, &se))
}

func hits(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT n FROM db.hits").Scan(&n))
	return n
}
