package syncer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog/rules"
)

// Online DDL (Config.OnlineDDL, DM's enhance_online_schema_change).
//
// gh-ost and pt-osc change a table t by creating a ghost table (_t_gho, _t_new), altering it,
// copying t's rows into it (while mirroring t's changes into it), and swapping it in with
// RENAME TABLE t TO _t_del, _t_gho TO t (pt-osc: t TO _t_old, _t_new TO t). gh-ost also uses
// _t_ghc (its changelog) and a _t_del sentry; pt-osc drops _t_old at the end.
//
// With OnlineDDL the sync unit:
//
//   - ignores the rows of ghost and trash tables (the copies of t's rows, which the target
//     has already got through t);
//   - does not apply CREATE/DROP/TRUNCATE/ALTER of helper tables to the target (the tracker
//     still follows them, so rows stay decoded right);
//   - records an ALTER TABLE (or CREATE/DROP INDEX) on a ghost table, re-targeted at the real
//     table, in <MetaSchema>.<Task>_onlineddl (one row per task, source, real table: a JSON
//     list of statements, each with the binlog position it came from so that a re-read
//     after a restart is not recorded twice);
//   - at a RENAME that moves a ghost table onto its real name, applies the recorded
//     statements to the (routed) real target table instead, clears the record and skips
//     the rest of the RENAME (the pairs involving helper tables, and the pair moving the
//     real table away, whatever its new name). Pairs of ordinary tables in the same RENAME
//     are applied as usual.
//
// pt-osc adds underscores in front of its table's name while the name is taken (__t_new when
// an interrupted run left _t_new behind), so __t_new may be _t's or t's: its ALTER is
// recorded under _t when either table is migrated, and the cut-over (RENAME ... __t_new TO t)
// tells which, pointing the recorded statements at t.
//
// The schema tracker sees the RENAME itself, so after it the real name holds the ghost
// table's (altered) definition.

type onlineKind uint8

const (
	onlineNone onlineKind = iota
	onlineGhost
	onlineTrash
)

var (
	ghostTableRe = regexp.MustCompile(`^_(.+)_(?:gho|new)$`)
	trashTableRe = regexp.MustCompile(`^_(.+)_(?:ghc|del|old)$`)
)

// onlineKindOf classifies a table name.
func onlineKindOf(table string) onlineKind {
	k, _ := onlineTable(table)
	return k
}

// onlineTable classifies a table name and returns the real table's name of a ghost or trash.
func onlineTable(table string) (onlineKind, string) {
	if m := ghostTableRe.FindStringSubmatch(table); m != nil {
		return onlineGhost, m[1]
	}
	if m := trashTableRe.FindStringSubmatch(table); m != nil {
		return onlineTrash, m[1]
	}
	return onlineNone, ""
}

func onlineDDLTable(metaSchema, task string) string {
	return quoteName(metaSchema) + "." + quoteName(task+"_onlineddl")
}

func ensureOnlineDDLTable(ctx context.Context, db execer, metaSchema, task string) error {
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + quoteName(metaSchema),
		"CREATE TABLE IF NOT EXISTS " + onlineDDLTable(metaSchema, task) + ` (
  task_name VARCHAR(128) NOT NULL,
  source_name VARCHAR(128) NOT NULL,
  schema_name VARCHAR(64) NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  ddls LONGTEXT NOT NULL COMMENT 'JSON list of {"at": binlog position, "ddl": statement on the real table}',
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (task_name, source_name, schema_name, table_name)
) DEFAULT CHARSET = utf8mb4`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create online DDL table %s: %w", onlineDDLTable(metaSchema, task), err)
		}
	}
	return nil
}

// onlineEntry is one recorded statement.
type onlineEntry struct {
	At  string `json:"at"`
	DDL string `json:"ddl"`
}

// loadOnline reads the record of a real source table (nil when there is none).
func (r *run) loadOnline(schemaName, table string) ([]onlineEntry, error) {
	s := r.s
	var entries []onlineEntry
	err := r.retry(r.ctx, "online ddl", func() error {
		entries = nil
		var text string
		err := r.ctl.QueryRowContext(r.ctx, "SELECT ddls FROM "+onlineDDLTable(s.cfg.MetaSchema, s.cfg.Task)+
			" WHERE task_name = ? AND source_name = ? AND schema_name = ? AND table_name = ?",
			s.cfg.Task, s.cfg.Source, schemaName, table).Scan(&text)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(text), &entries)
	})
	if err != nil {
		return nil, fmt.Errorf("read online DDL record of `%s`.`%s`: %w", schemaName, table, err)
	}
	return entries, nil
}

func (r *run) saveOnline(schemaName, table string, entries []onlineEntry) error {
	s := r.s
	b, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	err = r.retry(r.ctx, "online ddl", func() error {
		_, err := r.ctl.ExecContext(r.ctx, "REPLACE INTO "+onlineDDLTable(s.cfg.MetaSchema, s.cfg.Task)+
			" (task_name, source_name, schema_name, table_name, ddls) VALUES (?, ?, ?, ?, ?)",
			s.cfg.Task, s.cfg.Source, schemaName, table, string(b))
		return err
	})
	if err != nil {
		return fmt.Errorf("save online DDL record of `%s`.`%s`: %w", schemaName, table, err)
	}
	return nil
}

