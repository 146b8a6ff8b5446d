package syncer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/schema"
	"github.com/dm-oss/dm/binlog/tracker"
)

// Schema tracker (Config.Tracker).
//
// With a tracker, row events are decoded with the table definitions as they were at the
// event's position: the tracker follows every DDL of the stream (those applied to the target
// and those the filters skip, since the upstream changed either way), and its state is stored
// in the global checkpoint row (tracker_state), written by the same statement that moves the
// global checkpoint, so that it always describes the tables at binlog_name/binlog_pos:
//
//   - Before a DDL is applied, the global row is written at the DDL's start with the state
//     before it; after it, past the DDL with the state after it.
//   - Inside a transaction that contains a DDL (not standalone), the state written with the
//     end of the previous transaction is the one from before that DDL.
//   - At Run start the stored state is restored before any event is decoded, and DDLs that
//     start before the restored checkpoint are not executed on the tracker again.
//
// The first start (no tracker_state yet) uses the tracker as the caller hands it over: seeded
// with CreateTable from the dump or the upstream at the start position, or empty, in which
// case each table is read from the LIVE upstream (SHOW CREATE TABLE) the first time a row
// event needs it, as DM seeds its tracker from the upstream at start. A DDL the tracker cannot
// follow (Result.NeedsReread, or an Exec error) makes the sync unit re-read the tables it
// names from the live upstream, with a warning.

// stateColumns are the checkpoint table's columns added after its first version, in order.
var stateColumns = []struct{ name, def string }{
	{"tracker_state", "LONGBLOB NULL COMMENT 'global row: the schema tracker at binlog_name/binlog_pos' AFTER event_ts"},
	{"shard_state", "LONGBLOB NULL COMMENT 'global row: shard-merge groups holding tables back' AFTER tracker_state"},
	{"upstream_id", "VARCHAR(255) NOT NULL DEFAULT '' COMMENT 'the upstream server whose binlog the row position is in' AFTER shard_state"},
	{"op_binlog_name", "VARCHAR(255) NOT NULL DEFAULT '' COMMENT 'global row: the last row event an operator replaced (binlog replace)' AFTER upstream_id"},
	{"op_binlog_pos", "BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER op_binlog_name"},
}

