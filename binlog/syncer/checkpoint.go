package syncer

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dm-oss/dm/internal/backoff"

	"github.com/dm-oss/dm/binlog/upstream"

	"github.com/dm-oss/dm/binlog"
)

// globalWorkerID is the worker_id of the global checkpoint row.
const globalWorkerID = -1

// checkpointTable is `<meta>`.`<task>_syncer_checkpoint`.
func checkpointTable(metaSchema, task string) string {
	return upstream.QuoteName(metaSchema) + "." + upstream.QuoteName(task+"_syncer_checkpoint")
}

// checkpointColumns are the columns of the checkpoint table, none of them a reserved word in
// MySQL, MariaDB or TiDB.
var checkpointColumns = []string{
	"task_name", "source_name", "worker_id", "binlog_name", "binlog_pos", "binlog_gtid",
	"txn_rows", "worker_count", "safe_binlog_name", "safe_binlog_pos", "ddl_binlog_name",
	"ddl_binlog_pos", "event_ts", "tracker_state", "shard_state", "upstream_id", "op_binlog_name", "op_binlog_pos", "updated_at",
}

func createCheckpointSQL(metaSchema, task string) []string {
	return []string{
		"CREATE DATABASE IF NOT EXISTS " + upstream.QuoteName(metaSchema),
		"CREATE TABLE IF NOT EXISTS " + checkpointTable(metaSchema, task) + ` (
  task_name VARCHAR(128) NOT NULL,
  source_name VARCHAR(128) NOT NULL,
  worker_id INT NOT NULL COMMENT '-1: the global checkpoint; else a replay worker',
  binlog_name VARCHAR(255) NOT NULL,
  binlog_pos BIGINT UNSIGNED NOT NULL,
  binlog_gtid TEXT,
  txn_rows BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'rows of the transaction at binlog_pos already committed by this worker',
  worker_count INT NOT NULL DEFAULT 0,
  safe_binlog_name VARCHAR(255) NOT NULL DEFAULT '' COMMENT 'safe mode until this position',
  safe_binlog_pos BIGINT UNSIGNED NOT NULL DEFAULT 0,
  ddl_binlog_name VARCHAR(255) NOT NULL DEFAULT '' COMMENT 'end of a DDL that may have been applied already',
  ddl_binlog_pos BIGINT UNSIGNED NOT NULL DEFAULT 0,
  event_ts BIGINT NOT NULL DEFAULT 0 COMMENT 'upstream timestamp of the last event covered',
  tracker_state LONGBLOB NULL COMMENT 'global row: the schema tracker at binlog_name/binlog_pos',
  shard_state LONGBLOB NULL COMMENT 'global row: shard-merge groups holding tables back',
  upstream_id VARCHAR(255) NOT NULL DEFAULT '' COMMENT 'the upstream server whose binlog the row position is in',
  op_binlog_name VARCHAR(255) NOT NULL DEFAULT '' COMMENT 'global row: the last row event an operator replaced (binlog replace)',
  op_binlog_pos BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (task_name, source_name, worker_id)
)`,
	}
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func ensureCheckpointTable(ctx context.Context, db execer, metaSchema, task string) error {
	for _, q := range createCheckpointSQL(metaSchema, task) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create checkpoint table %s: %w", checkpointTable(metaSchema, task), err)
		}
	}
	return ensureStateColumns(ctx, db, metaSchema, task)
}

// cpRow is one row of the checkpoint table.
type cpRow struct {
	workerID    int
	loc         binlog.Location
	rows        uint64
	workerCount int
	safe        binlog.Location // global row only
	ddl         binlog.Location // global row only
	eventTS     int64
	// trackerState (global row only, optional): the schema tracker's state at loc; nil leaves
	// the stored one as it is.
	trackerState []byte
	// shardState (global row only, optional): the shard-merge state; nil leaves it as it is.
	shardState []byte
	// upstream is Config.UpstreamID of the run that wrote the row: the server whose binlog loc
	// is a position in ("" in rows of older versions, or when the caller gives no identity).
	upstream string
}

// cpState is every row of one (task, source).
type cpState struct {
	global  *cpRow
	workers map[int]cpRow
}

