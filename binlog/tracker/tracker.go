// Package tracker keeps, per subtask, the schema of every replicated table as it is at the
// binlog position being replayed: seeded from SHOW CREATE TABLE texts (the dump, or the
// upstream at the start position) and advanced by every DDL found in the binlog, parsed with
// the TiDB parser. Its state is persisted with the sync checkpoint (Snapshot/Restore), so a
// restart decodes rows with the schema that was current at the checkpoint.
//
// The TiDB parser rejects several MariaDB forms. The tracker rewrites those it can (CREATE OR
// REPLACE, ALTER ONLINE, WAIT/NOWAIT, PAGE_COMPRESSED, INVISIBLE, COMPRESSED, PERSISTENT,
// UUID/INET4/INET6, uca1400 collations, system versioning) and retries; a statement it still
// cannot apply is reported in Result.NeedsReread, and the tables concerned are forgotten so
// that nothing decodes rows with a stale definition. A DDL is never silently dropped.
//
// The package never imports master/, worker/, restapi/ or fsm/.
package tracker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/schema"
)

// TableRef names one table.
type TableRef struct{ Schema, Table string }

func (r TableRef) String() string { return "`" + r.Schema + "`.`" + r.Table + "`" }

// Result tells what one Exec did.
type Result struct {
	// Changed are the tables created or altered (the new name of a renamed table).
	Changed []TableRef
	// Dropped are the tables that no longer exist (the old name of a renamed table).
	Dropped []TableRef
	// Ignored: the statement does not change any table definition (GRANT, views, SET, ...).
	Ignored bool
	// NeedsReread are tables the tracker could not follow: it has forgotten them, and the
	// caller should read SHOW CREATE TABLE from the upstream and call CreateTable.
	NeedsReread []TableRef
	// Normalized: MariaDB syntax had to be rewritten before the TiDB parser accepted it.
	Normalized bool
}

type tableState struct {
	stmt *ast.CreateTableStmt
	// types: lower-cased column name → MariaDB type (uuid, inet4, inet6) tracked as BINARY(n).
	types   map[string]string
	derived *schema.Table
}

type dbState struct {
	charset, collate string
	tables           map[string]*tableState
}

// Tracker is safe for concurrent use.
type Tracker struct {
	log *slog.Logger
	mu  sync.RWMutex
	dbs map[string]*dbState
}

// New returns an empty tracker; logger may be nil.
func New(logger *slog.Logger) *Tracker {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Tracker{log: logger, dbs: map[string]*dbState{}}
}

func restore(n ast.Node) (string, error) { return ddl.Restore(n) }

// clone deep-copies a CREATE TABLE through its text.
func clone(stmt *ast.CreateTableStmt) (*ast.CreateTableStmt, error) {
	s, err := restore(stmt)
	if err != nil {
		return nil, err
	}
	n, err := parser.New().ParseOneStmt(s, "", "")
	if err != nil {
		return nil, err
	}
	return n.(*ast.CreateTableStmt), nil
}

func (t *Tracker) db(name string) *dbState {
	d := t.dbs[name]
	if d == nil {
		d = &dbState{tables: map[string]*tableState{}}
		t.dbs[name] = d
	}
	return d
}

func (t *Tracker) lookup(r TableRef) *tableState {
	if d := t.dbs[r.Schema]; d != nil {
		return d.tables[r.Table]
	}
	return nil
}

func (t *Tracker) put(r TableRef, ts *tableState) {
	ts.derived = nil
	ts.stmt.Table = &ast.TableName{Name: ast.NewCIStr(r.Table)}
	t.db(r.Schema).tables[r.Table] = ts
}

func (t *Tracker) remove(r TableRef) bool {
	d := t.dbs[r.Schema]
	if d == nil {
		return false
	}
	_, ok := d.tables[r.Table]
	delete(d.tables, r.Table)
	return ok
}

