package syncer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
)

// Operations on single binlog events (Config.EventOps): DM's `binlog skip` and `binlog replace`.
//
// An operation names an event by where it starts (its binlog file and position, as SHOW BINLOG
// EVENTS and an EventError show it): a QUERY event (a DDL) or a ROWS event. When the event loop
// reaches it, a skip applies nothing of the event, a replace runs the operation's statements
// instead. The operation stays with the caller until Passed reports a flushed checkpoint past
// the event; until then a restart meets it again, and its effect is idempotent by position:
//
//   - A skip runs nothing. The row changes of a skipped ROWS event keep their numbers among
//     their transaction's jobs (they are counted, not sent), so the exact resume of the rest of
//     the transaction is unchanged. The rows of the event that other replay workers committed
//     before the sync unit stopped stay applied; the rest are skipped.
//   - A replace of a ROWS event runs its statements on the control connection after a barrier,
//     in one target transaction with a mark in the global checkpoint row (op_binlog_name/pos):
//     a mark at or past the event means the statements ran, and they are not run again.
//   - A replace of a QUERY event runs its statements the way a DDL is run: the global row at
//     the event's start marked "DDL in flight", the statements, the global row past it; a
//     re-run after an unclean stop tolerates "already exists"/"doesn't exist" errors.

// EventOp is the operation on one event: a skip, or statements to run instead of the event's.
type EventOp struct {
	// Replace are the statements run in the target instead of the event's, in order; empty
	// means skip.
	Replace []string
}

// EventOps supplies the operations on events. The sync unit calls it from its event loop: its
// methods must be quick and must not block.
type EventOps interface {
	// At returns the operation on the event that starts at pos in file, if there is one.
	At(file string, pos uint32) (EventOp, bool)
	// Passed reports that the global checkpoint is flushed at loc: every event before loc is
	// applied in the target, or skipped, so the operations on those events are done.
	Passed(loc binlog.Location)
}

// EventError stops Run when the target rejects the statements of one binlog event, or the sync
// unit cannot decode or render it: Event says where the event starts, so that an operation
// there can skip it or run other statements instead.
type EventError struct {
	// Event is the event's binlog file and start position; its GTIDSet is the set before the
	// event's transaction.
	Event binlog.Location
	// GTID is the GTID of the event's transaction ("" when the upstream logs none).
	GTID string
	// Statement is the statement the target rejected, or the event's query when there is no
	// such statement (truncated).
	Statement string
	Err       error
}

// Position is the event's position as DM's --binlog-pos writes it: "mysql-bin.000001:4321".
func (e *EventError) Position() string {
	return e.Event.File + ":" + strconv.FormatUint(uint64(e.Event.Pos), 10)
}

func (e *EventError) Error() string {
	gtid := ""
	if e.GTID != "" {
		gtid = " (GTID " + e.GTID + ")"
	}
	return fmt.Sprintf("binlog event at %s%s: %v", e.Position(), gtid, e.Err)
}

func (e *EventError) Unwrap() error { return e.Err }

// StatementError is a statement the target rejected.
type StatementError struct {
	Statement string
	Err       error
	// firstTry: the target rejected the statement the first time it was sent (no lost
	// connection may have run it before).
	firstTry bool
}

func (e *StatementError) Error() string { return truncate(e.Statement, 300) + ": " + e.Err.Error() }

func (e *StatementError) Unwrap() error { return e.Err }

// opAt returns the operation on the event starting at pos of the current file, unless the
// event's transaction is applied already.
func (r *run) opAt(txn *txnInfo, pos uint32) (EventOp, bool) {
	if r.s.cfg.EventOps == nil || txn.skip == skipAll || r.file == "" {
		return EventOp{}, false
	}
	return r.s.cfg.EventOps.At(r.file, pos)
}

