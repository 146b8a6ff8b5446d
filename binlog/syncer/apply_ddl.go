package syncer

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/dm-oss/dm/binlog/upstream"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
)

// handleDDL applies a DDL after everything before it is committed: flush every worker, mark
// the DDL as in flight in the global checkpoint, run it, then move the checkpoint past it.
// DDL is not transactional, so a stop between running it and moving the checkpoint re-runs it
// on restart; that one re-run tolerates "already exists"/"doesn't exist" errors.
func (r *run) handleDDL(ev *replication.BinlogEvent, e *replication.QueryEvent, startPos uint32) error {
	h := ev.Header
	if r.txn == nil {
		if err := r.beginTxn(startPos, h.Timestamp); err != nil {
			return err
		}
		r.txn.standalone = true
	} else if !r.txn.sawBegin && !r.txn.mariadb {
		// MySQL: a GTID event, then the DDL without BEGIN.
		r.txn.standalone = true
	}
	txn := r.txn
	st := ddl.Parse(string(e.Query), string(e.Schema))
	if r.s.cfg.Tracker != nil {
		// The tracker reads every statement, whether or not the filters let it through, or an
		// operation skips or replaces it: the upstream changed either way.
		if err := r.trackDDL(txn, st); err != nil {
			return err
		}
		r.decoder.forget()
	}
	if op, ok := r.opAt(txn, startPos); ok {
		r.invalidate(st)
		return r.eventError(txn, startPos, st.Text, r.ddlEventOp(h, txn, st.Schema, startPos, op))
	}
	return r.eventError(txn, startPos, st.Text, r.applyStatement(h, txn, st))
}

// invalidate forgets what the sync unit knows of the tables a DDL changes upstream.
func (r *run) invalidate(st *ddl.Statement) {
	if r.s.cfg.Tracker == nil {
		if st.Database != "" {
			r.s.schemas.Invalidate(st.Database, "")
		}
		for _, n := range append(append([]ddl.TableName{}, st.Tables...), st.Others...) {
			r.s.schemas.Invalidate(n.Schema, n.Table)
		}
	}
	r.decoder.forget()
}

// applyStatement applies a DDL as the filters, the online DDL and shard handlers and the DDL
// layer decide.
func (r *run) applyStatement(h *replication.EventHeader, txn *txnInfo, st *ddl.Statement) error {
	finish := func() {
		if txn.standalone {
			r.endTxn(h)
		}
	}
	if st.Kind == "" {
		r.s.log.Debug("statement is not a DDL the sync unit applies; skipped", "query", truncate(st.Text, 200))
		finish()
		return nil
	}
	// Whatever we do with it, the upstream definition of these tables changed.
	r.invalidate(st)

	if r.online != nil && txn.skip != skipAll {
		action, err := r.online.handle(r.ctx, st, fmt.Sprintf("%s:%d", r.file, h.LogPos))
		if err != nil {
			return err
		}
		if action != nil {
			return r.applyAction(h, txn, st.Schema, action)
		}
	}

	stmts, err := r.ddls.rewrite(r.ctx, st, nil)
	if err != nil {
		return err
	}
	if len(stmts) == 0 || txn.skip == skipAll {
		finish()
		return nil
	}
	if r.shard != nil {
		if handled, err := r.shard.handle(h, txn, st, stmts); handled || err != nil {
			return err
		}
	}
	createDB, err := r.ddls.createDatabaseFor(r.ctx, st)
	if err != nil {
		return err
	}
	return r.applyDDL(h, txn, ddlStep{defSchema: st.Schema, stmts: stmts, createDB: createDB})
}

// ddlStep is what applyDDL runs for one upstream DDL.
type ddlStep struct {
	defSchema string   // the event's default schema (upstream name)
	stmts     []string // the statements, rendered for the target
	// createDB (optional) creates the target database a statement needs when the target
	// says it does not exist (1049): a table created upstream in a database that the task
	// never saw created.
	createDB string
	// after (optional) runs once the statements are applied, before the checkpoint moves.
	after func() error
}