func (r *run) clearOnline(schemaName, table string) error {
	s := r.s
	err := r.retry(r.ctx, "online ddl", func() error {
		_, err := r.ctl.ExecContext(r.ctx, "DELETE FROM "+onlineDDLTable(s.cfg.MetaSchema, s.cfg.Task)+
			" WHERE task_name = ? AND source_name = ? AND schema_name = ? AND table_name = ?",
			s.cfg.Task, s.cfg.Source, schemaName, table)
		return err
	})
	if err != nil {
		return fmt.Errorf("clear online DDL record of `%s`.`%s`: %w", schemaName, table, err)
	}
	return nil
}

// onlineDDL handles a DDL that involves online DDL helper tables; handled is false when it
// does not (the DDL then goes the usual way).
func (r *run) onlineDDL(h *replication.EventHeader, txn *txnInfo, d ddlInfo, query, defSchema string, qualify func(nameRef) (string, string)) (handled bool, err error) {
	if d.database != nil || len(d.tables) == 0 {
		return false, nil
	}
	skip := func() (bool, error) {
		if txn.standalone {
			r.endTxn(h)
		}
		return true, nil
	}
	switch d.kind {
	case rules.EventRenameTable:
		return r.onlineRename(h, txn, d, query, defSchema, qualify, skip)

	case rules.EventDropTable:
		var keep []string
		var dropped [][2]string
		for _, n := range d.tables {
			sch, tbl := qualify(n)
			k, real := onlineTable(tbl)
			switch k {
			case onlineNone:
				keep = append(keep, query[n.start:n.end])
			case onlineGhost:
				dropped = append(dropped, [2]string{sch, real})
			}
		}
		if len(keep) == len(d.tables) {
			return false, nil
		}
		// A ghost table dropped without a cut-over: the migration was abandoned.
		for _, c := range dropped {
			if err := r.clearOnline(c[0], c[1]); err != nil {
				return true, err
			}
		}
		if len(keep) == 0 {
			r.s.log.Info("online DDL: DROP of helper tables not applied to the target", "query", truncate(query, 200))
			return skip()
		}
		q := "DROP TABLE IF EXISTS " + strings.Join(keep, ", ")
		stmt, ok := r.rewriteDDL(parseDDL(q), q, defSchema, qualify)
		if !ok {
			return skip()
		}
		return true, r.applyDDL(h, txn, defSchema, []string{stmt}, nil)
	}

	n := d.tables[0]
	sch, tbl := qualify(n)
	k, real := onlineTable(tbl)
	if k == onlineNone {
		return false, nil
	}
	switch {
	case k == onlineGhost && (d.kind == rules.EventAlterTable || d.kind == rules.EventCreateIndex || d.kind == rules.EventDropIndex) && len(d.others) == 0:
		if sch == "" || !r.wantsGhostDDL(sch, tbl, d.kind, query) {
			return skip()
		}
		// Recorded under the name with one underscore less (the usual case); the cut-over
		// points the statement at the table the ghost really replaces.
		at := fmt.Sprintf("%s:%d", r.file, h.LogPos)
		stmt := query[:n.start] + quoteName(sch) + "." + quoteName(real) + query[n.end:]
		entries, err := r.loadOnline(sch, real)
		if err != nil {
			return true, err
		}
		for _, e := range entries {
			if e.At == at {
				return skip() // recorded before a restart
			}
		}
		entries = append(entries, onlineEntry{At: at, DDL: stmt})
		if err := r.saveOnline(sch, real, entries); err != nil {
			return true, err
		}
		r.s.log.Info("online DDL: recorded a change of the ghost table for the cut-over", "ghost", tbl, "ddl", truncate(stmt, 300), "position", at)
		return skip()
	default:
		r.s.log.Info("online DDL: statement on a helper table not applied to the target", "query", truncate(query, 200))
		return skip()
	}
}

// cutOver is a RENAME pair that moves a ghost table onto the real table it replaces.
type cutOver struct {
	schema string // of both tables
	record string // the name the ghost table's changes were recorded under
	table  string // the real table
}

// renamePair is one "from TO to" of a RENAME TABLE, with both names qualified.
type renamePair struct {
	from, to              nameRef
	fromSchema, fromTable string
	toSchema, toTable     string
}