// CreateTable adds or replaces a table from a CREATE TABLE statement, such as SHOW CREATE
// TABLE output of MariaDB or MySQL. schemaName and table win over the names in the SQL.
func (t *Tracker) CreateTable(schemaName, table, createSQL string) error {
	st := ddl.Parse(createSQL, schemaName)
	if !st.Parsed() {
		return fmt.Errorf("track `%s`.`%s`: %w", schemaName, table, st.ParseErr)
	}
	if len(st.Nodes) != 1 {
		return fmt.Errorf("track `%s`.`%s`: want one CREATE TABLE statement, got %d statements", schemaName, table, len(st.Nodes))
	}
	stmt, ok := st.Nodes[0].(*ast.CreateTableStmt)
	if !ok || stmt.ReferTable != nil || stmt.Select != nil {
		return fmt.Errorf("track `%s`.`%s`: not a plain CREATE TABLE statement", schemaName, table)
	}
	if schemaName == "" {
		schemaName = stmt.Table.Schema.O
	}
	if table == "" {
		table = stmt.Table.Name.O
	}
	if schemaName == "" || table == "" {
		return fmt.Errorf("track CREATE TABLE: schema or table name missing")
	}
	ts := &tableState{stmt: stmt, types: map[string]string{}}
	if st.Rewrite != nil {
		for k, v := range st.Rewrite.Types {
			ts.types[k] = v
		}
		t.logRewrite(schemaName+"."+table, st.Rewrite)
	}
	if err := prepareCreate(stmt); err != nil {
		return fmt.Errorf("track `%s`.`%s`: %w", schemaName, table, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.put(TableRef{schemaName, table}, ts)
	return nil
}

func (t *Tracker) logRewrite(what string, rw *ddl.Rewrite) {
	t.log.Info("schema tracker rewrote MariaDB syntax the TiDB parser rejects", "statement", what, "rewrites", strings.Join(rw.Notes, "; "))
	if rw.HiddenVersioning {
		t.log.Warn("schema tracker: system-versioned table without explicit ROW START/END columns; MariaDB's hidden row_start/row_end columns are not tracked", "statement", what)
	}
}

// Table returns the definition of schemaName.table; column order is the table's.
func (t *Tracker) Table(schemaName, table string) (*schema.Table, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.dbs[schemaName]
	if d == nil {
		return nil, false
	}
	ts := d.tables[table]
	if ts == nil {
		return nil, false
	}
	if ts.derived == nil {
		ts.derived = derive(schemaName, table, ts, d.charset, d.collate)
	}
	return ts.derived, true
}

// CreateStatement returns a CREATE TABLE text for the table that the TiDB parser, MySQL and
// MariaDB accept. MariaDB-only types appear as their BINARY(n) form.
func (t *Tracker) CreateStatement(schemaName, table string) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ts := t.lookup(TableRef{schemaName, table})
	if ts == nil {
		return "", false
	}
	s, err := restore(ts.stmt)
	if err != nil {
		return "", false
	}
	return s, true
}

// Schemas returns the tracked schemas, sorted.
func (t *Tracker) Schemas() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.dbs))
	for name := range t.dbs {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Tables returns the tables tracked in schemaName, sorted.
func (t *Tracker) Tables(schemaName string) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	d := t.dbs[schemaName]
	if d == nil {
		return nil
	}
	out := make([]string, 0, len(d.tables))
	for name := range d.tables {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// DropTable forgets a table; it reports whether it was tracked.
func (t *Tracker) DropTable(schemaName, table string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remove(TableRef{schemaName, table})
}

// SetSchemaDefaults records a schema's default character set and collation (as in
// information_schema.SCHEMATA), used for tables created without one.
func (t *Tracker) SetSchemaDefaults(schemaName, charset, collation string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.db(schemaName)
	d.charset, d.collate = canonCharset(charset), canonCollation(collation)
	for _, ts := range d.tables {
		ts.derived = nil
	}
}

// invalidate forgets a table, a schema (table "") or everything (schema "").
func (t *Tracker) invalidate(schemaName, table string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case schemaName == "":
		t.dbs = map[string]*dbState{}
	case table == "":
		if d := t.dbs[schemaName]; d != nil {
			d.tables = map[string]*tableState{}
		}
	default:
		t.remove(TableRef{schemaName, table})
	}
}

// snapshot format.
type snapTable struct {
	SQL   string            `json:"sql"`
	Types map[string]string `json:"mariadb_types,omitempty"`
}

type snapDB struct {
	Charset string               `json:"charset,omitempty"`
	Collate string               `json:"collation,omitempty"`
	Tables  map[string]snapTable `json:"tables"`
}

type snapshot struct {
	Version int               `json:"version"`
	Schemas map[string]snapDB `json:"schemas"`
}

// Snapshot returns the whole tracked state, to be persisted with the checkpoint.
func (t *Tracker) Snapshot() ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := snapshot{Version: 1, Schemas: map[string]snapDB{}}
	for name, d := range t.dbs {
		sd := snapDB{Charset: d.charset, Collate: d.collate, Tables: map[string]snapTable{}}
		for tn, ts := range d.tables {
			text, err := restore(ts.stmt)
			if err != nil {
				return nil, fmt.Errorf("snapshot `%s`.`%s`: %w", name, tn, err)
			}
			st := snapTable{SQL: text}
			if len(ts.types) > 0 {
				st.Types = ts.types
			}
			sd.Tables[tn] = st
		}
		s.Schemas[name] = sd
	}
	return json.Marshal(s)
}

