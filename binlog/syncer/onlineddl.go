package syncer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/dm-oss/dm/binlog/upstream"

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
	return upstream.QuoteName(metaSchema) + "." + upstream.QuoteName(task+"_onlineddl")
}

func ensureOnlineDDLTable(ctx context.Context, db execer, metaSchema, task string) error {
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + upstream.QuoteName(metaSchema),
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

// onlineStore is the record of a task's online DDL in the target (<MetaSchema>.<Task>_onlineddl),
// written through the control connection.
type onlineStore struct {
	ctl          *control
	table        string
	task, source string
}

func newOnlineStore(ctl *control, metaSchema, task, source string) onlineStore {
	return onlineStore{ctl: ctl, table: onlineDDLTable(metaSchema, task), task: task, source: source}
}

// load reads the record of a real source table (nil when there is none).
func (o onlineStore) load(ctx context.Context, t ddl.TableName) ([]onlineEntry, error) {
	var entries []onlineEntry
	err := o.ctl.do(ctx, "online ddl", func(ctl *sql.Conn) error {
		entries = nil
		var text string
		err := ctl.QueryRowContext(ctx, "SELECT ddls FROM "+o.table+
			" WHERE task_name = ? AND source_name = ? AND schema_name = ? AND table_name = ?",
			o.task, o.source, t.Schema, t.Table).Scan(&text)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(text), &entries)
	})
	if err != nil {
		return nil, fmt.Errorf("read online DDL record of %s: %w", t, err)
	}
	return entries, nil
}

func (o onlineStore) save(ctx context.Context, t ddl.TableName, entries []onlineEntry) error {
	b, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	err = o.ctl.exec(ctx, "online ddl", "REPLACE INTO "+o.table+" (task_name, source_name, schema_name, table_name, ddls) VALUES (?, ?, ?, ?, ?)",
		o.task, o.source, t.Schema, t.Table, string(b))
	if err != nil {
		return fmt.Errorf("save online DDL record of %s: %w", t, err)
	}
	return nil
}

func (o onlineStore) clear(ctx context.Context, t ddl.TableName) error {
	err := o.ctl.exec(ctx, "online ddl", "DELETE FROM "+o.table+" WHERE task_name = ? AND source_name = ? AND schema_name = ? AND table_name = ?",
		o.task, o.source, t.Schema, t.Table)
	if err != nil {
		return fmt.Errorf("clear online DDL record of %s: %w", t, err)
	}
	return nil
}

// ddlAction is what a DDL handler decided about a statement it took over: the statements to
// apply instead (none: the DDL is skipped), and what to run once they are applied, before
// the checkpoint moves past the DDL.
type ddlAction struct {
	stmts []string
	after func() error
}

// onlineDDL handles the DDL of gh-ost's and pt-osc's helper tables.
type onlineDDL struct {
	store onlineStore
	ddls  *ddlRewriter
	log   *slog.Logger
}

// handle takes over a DDL that involves online DDL helper tables; nil when it does not (the
// DDL then goes the usual way). at is the DDL's binlog position, for the record.
func (o *onlineDDL) handle(ctx context.Context, st *ddl.Statement, at string) (*ddlAction, error) {
	if st.Database != "" || len(st.Tables) == 0 {
		return nil, nil
	}
	switch st.Kind {
	case rules.EventRenameTable:
		return o.rename(ctx, st)
	case rules.EventDropTable:
		return o.drop(ctx, st)
	}
	k, real := onlineTable(st.Tables[0].Table)
	switch {
	case k == onlineNone:
		return nil, nil
	case k == onlineGhost && (st.Kind == rules.EventAlterTable || st.Kind == rules.EventCreateIndex || st.Kind == rules.EventDropIndex) && len(st.Others) == 0:
		return &ddlAction{}, o.recordGhostChange(ctx, st, real, at)
	default:
		o.log.Info("online DDL: statement on a helper table not applied to the target", "query", truncate(st.Text, 200))
		return &ddlAction{}, nil
	}
}

// cutOver is a RENAME pair that moves a ghost table onto the real table it replaces.
type cutOver struct {
	record ddl.TableName // the name the ghost table's changes were recorded under
	real   ddl.TableName // the real table
}

// rename applies the cut-over RENAME of a ghost table as the recorded changes of the real
// table, and the pairs of ordinary tables as usual.
func (o *onlineDDL) rename(ctx context.Context, st *ddl.Statement) (*ddlAction, error) {
	cutovers := cutOvers(st)
	normal := map[int]bool{}
	for i, from := range st.Tables {
		if i < len(st.Others) && onlineKindOf(from.Table) == onlineNone && onlineKindOf(st.Others[i].Table) == onlineNone && !swappedOut(from, cutovers) {
			normal[i] = true
		}
	}
	if len(normal) == len(st.Tables) {
		return nil, nil
	}
	var action ddlAction
	if len(normal) > 0 {
		kept, err := o.ddls.rewrite(ctx, st, func(i int) bool { return normal[i] })
		if err != nil {
			return nil, err
		}
		action.stmts = append(action.stmts, kept...)
	}
	for _, c := range cutovers {
		recorded, err := o.cutoverStatements(ctx, st, c)
		if err != nil {
			return nil, err
		}
		action.stmts = append(action.stmts, recorded...)
	}
	action.after = func() error {
		for _, c := range cutovers {
			if err := o.store.clear(ctx, c.record); err != nil {
				return err
			}
		}
		return nil
	}
	return &action, nil
}