// loadState reads the rows of (task, source). With lock, the read is a locking read: it waits
// for a transaction still committing on a connection the previous run lost (its progress rows
// are locked until then) and sees the latest committed rows, not a snapshot.
func loadState(ctx context.Context, db execer, metaSchema, task, source string, lock bool) (cpState, error) {
	st := cpState{workers: map[int]cpRow{}}
	forUpdate := ""
	if lock {
		forUpdate = " FOR UPDATE"
	}
	query := func(upstreamCol string) (*sql.Rows, error) {
		return db.QueryContext(ctx, "SELECT worker_id, binlog_name, binlog_pos, COALESCE(binlog_gtid, ''), txn_rows, worker_count, "+
			"safe_binlog_name, safe_binlog_pos, ddl_binlog_name, ddl_binlog_pos, event_ts, "+upstreamCol+" FROM "+
			checkpointTable(metaSchema, task)+" WHERE task_name = ? AND source_name = ?"+forUpdate, task, source)
	}
	rows, err := query("upstream_id")
	if mysqlCode(err) == 1054 {
		// A table of an older version, read before Run adds the column (ResumeLocation).
		rows, err = query("''")
	}
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var r cpRow
		var pos, safePos, ddlPos uint64
		if err := rows.Scan(&r.workerID, &r.loc.File, &pos, &r.loc.GTIDSet, &r.rows, &r.workerCount,
			&r.safe.File, &safePos, &r.ddl.File, &ddlPos, &r.eventTS, &r.upstream); err != nil {
			return st, err
		}
		r.loc.Pos, r.safe.Pos, r.ddl.Pos = uint32(pos), uint32(safePos), uint32(ddlPos)
		if r.workerID == globalWorkerID {
			g := r
			st.global = &g
		} else {
			st.workers[r.workerID] = r
		}
	}
	return st, rows.Err()
}

func (st cpState) found() bool { return st.global != nil || len(st.workers) > 0 }

// oldWorkerCount is the worker count the rows were written with, or -1 when they disagree.
func (st cpState) oldWorkerCount() int {
	n := 0
	for _, r := range st.workers {
		if n == 0 {
			n = r.workerCount
		}
		if r.workerCount != n || r.workerID >= n {
			return -1
		}
	}
	return n
}

// resume is the lowest location every worker has fully committed (each worker's progress
// raised to the global checkpoint): all transactions that start before it are applied. The
// reader must start there.
func (st cpState) resume() binlog.Location { return st.resumeBy(compareLoc) }

// resumeBy is resume with the rows ordered by cmp.
func (st cpState) resumeBy(cmp func(a, b binlog.Location) int) binlog.Location {
	var g binlog.Location
	if st.global != nil {
		g = st.global.loc
	}
	n := st.oldWorkerCount()
	if n <= 0 {
		if n < 0 {
			// Inconsistent rows: the lowest of all of them, global included.
			low := g
			first := st.global == nil
			for _, r := range st.workers {
				if first || cmp(r.loc, low) < 0 {
					low, first = r.loc, false
				}
			}
			return low
		}
		return g
	}
	var low binlog.Location
	for w := 0; w < n; w++ {
		eff := g
		if r, ok := st.workers[w]; ok && cmp(r.loc, g) > 0 {
			eff = r.loc
		}
		if w == 0 || cmp(eff, low) < 0 {
			low = eff
		}
	}
	return low
}

// LoadCheckpoint returns where the sync unit of (task, source) must resume: the reader must be
// opened there. found is false when there is no checkpoint (nor its table).
func LoadCheckpoint(ctx context.Context, target *sql.DB, metaSchema, task, source string) (start binlog.Location, found bool, err error) {
	st, err := loadState(ctx, target, metaSchema, task, source, false)
	if err != nil {
		if mysqlCode(err) == 1146 || mysqlCode(err) == 1049 { // no table / no schema
			return binlog.Location{}, false, nil
		}
		return binlog.Location{}, false, fmt.Errorf("load checkpoint of task %q source %q: %w", task, source, err)
	}
	if !st.found() {
		return binlog.Location{}, false, nil
	}
	return st.resume(), true, nil
}

// SaveStart seeds the checkpoint of (task, source) with the position replication starts from
// (the dump's consistent position when the task moves from Load to Sync), replacing whatever
// was there. An empty metaSchema is DefaultMetaSchema.
func SaveStart(ctx context.Context, target *sql.DB, metaSchema, task, source string, loc binlog.Location) error {
	if metaSchema == "" {
		metaSchema = DefaultMetaSchema
	}
	if err := ensureCheckpointTable(ctx, target, metaSchema, task); err != nil {
		return err
	}
	// The sources of one task start together and share the table: their DELETE/INSERT pairs
	// can deadlock on InnoDB's gap locks. The loser rolls back; run it again.
	for attempt := 1; ; attempt++ {
		err := saveStartOnce(ctx, target, metaSchema, task, source, loc)
		if err == nil || !binlog.IsTransient(err) || attempt == 5 || ctx.Err() != nil {
			return err
		}
		if err := backoff.Sleep(ctx, time.Duration(attempt)*50*time.Millisecond); err != nil {
			return err
		}
	}
}