// eventError names the event starting at pos of txn in err, the failure to apply that event,
// unless err is not the event's doing: the run stopping, a target that stayed away, or an
// event error already (a replay worker's).
func (r *run) eventError(txn *txnInfo, pos uint32, query string, err error) error {
	var ee *EventError
	if err == nil || errors.Is(err, errStopped) || errors.Is(err, context.Canceled) || binlog.IsTransient(err) || errors.As(err, &ee) {
		return err
	}
	stmt := query
	var se *StatementError
	if errors.As(err, &se) {
		stmt = se.Statement
	}
	return &EventError{
		Event: binlog.Location{File: txn.start.File, Pos: pos, GTIDSet: txn.start.GTIDSet},
		GTID:  txn.eventGTID, Statement: truncate(stmt, 1000), Err: err,
	}
}

// ddlEventOp carries out an operation on a QUERY event: nothing for a skip, the operation's
// statements as the DDL for a replace.
func (r *run) ddlEventOp(h *replication.EventHeader, txn *txnInfo, defSchema string, pos uint32, op EventOp) error {
	loc := r.at(pos)
	if len(op.Replace) == 0 {
		r.s.log.Info("binlog operation: DDL event skipped", "position", loc.String())
		if txn.standalone {
			r.endTxn(h)
		}
		return nil
	}
	r.s.log.Info("binlog operation: DDL event replaced", "position", loc.String(), "statements", len(op.Replace))
	return r.applyDDL(h, txn, ddlStep{defSchema: defSchema, stmts: op.Replace})
}

// replaceRows runs the statements of a replace of the ROWS event starting at pos: after every
// row change before it is committed, in one target transaction with the mark that says so.
func (r *run) replaceRows(pos uint32, stmts []string) error {
	if err := r.barrier(); err != nil {
		return err
	}
	at := binlog.Location{File: r.file, Pos: pos}
	s := r.s
	applied := false
	err := r.control.do(r.ctx, "binlog replace", func(c *sql.Conn) error {
		var err error
		applied, err = replaceOnce(r.ctx, c, s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source, at, stmts)
		return err
	})
	if err != nil {
		return err
	}
	if applied {
		s.log.Info("binlog operation: row event replaced", "position", at.String(), "statements", len(stmts))
	} else {
		s.log.Info("binlog operation: row event replaced before the last stop", "position", at.String())
	}
	return nil
}

// replaceOnce runs stmts and marks at in the global checkpoint row, in one transaction, unless
// the mark is at or past at already (they ran before). applied says whether they ran now.
func replaceOnce(ctx context.Context, c *sql.Conn, metaSchema, task, source string, at binlog.Location, stmts []string) (applied bool, err error) {
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			c.ExecContext(ctx, "ROLLBACK")
		}
	}()
	var mark binlog.Location
	var pos uint64
	err = c.QueryRowContext(ctx, "SELECT op_binlog_name, op_binlog_pos FROM "+checkpointTable(metaSchema, task)+
		" WHERE task_name = ? AND source_name = ? AND worker_id = ? FOR UPDATE", task, source, globalWorkerID).Scan(&mark.File, &pos)
	if err != nil {
		return false, fmt.Errorf("read the replace mark: %w", err)
	}
	mark.Pos = uint32(pos)
	if mark.File != "" && compareLoc(at, mark) <= 0 {
		_, err = c.ExecContext(ctx, "COMMIT")
		return false, err
	}
	for _, q := range stmts {
		if _, err = c.ExecContext(ctx, q); err != nil {
			return false, &StatementError{Statement: q, Err: err}
		}
	}
	if _, err = c.ExecContext(ctx, "UPDATE "+checkpointTable(metaSchema, task)+" SET op_binlog_name = ?, op_binlog_pos = ?"+
		" WHERE task_name = ? AND source_name = ? AND worker_id = ?", at.File, at.Pos, task, source, globalWorkerID); err != nil {
		return false, fmt.Errorf("write the replace mark: %w", err)
	}
	_, err = c.ExecContext(ctx, "COMMIT")
	return err == nil, err
}

// passed tells the operations that the checkpoint is flushed at loc.
func (r *run) passed(loc binlog.Location) {
	if ops := r.s.cfg.EventOps; ops != nil && loc.File != "" {
		ops.Passed(loc)
	}
}