// ensureStateColumns adds the stateColumns a checkpoint table made by an older version lacks.
// (MariaDB has ADD COLUMN IF NOT EXISTS, MySQL and TiDB do not: information_schema is asked
// first, and a concurrent add is tolerated.)
func ensureStateColumns(ctx context.Context, db execer, metaSchema, task string) error {
	rows, err := db.QueryContext(ctx, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		metaSchema, task+"_syncer_checkpoint")
	if err != nil {
		return fmt.Errorf("inspect checkpoint table %s: %w", checkpointTable(metaSchema, task), err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err = rows.Scan(&name); err != nil {
			break
		}
		have[strings.ToLower(name)] = true
	}
	if err == nil {
		err = rows.Err()
	}
	rows.Close()
	if err != nil {
		return fmt.Errorf("inspect checkpoint table %s: %w", checkpointTable(metaSchema, task), err)
	}
	for _, c := range stateColumns {
		if have[c.name] {
			continue
		}
		_, err = db.ExecContext(ctx, "ALTER TABLE "+checkpointTable(metaSchema, task)+" ADD COLUMN "+c.name+" "+c.def)
		if err != nil && mysqlCode(err) != 1060 { // duplicate column: added concurrently
			return fmt.Errorf("add %s to checkpoint table %s: %w", c.name, checkpointTable(metaSchema, task), err)
		}
	}
	return nil
}

// loadStateColumn reads a state column (tracker_state, shard_state) of the global row; found
// is false when there is no table, no global row or no state in it.
func loadStateColumn(ctx context.Context, db execer, metaSchema, task, source, column string) (state []byte, found bool, err error) {
	rows, err := db.QueryContext(ctx, "SELECT "+column+" FROM "+checkpointTable(metaSchema, task)+
		" WHERE task_name = ? AND source_name = ? AND worker_id = ?", task, source, globalWorkerID)
	if err != nil {
		switch mysqlCode(err) {
		case 1146, 1049, 1054: // no table, no schema, no column (older table)
			return nil, false, nil
		}
		return nil, false, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&state); err != nil {
			return nil, false, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return state, state != nil, nil
}

// loadTrackerState reads the tracker state of the global row.
func loadTrackerState(ctx context.Context, db execer, metaSchema, task, source string) ([]byte, bool, error) {
	return loadStateColumn(ctx, db, metaSchema, task, source, "tracker_state")
}

// Tracker returns Config.Tracker (nil without one).
func (s *Syncer) Tracker() *tracker.Tracker { return s.cfg.Tracker }

// SaveTracker stores tr's state in the global checkpoint row of (task, source), for instance
// after an operator changed a table definition while the subtask is paused. The sync unit must
// not be running. The global row must exist (the sync unit has run, or SaveStart was called):
// the state describes the tables at that row's position.
func SaveTracker(ctx context.Context, target *sql.DB, metaSchema, task, source string, tr *tracker.Tracker) error {
	if tr == nil {
		return errors.New("syncer: SaveTracker: no tracker")
	}
	if metaSchema == "" {
		metaSchema = DefaultMetaSchema
	}
	if err := ensureCheckpointTable(ctx, target, metaSchema, task); err != nil {
		return err
	}
	state, err := tr.Snapshot()
	if err != nil {
		return fmt.Errorf("snapshot of the schema tracker: %w", err)
	}
	res, err := target.ExecContext(ctx, "UPDATE "+checkpointTable(metaSchema, task)+
		" SET tracker_state = ? WHERE task_name = ? AND source_name = ? AND worker_id = ?",
		state, task, source, globalWorkerID)
	if err != nil {
		return fmt.Errorf("save schema tracker of task %q source %q: %w", task, source, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		// Either no row, or the same state (MySQL counts changed rows only): tell them apart.
		var one int
		err := target.QueryRowContext(ctx, "SELECT 1 FROM "+checkpointTable(metaSchema, task)+
			" WHERE task_name = ? AND source_name = ? AND worker_id = ?", task, source, globalWorkerID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("save schema tracker of task %q source %q: there is no global checkpoint yet", task, source)
		}
		if err != nil {
			return fmt.Errorf("save schema tracker of task %q source %q: %w", task, source, err)
		}
	}
	return nil
}

// LoadTracker restores tr from the global checkpoint row of (task, source). It returns false,
// leaving tr as it is, when there is no stored state (no checkpoint, or one written without a
// tracker).
func LoadTracker(ctx context.Context, target *sql.DB, metaSchema, task, source string, tr *tracker.Tracker) (bool, error) {
	if tr == nil {
		return false, errors.New("syncer: LoadTracker: no tracker")
	}
	if metaSchema == "" {
		metaSchema = DefaultMetaSchema
	}
	state, found, err := loadTrackerState(ctx, target, metaSchema, task, source)
	if err != nil {
		return false, fmt.Errorf("load schema tracker of task %q source %q: %w", task, source, err)
	}
	if !found {
		return false, nil
	}
	if err := tr.Restore(state); err != nil {
		return false, fmt.Errorf("restore schema tracker of task %q source %q: %w", task, source, err)
	}
	return true, nil
}

// trackerSnapshot is the tracker state that goes with a global checkpoint written now: the
// state before the open transaction's DDL when there is one (the checkpoint is then the end
// of the previous transaction), else the current state. nil without a tracker. The state is
// serialised again only after something may have changed it (a statement executed on it, or a
// table definition built, which may read a table from the upstream): changes made through
// Syncer.Tracker() while Run runs are stored with the next ones.
func (r *run) trackerSnapshot() ([]byte, error) {
	tr := r.s.cfg.Tracker
	if tr == nil {
		return nil, nil
	}
	if r.txn != nil && r.txnSnap != nil {
		return r.txnSnap, nil
	}
	if r.snapCache != nil && !r.trackerDirty {
		return r.snapCache, nil
	}
	snap, err := tr.Snapshot()
	if err != nil {
		return nil, err
	}
	r.snapCache, r.trackerDirty = snap, false
	return snap, nil
}

// restoreTracker restores the tracker from the global row (at setup, before any event is
// decoded). at is the location the state describes.
func (r *run) restoreTracker(ctx context.Context, at binlog.Location) error {
	s := r.s
	tr := s.cfg.Tracker
	if tr == nil {
		return nil
	}
	r.trackerAt = at
	state, found, err := loadTrackerState(ctx, r.control.conn, s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source)
	if err != nil {
		return fmt.Errorf("load schema tracker: %w", err)
	}
	if !found {
		s.log.Info("no stored schema tracker state: using the tracker as given; tables it does not know are read from the live upstream when first needed",
			"tracked_schemas", len(tr.Schemas()), "at", at.String())
		return nil
	}
	if err := tr.Restore(state); err != nil {
		return fmt.Errorf("restore schema tracker: %w", err)
	}
	s.log.Info("restored the schema tracker from the checkpoint", "at", at.String(), "bytes", len(state))
	return nil
}

// trackDDL applies one upstream statement (a QUERY event that is not transaction control) to
// the tracker, whether or not the sync unit applies it to the target. Tables the tracker
// could not follow are re-read from the live upstream; the statement's tables are re-read
// when it could not be applied at all.
func (r *run) trackDDL(txn *txnInfo, st *ddl.Statement) error {
	s := r.s
	tr := s.cfg.Tracker
	if tr == nil {
		return nil
	}
	if !r.trackerAt.IsZero() {
		c, err := r.txnOrder(txn, r.trackerAt)
		if err != nil {
			return err
		}
		if c < 0 {
			// Before the restored checkpoint: already in the tracker's state.
			return nil
		}
	}
	if r.txnSnap == nil {
		snap, err := tr.Snapshot()
		if err != nil {
			return fmt.Errorf("snapshot of the schema tracker: %w", err)
		}
		r.txnSnap = snap
	}
	r.trackerDirty = true
	res, err := tr.ExecStatement(st)
	reread := res.NeedsReread
	if err != nil {
		var named []tracker.TableRef
		for _, n := range append(append([]ddl.TableName{}, st.Tables...), st.Others...) {
			if n.Schema != "" && n.Table != "" {
				named = append(named, tracker.TableRef{Schema: n.Schema, Table: n.Table})
			}
		}
		s.log.Warn("the schema tracker could not apply a statement; re-reading the tables it names from the live upstream",
			"query", truncate(st.Text, 300), "schema", st.Schema, "error", err, "tables", len(named), "position", txn.start.String())
		reread = append(reread, named...)
	} else if res.Normalized {
		s.log.Debug("schema tracker: MariaDB syntax rewritten for the parser", "query", truncate(st.Text, 200))
	}
	for _, ref := range reread {
		if err := r.rereadTable(ref); err != nil {
			return err
		}
	}
	return nil
}

// rereadTable replaces the tracker's definition of one table by the live upstream's.
func (r *run) rereadTable(ref tracker.TableRef) error {
	s := r.s
	tr := s.cfg.Tracker
	up := s.cfg.Upstream
	if up == nil {
		return fmt.Errorf("schema tracker: %s must be re-read from the upstream, but there is no upstream connection", ref)
	}
	create, err := tracker.ShowCreateTable(r.ctx, up, ref.Schema, ref.Table)
	found := !errors.Is(err, schema.ErrTableNotFound)
	if err != nil && found {
		return fmt.Errorf("schema tracker: re-read %s from the upstream: %w", ref, err)
	}
	tr.DropTable(ref.Schema, ref.Table)
	if !found {
		s.log.Warn("schema tracker: table to re-read is not in the upstream any more; forgotten", "table", ref.String())
		return nil
	}
	if err := tr.CreateTable(ref.Schema, ref.Table, create); err != nil {
		// Forgotten: the next row event reads it lazily from the upstream again.
		s.log.Warn("schema tracker: cannot track the upstream's definition; forgotten", "table", ref.String(), "error", err)
		return nil
	}
	s.log.Warn("schema tracker: re-read the table from the live upstream", "table", ref.String())
	return nil
}