// applyDDL runs a DDL's statements on the target as one DDL event: barrier, global row at
// the DDL's start marked "in flight", the statements (each tolerating "already done" errors
// on a re-run), after (if any), then the transaction's end and the global row past it.
func (r *run) applyDDL(h *replication.EventHeader, txn *txnInfo, step ddlStep) error {
	if err := r.barrier(); err != nil {
		return err
	}
	ddlEnd := binlog.Location{File: r.file, Pos: h.LogPos}
	rerun, err := r.ddlInFlight(txn, ddlEnd)
	if err != nil {
		return err
	}
	r.ddlMarker = ddlEnd
	if m := r.plan.moved; m != nil {
		m.markerOpen = false
	}
	if err := r.writeGlobal(r.ctx, txn.start, r.lastTxnTS); err != nil {
		return err
	}
	useSchema := r.ddls.targetSchema(step.defSchema)
	for i, stmt := range step.stmts {
		if err := r.execDDL(stmt, useSchema, step.createDB, rerun); err != nil {
			var se *StatementError
			if i == 0 && !rerun && errors.As(err, &se) && se.firstTry {
				r.unmarkDDL(txn)
			}
			return err
		}
		r.s.log.Info("applied DDL", "ddl", truncate(stmt, 300), "position", ddlEnd.String())
	}
	if step.after != nil {
		if err := step.after(); err != nil {
			return err
		}
	}
	return r.passDDL(h, txn)
}

// ddlInFlight reports whether the DDL ending at ddlEnd was in flight when the previous run
// stopped (it may have been applied already): by its end position, or, when the checkpoint
// moved to this server, by its start's GTID set.
func (r *run) ddlInFlight(txn *txnInfo, ddlEnd binlog.Location) (bool, error) {
	if m := r.plan.moved; m != nil {
		if m.ddlAt.IsZero() || !m.markerOpen {
			return false, nil
		}
		c, err := r.txnOrder(txn, m.ddlAt)
		return c == 0, err
	}
	return !r.plan.ddlEnd.IsZero() && compareLoc(ddlEnd, r.plan.ddlEnd) == 0, nil
}

// execDDL runs one DDL statement on the control connection, retrying transient errors. A
// re-run (rerun, or a retry after a lost connection) tolerates "already done" errors.
func (r *run) execDDL(stmt, useSchema, createDB string, rerun bool) error {
	tolerate := rerun
	attempt := 0
	err := r.control.do(r.ctx, "ddl", func(ctl *sql.Conn) error {
		attempt++
		if attempt > 1 {
			tolerate = true // the lost connection may have run it
		}
		if useSchema != "" {
			if _, err := ctl.ExecContext(r.ctx, "USE "+upstream.QuoteName(useSchema)); err != nil && mysqlCode(err) != 1049 {
				return err
			}
		}
		_, err := ctl.ExecContext(r.ctx, stmt)
		if mysqlCode(err) == 1049 && createDB != "" {
			r.s.log.Info("the target database does not exist yet: creating it first", "database", truncate(createDB, 200), "ddl", truncate(stmt, 200))
			if _, err := ctl.ExecContext(r.ctx, createDB); err != nil {
				return err
			}
			_, err = ctl.ExecContext(r.ctx, stmt)
		}
		return err
	})
	switch {
	case err == nil:
		return nil
	case tolerate && isDDLAlreadyDone(err):
		r.s.log.Warn("DDL had already been applied before the last stop; continuing", "ddl", truncate(stmt, 200), "error", err)
		return nil
	default:
		return fmt.Errorf("apply DDL to the target: %w", &StatementError{Statement: stmt, Err: err, firstTry: attempt == 1})
	}
}

// unmarkDDL takes the "in flight" mark off the global row when the target rejected the DDL's
// first statement at once: nothing of the DDL ran, so the next run must not take an "already
// exists" error for a sign that it did (it would step over a DDL the target refused).
func (r *run) unmarkDDL(txn *txnInfo) {
	r.ddlMarker = binlog.Location{}
	if err := r.writeGlobal(r.ctx, txn.start, r.lastTxnTS); err != nil {
		r.s.log.Warn("could not clear the DDL's in-flight mark after the target rejected it", "error", err)
	}
}

// applyAction carries out what a DDL handler decided: its statements as the DDL, or, when
// there are none, a skip (its after still runs).
func (r *run) applyAction(h *replication.EventHeader, txn *txnInfo, defSchema string, a *ddlAction) error {
	if len(a.stmts) > 0 {
		return r.applyDDL(h, txn, ddlStep{defSchema: defSchema, stmts: a.stmts, after: a.after})
	}
	if a.after != nil {
		if err := a.after(); err != nil {
			return err
		}
	}
	if txn.standalone {
		r.endTxn(h)
	}
	return nil
}

// passDDL ends a standalone DDL's transaction and moves the global checkpoint past it.
func (r *run) passDDL(h *replication.EventHeader, txn *txnInfo) error {
	if !txn.standalone {
		return nil
	}
	r.endTxn(h)
	r.ddlMarker = binlog.Location{}
	return r.writeGlobal(r.ctx, r.lastTxnEnd, r.lastTxnTS)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
