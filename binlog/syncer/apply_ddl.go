package syncer

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/dm-oss/dm/binlog/upstream"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/rules"
)

// handleDDL applies a DDL after everything before it is committed: flush every worker, mark
// the DDL as in flight in the global checkpoint, run it, then move the checkpoint past it.
// DDL is not transactional, so a stop between running it and moving the checkpoint re-runs it
// on restart; that one re-run tolerates "already exists"/"doesn't exist" errors.
func (r *run) handleDDL(ev *replication.BinlogEvent, e *replication.QueryEvent, startPos uint32) error {
	h := ev.Header
	if r.txn == nil {
		r.beginTxn(startPos, h.Timestamp)
		r.txn.standalone = true
	} else if !r.txn.sawBegin && !r.txn.mariadb {
		// MySQL: a GTID event, then the DDL without BEGIN.
		r.txn.standalone = true
	}
	txn := r.txn
	finish := func() {
		if txn.standalone {
			r.endTxn(h)
		}
	}
	st := ddl.Parse(string(e.Query), string(e.Schema))
	if r.s.cfg.Tracker != nil {
		// The tracker reads every statement, whether or not the filters let it through: the
		// upstream changed either way.
		if err := r.trackDDL(txn, st); err != nil {
			return err
		}
		clear(r.tables)
	}
	if st.Kind == "" {
		r.s.log.Debug("statement is not a DDL the sync unit applies; skipped", "query", truncate(st.Text, 200))
		finish()
		return nil
	}

	// Whatever we do with it, the upstream definition of these tables changed.
	if r.s.cfg.Tracker == nil {
		if st.Database != "" {
			r.s.schemas.Invalidate(st.Database, "")
		}
		for _, n := range append(append([]ddl.TableName{}, st.Tables...), st.Others...) {
			r.s.schemas.Invalidate(n.Schema, n.Table)
		}
	}
	clear(r.tables)

	if r.s.cfg.OnlineDDL && txn.skip != skipAll {
		handled, err := r.onlineDDL(h, txn, st)
		if err != nil {
			return err
		}
		if handled {
			return nil
		}
	}

	stmts, err := r.rewriteDDL(st, nil)
	if err != nil {
		return err
	}
	if len(stmts) == 0 || txn.skip == skipAll {
		finish()
		return nil
	}
	if r.shard != nil {
		if handled, err := r.shardDDL(h, txn, st, stmts); handled || err != nil {
			return err
		}
	}
	createDB, err := r.createDatabaseFor(st)
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
	rerun := !r.plan.ddlEnd.IsZero() && compareLoc(ddlEnd, r.plan.ddlEnd) == 0
	r.ddlMarker = ddlEnd
	if err := r.writeGlobal(r.ctx, txn.start, r.lastTxnTS); err != nil {
		return err
	}
	useSchema := ""
	if step.defSchema != "" && r.s.match(step.defSchema, "") {
		useSchema = step.defSchema
		if rl := r.s.cfg.Rules; rl != nil {
			useSchema = rl.RouteSchema(step.defSchema)
		}
	}
	for _, stmt := range step.stmts {
		if err := r.execDDL(stmt, useSchema, step.createDB, rerun); err != nil {
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
		return fmt.Errorf("apply DDL to the target: %s: %w", truncate(stmt, 300), err)
	}
}

// createDatabaseFor renders CREATE DATABASE IF NOT EXISTS for the database of the table a
// CREATE TABLE (or RENAME TABLE) puts in place: routed, and with the upstream database's
// character set and collation in strict mode. "" for other statements.
func (r *run) createDatabaseFor(st *ddl.Statement) (string, error) {
	var db string
	switch st.Kind {
	case rules.EventCreateTable:
		db = st.Tables[0].Schema
	case rules.EventRenameTable:
		db = st.Others[0].Schema
	}
	if db == "" {
		return "", nil
	}
	stmts, err := ddl.Parse("CREATE DATABASE "+upstream.QuoteName(db), "").Render(r.ctx, r.render())
	if err != nil || len(stmts) != 1 {
		return "", err
	}
	return stmts[0], nil
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

// rewriteDDL filters the statement by the block-allow list and binlog filters (ignore_sql
// matches the statement as written and as the parser restores it) and renders it for the
// target: routed, always schema-qualified names, IF [NOT] EXISTS on CREATE/DROP, and with
// collation_compatible strict the character sets and collations the upstream resolved. No
// statements means nothing to apply. keep, when not nil, narrows what the filters keep of a
// DROP TABLE or RENAME TABLE further.
func (r *run) rewriteDDL(st *ddl.Statement, keep func(i int) bool) ([]string, error) {
	rl := r.s.cfg.Rules
	texts := []string{st.Text}
	if restored := st.Restored(); restored != "" {
		texts = append(texts, restored)
	}
	skip := func(schema, table string) bool {
		if !r.s.match(schema, table) {
			return true
		}
		return rl != nil && rl.SkipDDL(schema, table, st.Kind, texts...)
	}
	render := r.render()
	if st.Database != "" {
		if skip(st.Database, "") {
			return nil, nil
		}
	} else {
		kept := 0
		render.Keep = func(i int) bool {
			n := st.Tables[i]
			return !skip(n.Schema, n.Table) && (keep == nil || keep(i))
		}
		for i := range st.Tables {
			if render.Keep(i) {
				kept++
			}
		}
		if kept == 0 {
			return nil, nil
		}
	}
	stmts, err := st.Render(r.ctx, render)
	if errors.Is(err, ddl.ErrNothingLeft) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("DDL %s: %w", truncate(st.Text, 200), err)
	}
	return stmts, nil
}

// render is how the sync unit renders DDL for its target.
func (r *run) render() ddl.Render {
	rl := r.s.cfg.Rules
	out := ddl.Render{Flavor: r.tgt.flavor, Collation: r.s.cfg.Collation, Charsets: r.charsets, IfExists: true}
	if rl != nil {
		out.RouteTable = func(n ddl.TableName) ddl.TableName {
			t := rl.Route(n.Schema, n.Table)
			return ddl.TableName{Schema: t.Schema, Table: t.Table}
		}
		out.RouteSchema = rl.RouteSchema
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
