package syncer

import (
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
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
	query := string(e.Query)
	defSchema := string(e.Schema)
	d := parseDDL(query)
	qualify := func(n nameRef) (string, string) {
		if n.schema != "" {
			return n.schema, n.name
		}
		return defSchema, n.name
	}
	if r.s.cfg.Tracker != nil {
		// The tracker reads every statement (it knows more than the DDL reader), and
		// whether or not the filters let it through: the upstream changed either way.
		if err := r.trackDDL(txn, defSchema, query, d, qualify); err != nil {
			return err
		}
		clear(r.tables)
	}
	if d.kind == "" {
		r.s.log.Debug("statement is not a DDL the sync unit applies; skipped", "query", truncate(query, 200))
		finish()
		return nil
	}

	// Whatever we do with it, the upstream definition of these tables changed.
	if r.s.cfg.Tracker == nil {
		if d.database != nil {
			r.s.schemas.Invalidate(d.database.name, "")
		}
		for _, n := range append(append([]nameRef{}, d.tables...), d.others...) {
			sch, tbl := qualify(n)
			r.s.schemas.Invalidate(sch, tbl)
		}
	}
	clear(r.tables)

	if r.s.cfg.OnlineDDL && txn.skip != skipAll {
		handled, err := r.onlineDDL(h, txn, d, query, defSchema, qualify)
		if err != nil {
			return err
		}
		if handled {
			return nil
		}
	}

	stmt, apply := r.rewriteDDL(d, query, defSchema, qualify)
	if !apply || txn.skip == skipAll {
		finish()
		return nil
	}
	if r.shard != nil {
		if handled, err := r.shardDDL(h, txn, d, stmt, defSchema, qualify); handled || err != nil {
			return err
		}
	}
	return r.applyDDL(h, txn, defSchema, []string{stmt}, nil)
}

// applyDDL runs stmts on the target as one DDL event: barrier, global row at the DDL's start
// marked "in flight", the statements (each tolerating "already done" errors on a re-run),
// after (if any), then the transaction's end and the global row past it.
func (r *run) applyDDL(h *replication.EventHeader, txn *txnInfo, defSchema string, stmts []string, after func() error) error {
	if err := r.barrier(); err != nil {
		return err
	}
	ddlEnd := binlog.Location{File: r.file, Pos: h.LogPos}
	tolerate0 := !r.plan.ddlEnd.IsZero() && compareLoc(ddlEnd, r.plan.ddlEnd) == 0
	r.ddlMarker = ddlEnd
	if err := r.writeGlobal(r.ctx, txn.start, r.lastTxnTS); err != nil {
		return err
	}
	useSchema := ""
	if defSchema != "" && r.s.match(defSchema, "") {
		useSchema = defSchema
		if rl := r.s.cfg.Rules; rl != nil {
			useSchema = rl.RouteSchema(defSchema)
		}
	}
	for _, stmt := range stmts {
		tolerate := tolerate0
		attempt := 0
		err := r.retry(r.ctx, "ddl", func() error {
			attempt++
			if attempt > 1 {
				tolerate = true // the lost connection may have run it
			}
			if useSchema != "" {
				if _, err := r.ctl.ExecContext(r.ctx, "USE "+quoteName(useSchema)); err != nil && mysqlCode(err) != 1049 {
					return err
				}
			}
			_, err := r.ctl.ExecContext(r.ctx, stmt)
			return err
		})
		if err != nil {
			if tolerate && isDDLAlreadyDone(err) {
				r.s.log.Warn("DDL had already been applied before the last stop; continuing", "ddl", truncate(stmt, 200), "error", err)
			} else {
				return fmt.Errorf("apply DDL to the target: %s: %w", truncate(stmt, 300), err)
			}
		} else {
			r.s.log.Info("applied DDL", "ddl", truncate(stmt, 300), "position", ddlEnd.String())
		}
	}
	if after != nil {
		if err := after(); err != nil {
			return err
		}
	}
	return r.passDDL(h, txn)
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

// rewriteDDL filters the statement by the block-allow list and binlog filters, and puts the
// routed (always schema-qualified) names in place of the source ones.
func (r *run) rewriteDDL(d ddlInfo, query, defSchema string, qualify func(nameRef) (string, string)) (string, bool) {
	rl := r.s.cfg.Rules
	if d.database != nil {
		db := d.database.name
		if !r.s.match(db, "") {
			return "", false
		}
		if rl != nil && rl.SkipDDL(db, "", d.kind, query) {
			return "", false
		}
		target := db
		if rl != nil {
			target = rl.RouteSchema(db)
		}
		spans, repl := []nameRef{*d.database}, []string{quoteName(target)}
		if d.insertAt >= 0 {
			spans = append(spans, nameRef{start: d.insertAt, end: d.insertAt})
			repl = append(repl, d.insertText)
		}
		return replaceSpans(query, spans, repl), true
	}
	route := func(n nameRef) string {
		sch, tbl := qualify(n)
		if sch == "" {
			return query[n.start:n.end]
		}
		if rl == nil {
			return quoteName(sch) + "." + quoteName(tbl)
		}
		t := rl.Route(sch, tbl)
		return quoteName(t.Schema) + "." + quoteName(t.Table)
	}
	var kept []nameRef
	for _, n := range d.tables {
		sch, tbl := qualify(n)
		if !r.s.match(sch, tbl) {
			continue
		}
		if rl != nil && rl.SkipDDL(sch, tbl, d.kind, query) {
			continue
		}
		kept = append(kept, n)
	}
	if len(kept) == 0 {
		return "", false
	}
	if d.kind == rules.EventDropTable && len(kept) < len(d.tables) {
		var b strings.Builder
		b.WriteString("DROP ")
		if d.dropTemporary {
			b.WriteString("TEMPORARY ")
		}
		b.WriteString("TABLE ")
		if d.dropIfExists {
			b.WriteString("IF EXISTS ")
		}
		for i, n := range kept {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(route(n))
		}
		return b.String(), true
	}
	spans := append(append([]nameRef{}, d.tables...), d.others...)
	repl := make([]string, len(spans))
	for i, n := range spans {
		repl[i] = route(n)
	}
	if d.insertAt >= 0 {
		spans = append(spans, nameRef{start: d.insertAt, end: d.insertAt})
		repl = append(repl, d.insertText)
	}
	return replaceSpans(query, spans, repl), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