// cutOvers finds the pairs of a RENAME that move a ghost table onto its real table.
func cutOvers(st *ddl.Statement) []cutOver {
	var out []cutOver
	for i, from := range st.Tables {
		if i >= len(st.Others) {
			break
		}
		to := st.Others[i]
		if onlineKindOf(to.Table) == onlineNone && strings.EqualFold(from.Schema, to.Schema) && isGhostOf(from.Table, to.Table) {
			_, record := onlineTable(from.Table)
			out = append(out, cutOver{record: ddl.TableName{Schema: to.Schema, Table: record}, real: to})
		}
	}
	return out
}

// swappedOut: the pair that moves a cut-over's real table out of the way is part of the swap
// too, whatever the name it gets (pt-osc falls back to a random prefix, or truncates a long
// name, when _t_old is taken).
func swappedOut(from ddl.TableName, cutovers []cutOver) bool {
	for _, c := range cutovers {
		if strings.EqualFold(from.Schema, c.real.Schema) && from.Table == c.real.Table {
			return true
		}
	}
	return false
}

// cutoverStatements are the recorded changes of a cut-over, pointed at the real table and
// rendered for the target (those the rules filter out are left out).
func (o *onlineDDL) cutoverStatements(ctx context.Context, st *ddl.Statement, c cutOver) ([]string, error) {
	entries, err := o.store.load(ctx, c.record)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		o.log.Warn("online DDL cut-over without a recorded change of the ghost table (was it altered before the replay started?): the target table is left as it is",
			"table", c.real.String(), "rename", truncate(st.Text, 300))
		return nil, nil
	}
	var stmts []string
	for _, e := range entries {
		recorded := ddl.Parse(e.DDL, "")
		if c.record != c.real {
			retargeted, err := renameTable(ctx, recorded, c.record, c.real)
			if err != nil {
				return nil, fmt.Errorf("online DDL cut-over: point %s at %s: %w", truncate(e.DDL, 200), c.real, err)
			}
			recorded = retargeted
		}
		out, err := o.ddls.rewrite(ctx, recorded, nil)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, out...)
	}
	o.log.Info("online DDL cut-over: applying the recorded statements to the real table instead of the RENAME",
		"table", c.real.String(), "statements", len(entries), "rename", truncate(st.Text, 300))
	return stmts, nil
}

// renameTable rewrites st about from into a statement about to, with upstream names, as
// MariaDB text (what the record holds).
func renameTable(ctx context.Context, st *ddl.Statement, from, to ddl.TableName) (*ddl.Statement, error) {
	out, err := st.Render(ctx, ddl.Render{Flavor: ddl.FlavorMariaDB, Collation: ddl.CollationLoose,
		RouteTable: func(n ddl.TableName) ddl.TableName {
			if n == from {
				return to
			}
			return n
		}})
	if err != nil {
		return nil, err
	}
	if len(out) != 1 {
		return nil, fmt.Errorf("%d statements", len(out))
	}
	return ddl.Parse(out[0], ""), nil
}

// drop does not apply the DROP of helper tables; the other tables of the statement are
// dropped as usual.
func (o *onlineDDL) drop(ctx context.Context, st *ddl.Statement) (*ddlAction, error) {
	keep := map[int]bool{}
	for i, n := range st.Tables {
		switch k, real := onlineTable(n.Table); k {
		case onlineNone:
			keep[i] = true
		case onlineGhost:
			// A ghost table dropped without a cut-over: the migration was abandoned.
			if err := o.store.clear(ctx, ddl.TableName{Schema: n.Schema, Table: real}); err != nil {
				return nil, err
			}
		}
	}
	if len(keep) == len(st.Tables) {
		return nil, nil
	}
	if len(keep) == 0 {
		o.log.Info("online DDL: DROP of helper tables not applied to the target", "query", truncate(st.Text, 200))
		return &ddlAction{}, nil
	}
	stmts, err := o.ddls.rewrite(ctx, st, func(i int) bool { return keep[i] })
	if err != nil {
		return nil, err
	}
	return &ddlAction{stmts: stmts}, nil
}

// recordGhostChange records an ALTER (or CREATE/DROP INDEX) of a ghost table, re-targeted at
// the real table, for the cut-over.
func (o *onlineDDL) recordGhostChange(ctx context.Context, st *ddl.Statement, real, at string) error {
	ghost := st.Tables[0]
	// Recorded under the name with one underscore less (the usual case); the cut-over points
	// the statement at the table the ghost really replaces.
	realName := ddl.TableName{Schema: ghost.Schema, Table: real}
	if ghost.Schema == "" || !o.wantsGhostDDL(st, ghost) {
		return nil
	}
	// Recorded with upstream names, as MariaDB text: the cut-over renders it for the target.
	recorded, err := renameTable(ctx, st, ghost, realName)
	if err != nil {
		return fmt.Errorf("online DDL: %s: %w", truncate(st.Text, 200), err)
	}
	entries, err := o.store.load(ctx, realName)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.At == at {
			return nil // recorded before a restart
		}
	}
	entries = append(entries, onlineEntry{At: at, DDL: recorded.Text})
	if err := o.store.save(ctx, realName, entries); err != nil {
		return err
	}
	o.log.Info("online DDL: recorded a change of the ghost table for the cut-over", "ghost", ghost.Table, "ddl", truncate(recorded.Text, 300), "position", at)
	return nil
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
func (o *onlineDDL) wantsGhostDDL(st *ddl.Statement, ghost ddl.TableName) bool {
	rl := o.ddls.rules
	for _, real := range ghostReals(ghost.Table) {
		if o.ddls.match(ghost.Schema, real) && (rl == nil || !rl.SkipDDL(ghost.Schema, real, st.Kind, st.Text, st.Restored())) {
			return true
		}
	}
	return false
}