// onlineRename handles a RENAME TABLE that involves helper tables: a cut-over applies the
// recorded statements to the real table instead; pairs of ordinary tables are applied.
func (r *run) onlineRename(h *replication.EventHeader, txn *txnInfo, d ddlInfo, query, defSchema string, qualify func(nameRef) (string, string), skip func() (bool, error)) (bool, error) {
	var pairs []renamePair
	var cutovers []cutOver
	for i, from := range d.tables {
		if i >= len(d.others) {
			break
		}
		p := renamePair{from: from, to: d.others[i]}
		p.fromSchema, p.fromTable = qualify(p.from)
		p.toSchema, p.toTable = qualify(p.to)
		pairs = append(pairs, p)
		if onlineKindOf(p.toTable) == onlineNone && strings.EqualFold(p.fromSchema, p.toSchema) && isGhostOf(p.fromTable, p.toTable) {
			_, record := onlineTable(p.fromTable)
			cutovers = append(cutovers, cutOver{schema: p.toSchema, record: record, table: p.toTable})
		}
	}
	// The pair that moves a cut-over's real table out of the way is part of the swap too,
	// whatever the name it gets (pt-osc falls back to a random prefix, or truncates a long
	// name, when _t_old is taken).
	swappedOut := func(p renamePair) bool {
		for _, c := range cutovers {
			if strings.EqualFold(p.fromSchema, c.schema) && p.fromTable == c.table {
				return true
			}
		}
		return false
	}
	var normal []string
	involved := len(cutovers) > 0
	for _, p := range pairs {
		if onlineKindOf(p.fromTable) != onlineNone || onlineKindOf(p.toTable) != onlineNone || swappedOut(p) {
			involved = true
			continue
		}
		normal = append(normal, query[p.from.start:p.to.end])
	}
	if !involved {
		return false, nil
	}
	var stmts []string
	if len(normal) > 0 {
		q := "RENAME TABLE " + strings.Join(normal, ", ")
		if stmt, ok := r.rewriteDDL(parseDDL(q), q, defSchema, qualify); ok {
			stmts = append(stmts, stmt)
		}
	}
	for _, c := range cutovers {
		recorded, err := r.cutOverDDL(c, query)
		if err != nil {
			return true, err
		}
		stmts = append(stmts, recorded...)
	}
	after := func() error {
		for _, c := range cutovers {
			if err := r.clearOnline(c.schema, c.record); err != nil {
				return err
			}
		}
		return nil
	}
	if len(stmts) == 0 {
		if err := after(); err != nil {
			return true, err
		}
		return skip()
	}
	return true, r.applyDDL(h, txn, defSchema, stmts, after)
}

// cutOverDDL returns the recorded statements of a cut-over, pointed at the real table and
// routed (those the rules filter out are left out).
func (r *run) cutOverDDL(c cutOver, rename string) ([]string, error) {
	entries, err := r.loadOnline(c.schema, c.record)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		r.s.log.Warn("online DDL cut-over without a recorded change of the ghost table (was it altered before the replay started?): the target table is left as it is",
			"table", "`"+c.schema+"`.`"+c.table+"`", "rename", truncate(rename, 300))
		return nil, nil
	}
	var stmts []string
	for _, e := range entries {
		ddl := e.DDL
		if c.record != c.table {
			ddl = retarget(ddl, c.schema, c.table)
		}
		if stmt, ok := r.rewriteDDL(parseDDL(ddl), ddl, "", qualifyAbs); ok {
			stmts = append(stmts, stmt)
		}
	}
	r.s.log.Info("online DDL cut-over: applying the recorded statements to the real table instead of the RENAME",
		"table", "`"+c.schema+"`.`"+c.table+"`", "statements", len(entries), "rename", truncate(rename, 300))
	return stmts, nil
}

// isGhostOf reports whether ghost is a ghost table of table: "_" + table + "_gho" or
// "_new", or with more underscores in front, which pt-osc adds while the name it wants is
// taken (by a table an interrupted run left behind, say).
func isGhostOf(ghost, table string) bool {
	if onlineKindOf(ghost) != onlineGhost {
		return false
	}
	base := ghost[:len(ghost)-len("_new")] // "_gho" is as long
	prefix, ok := strings.CutSuffix(base, table)
	return ok && prefix != "" && strings.Trim(prefix, "_") == ""
}

// ghostReals lists the tables a ghost table may belong to: _t_new is t's, __t_new is _t's
// or, a retried name, t's.
func ghostReals(ghost string) []string {
	_, real := onlineTable(ghost)
	reals := []string{real}
	for len(real) > 1 && real[0] == '_' {
		real = real[1:]
		reals = append(reals, real)
	}
	return reals
}

// wantsGhostDDL: a DDL of a ghost table is recorded when a table the ghost may belong to is
// migrated and the rules do not skip the DDL for it.
func (r *run) wantsGhostDDL(schemaName, ghost string, kind rules.EventKind, query string) bool {
	rl := r.s.cfg.Rules
	for _, real := range ghostReals(ghost) {
		if r.s.match(schemaName, real) && (rl == nil || !rl.SkipDDL(schemaName, real, kind, query)) {
			return true
		}
	}
	return false
}

// retarget points a recorded statement (about one schema-qualified table) at another table.
func retarget(stmt, schemaName, table string) string {
	d := parseDDL(stmt)
	if len(d.tables) == 0 {
		return stmt
	}
	n := d.tables[0]
	return stmt[:n.start] + quoteName(schemaName) + "." + quoteName(table) + stmt[n.end:]
}

// qualifyAbs qualifies the names of recorded statements, which are always schema-qualified.
func qualifyAbs(n nameRef) (string, string) { return n.schema, n.name }
