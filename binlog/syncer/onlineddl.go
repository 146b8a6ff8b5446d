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

	"github.com/dm-oss/dm/binlog/ddl"
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
//     the rest of the RENAME (the pairs involving helper tables). Pairs of ordinary tables
//     in the same RENAME are applied as usual.
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
func (r *run) onlineDDL(h *replication.EventHeader, txn *txnInfo, st *ddl.Statement) (handled bool, err error) {
	if st.Database != "" || len(st.Tables) == 0 {
		return false, nil
	}
	switch st.Kind {
	case rules.EventRenameTable:
		return r.onlineRename(h, txn, st)
	case rules.EventDropTable:
		return r.onlineDrop(h, txn, st)
	}
	n := st.Tables[0]
	k, real := onlineTable(n.Table)
	switch {
	case k == onlineNone:
		return false, nil
	case k == onlineGhost && (st.Kind == rules.EventAlterTable || st.Kind == rules.EventCreateIndex || st.Kind == rules.EventDropIndex) && len(st.Others) == 0:
		return true, r.recordGhostChange(h, txn, st, real)
	default:
		r.s.log.Info("online DDL: statement on a helper table not applied to the target", "query", truncate(st.Text, 200))
		return r.skipDDL(h, txn)
	}
}

// skipDDL moves past a DDL that is not applied.
func (r *run) skipDDL(h *replication.EventHeader, txn *txnInfo) (bool, error) {
	if txn.standalone {
		r.endTxn(h)
	}
	return true, nil
}

// onlineRename applies the cut-over RENAME of a ghost table as the recorded changes of the
// real table, and the pairs of ordinary tables as usual.
func (r *run) onlineRename(h *replication.EventHeader, txn *txnInfo, st *ddl.Statement) (bool, error) {
	var cutovers []ddl.TableName // real source tables
	normal := map[int]bool{}
	for i, from := range st.Tables {
		if i >= len(st.Others) {
			break
		}
		to := st.Others[i]
		fk, freal := onlineTable(from.Table)
		tk, _ := onlineTable(to.Table)
		switch {
		case fk == onlineGhost && tk == onlineNone && strings.EqualFold(from.Schema, to.Schema) && freal == to.Table:
			cutovers = append(cutovers, to)
		case fk == onlineNone && tk == onlineNone:
			normal[i] = true
		}
	}
	if len(normal) == len(st.Tables) {
		return false, nil
	}
	var stmts []string
	if len(normal) > 0 {
		kept, err := r.rewriteDDL(st, func(i int) bool { return normal[i] })
		if err != nil {
			return true, err
		}
		stmts = append(stmts, kept...)
	}
	for _, c := range cutovers {
		recorded, err := r.cutoverStatements(st, c)
		if err != nil {
			return true, err
		}
		stmts = append(stmts, recorded...)
	}
	after := func() error {
		for _, c := range cutovers {
			if err := r.clearOnline(c.Schema, c.Table); err != nil {
				return err
			}
		}
		return nil
	}
	if len(stmts) == 0 {
		if err := after(); err != nil {
			return true, err
		}
		return r.skipDDL(h, txn)
	}
	return true, r.applyDDL(h, txn, ddlStep{defSchema: st.Schema, stmts: stmts, after: after})
}

// cutoverStatements are the recorded changes of a real table, rendered for the target.
func (r *run) cutoverStatements(st *ddl.Statement, real ddl.TableName) ([]string, error) {
	entries, err := r.loadOnline(real.Schema, real.Table)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		r.s.log.Warn("online DDL cut-over without a recorded change of the ghost table (was it altered before the replay started?): the target table is left as it is",
			"table", real.String(), "rename", truncate(st.Text, 300))
		return nil, nil
	}
	var stmts []string
	for _, e := range entries {
		out, err := r.rewriteDDL(ddl.Parse(e.DDL, ""), nil)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, out...)
	}
	r.s.log.Info("online DDL cut-over: applying the recorded statements to the real table instead of the RENAME",
		"table", real.String(), "statements", len(entries), "rename", truncate(st.Text, 300))
	return stmts, nil
}

// onlineDrop does not apply the DROP of helper tables; the other tables of the statement are
// dropped as usual.
func (r *run) onlineDrop(h *replication.EventHeader, txn *txnInfo, st *ddl.Statement) (bool, error) {
	keep := map[int]bool{}
	for i, n := range st.Tables {
		switch k, real := onlineTable(n.Table); k {
		case onlineNone:
			keep[i] = true
		case onlineGhost:
			// A ghost table dropped without a cut-over: the migration was abandoned.
			if err := r.clearOnline(n.Schema, real); err != nil {
				return true, err
			}
		}
	}
	if len(keep) == len(st.Tables) {
		return false, nil
	}
	if len(keep) == 0 {
		r.s.log.Info("online DDL: DROP of helper tables not applied to the target", "query", truncate(st.Text, 200))
		return r.skipDDL(h, txn)
	}
	stmts, err := r.rewriteDDL(st, func(i int) bool { return keep[i] })
	if err != nil || len(stmts) == 0 {
		if err != nil {
			return true, err
		}
		return r.skipDDL(h, txn)
	}
	return true, r.applyDDL(h, txn, ddlStep{defSchema: st.Schema, stmts: stmts})
}

// recordGhostChange records an ALTER (or CREATE/DROP INDEX) of a ghost table, re-targeted at
// the real table, for the cut-over.
func (r *run) recordGhostChange(h *replication.EventHeader, txn *txnInfo, st *ddl.Statement, real string) error {
	ghost := st.Tables[0]
	realName := ddl.TableName{Schema: ghost.Schema, Table: real}
	if ghost.Schema == "" || !r.s.match(ghost.Schema, real) {
		_, err := r.skipDDL(h, txn)
		return err
	}
	if rl := r.s.cfg.Rules; rl != nil && rl.SkipDDL(ghost.Schema, real, st.Kind, st.Text, st.Restored()) {
		_, err := r.skipDDL(h, txn)
		return err
	}
	// Recorded with upstream names, as MariaDB text: the cut-over renders it for the target.
	stmts, err := st.Render(r.ctx, ddl.Render{Flavor: ddl.FlavorMariaDB, Collation: ddl.CollationLoose,
		RouteTable: func(n ddl.TableName) ddl.TableName {
			if n == ghost {
				return realName
			}
			return n
		}})
	if err != nil {
		return fmt.Errorf("online DDL: %s: %w", truncate(st.Text, 200), err)
	}
	at := fmt.Sprintf("%s:%d", r.file, h.LogPos)
	entries, err := r.loadOnline(realName.Schema, realName.Table)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.At == at {
			_, err := r.skipDDL(h, txn) // recorded before a restart
			return err
		}
	}
	for _, stmt := range stmts {
		entries = append(entries, onlineEntry{At: at, DDL: stmt})
	}
	if err := r.saveOnline(realName.Schema, realName.Table, entries); err != nil {
		return err
	}
	r.s.log.Info("online DDL: recorded a change of the ghost table for the cut-over", "ghost", ghost.Table, "ddl", truncate(strings.Join(stmts, "; "), 300), "position", at)
	_, err = r.skipDDL(h, txn)
	return err
}