// Restore replaces the tracked state with a Snapshot. On error the state is unchanged.
func (t *Tracker) Restore(b []byte) error {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil || s.Version == 0 {
		// also accept the plain {schema: {table: create_sql}} form
		var plain map[string]map[string]string
		if err2 := json.Unmarshal(b, &plain); err2 != nil {
			if err == nil {
				err = err2
			}
			return fmt.Errorf("restore schema tracker: %w", err)
		}
		s = snapshot{Version: 1, Schemas: map[string]snapDB{}}
		for db, tables := range plain {
			sd := snapDB{Tables: map[string]snapTable{}}
			for tn, text := range tables {
				sd.Tables[tn] = snapTable{SQL: text}
			}
			s.Schemas[db] = sd
		}
	}
	dbs := map[string]*dbState{}
	for name, sd := range s.Schemas {
		d := &dbState{charset: sd.Charset, collate: sd.Collate, tables: map[string]*tableState{}}
		for tn, st := range sd.Tables {
			text := st.SQL
			parsed := ddl.Parse(text, name)
			if parsed.Node() == nil {
				return fmt.Errorf("restore `%s`.`%s`: %w", name, tn, parsed.ParseErr)
			}
			if st.Types == nil && parsed.Rewrite != nil {
				st.Types = parsed.Rewrite.Types
			}
			n := parsed.Node()
			stmt, ok := n.(*ast.CreateTableStmt)
			if !ok {
				return fmt.Errorf("restore `%s`.`%s`: not a CREATE TABLE statement", name, tn)
			}
			if err := prepareCreate(stmt); err != nil {
				return fmt.Errorf("restore `%s`.`%s`: %w", name, tn, err)
			}
			ts := &tableState{stmt: stmt, types: map[string]string{}}
			for k, v := range st.Types {
				ts.types[strings.ToLower(k)] = v
			}
			stmt.Table = &ast.TableName{Name: ast.NewCIStr(tn)}
			d.tables[tn] = ts
		}
		dbs[name] = d
	}
	t.mu.Lock()
	t.dbs = dbs
	t.mu.Unlock()
	return nil
}

var errNoSchema = errors.New("no schema: the statement does not qualify the table and the event has no current schema")

// SchemaDefaults returns a schema's default character set and collation as the tracker knows
// them (from CREATE/ALTER DATABASE in the binlog or SetSchemaDefaults); ok is false when it
// does not know them.
func (t *Tracker) SchemaDefaults(schemaName string) (charset, collation string, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	d := t.dbs[schemaName]
	if d == nil || d.charset == "" && d.collate == "" {
		return "", "", false
	}
	charset, collation = resolveCharset(d.charset, d.collate)
	return charset, collation, true
}

// TableDefaults returns a table's default character set and collation: its own options,
// else its schema's; ok is false when the tracker knows neither.
func (t *Tracker) TableDefaults(schemaName, table string) (charset, collation string, ok bool) {
	t.mu.RLock()
	ts := t.lookup(TableRef{schemaName, table})
	var cs, co string
	if ts != nil {
		cs, co = tableCharset(ts.stmt)
	}
	t.mu.RUnlock()
	if cs != "" || co != "" {
		charset, collation = resolveCharset(cs, co)
		return charset, collation, true
	}
	if ts == nil {
		return "", "", false
	}
	return t.SchemaDefaults(schemaName)
}