func saveStartOnce(ctx context.Context, target *sql.DB, metaSchema, task, source string, loc binlog.Location) error {
	conn, err := target.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM "+checkpointTable(metaSchema, task)+" WHERE task_name = ? AND source_name = ?", task, source); err != nil {
		conn.ExecContext(ctx, "ROLLBACK")
		return fmt.Errorf("save start of task %q source %q: %w", task, source, err)
	}
	q := globalRowSQL(metaSchema, task, source, cpRow{workerID: globalWorkerID, loc: loc})
	if _, err := conn.ExecContext(ctx, q); err != nil {
		conn.ExecContext(ctx, "ROLLBACK")
		return fmt.Errorf("save start of task %q source %q: %w", task, source, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("save start of task %q source %q: %w", task, source, err)
	}
	return nil
}

// DropCheckpoint removes the checkpoint table of the task (every source's rows) and its owner
// fence.
func DropCheckpoint(ctx context.Context, target *sql.DB, metaSchema, task string) error {
	for _, table := range []string{checkpointTable(metaSchema, task), ownerTable(metaSchema, task)} {
		if _, err := target.ExecContext(ctx, "DROP TABLE IF EXISTS "+table); err != nil {
			if mysqlCode(err) == 1049 {
				return nil
			}
			return fmt.Errorf("drop checkpoint of task %q: %w", task, err)
		}
	}
	return nil
}

var text = colInfo{kind: kText, charset: "utf8mb4"}

// upsertSQL writes one checkpoint row. Values are literals, the statement is small.
func upsertSQL(metaSchema, task, source string, r cpRow) string {
	lit := func(s string) string { return string(text.appendLiteral(nil, s)) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	cols := []string{"binlog_name", "binlog_pos", "binlog_gtid", "txn_rows", "worker_count", "safe_binlog_name",
		"safe_binlog_pos", "ddl_binlog_name", "ddl_binlog_pos", "event_ts", "updated_at"}
	vals := []string{lit(r.loc.File), u(uint64(r.loc.Pos)), lit(r.loc.GTIDSet), u(r.rows), strconv.Itoa(r.workerCount),
		lit(r.safe.File), u(uint64(r.safe.Pos)), lit(r.ddl.File), u(uint64(r.ddl.Pos)),
		strconv.FormatInt(r.eventTS, 10), "CURRENT_TIMESTAMP(3)"}
	cols = append(cols, "upstream_id")
	vals = append(vals, lit(r.upstream))
	if r.trackerState != nil {
		cols = append(cols, "tracker_state")
		vals = append(vals, "X'"+hex.EncodeToString(r.trackerState)+"'")
	}
	if r.shardState != nil {
		cols = append(cols, "shard_state")
		vals = append(vals, "X'"+hex.EncodeToString(r.shardState)+"'")
	}
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(checkpointTable(metaSchema, task))
	b.WriteString(" (task_name, source_name, worker_id, ")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") VALUES (")
	b.WriteString(lit(task) + "," + lit(source) + "," + strconv.Itoa(r.workerID) + ",")
	b.WriteString(strings.Join(vals, ","))
	// Repeat the literals rather than VALUES(), which MySQL 8 deprecates and MariaDB renamed.
	b.WriteString(") ON DUPLICATE KEY UPDATE ")
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c + "=" + vals[i])
	}
	return b.String()
}

func globalRowSQL(metaSchema, task, source string, r cpRow) string {
	r.workerID = globalWorkerID
	return upsertSQL(metaSchema, task, source, r)
}

// readWorkerProgress reads one worker's row (zero progress when there is none), with a
// locking read that waits for a commit still in flight on a lost connection.
func readWorkerProgress(ctx context.Context, db execer, metaSchema, task, source string, worker int) (progress, error) {
	rows, err := db.QueryContext(ctx, "SELECT binlog_name, binlog_pos, txn_rows FROM "+checkpointTable(metaSchema, task)+
		" WHERE task_name = ? AND source_name = ? AND worker_id = ? FOR UPDATE", task, source, worker)
	if err != nil {
		return progress{}, err
	}
	defer rows.Close()
	var p progress
	if rows.Next() {
		var pos uint64
		if err := rows.Scan(&p.Loc.File, &pos, &p.Rows); err != nil {
			return progress{}, err
		}
		p.Loc.Pos = uint32(pos)
	}
	return p, rows.Err()
}
