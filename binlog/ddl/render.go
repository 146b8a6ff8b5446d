package ddl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dm-oss/dm/binlog/upstream"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/dm-oss/dm/binlog/rules"
)

// Target flavours.
const (
	FlavorMariaDB = "mariadb"
	FlavorMySQL   = "mysql"
	FlavorTiDB    = "tidb"
)

// Collation modes (DM's collation_compatible).
const (
	// CollationStrict: a statement that leaves a character set or collation to defaults is
	// replayed with what the upstream resolved, so that both sides end with the same
	// collations even when the target's defaults differ (TiDB's utf8mb4 default is
	// utf8mb4_bin). The default.
	CollationStrict = "strict"
	// CollationLoose: replayed as written; the target's defaults apply.
	CollationLoose = "loose"
)

// CollationMode checks a collation_compatible value; "" is CollationStrict.
func CollationMode(mode string) (string, error) {
	switch mode {
	case "":
		return CollationStrict, nil
	case CollationStrict, CollationLoose:
		return mode, nil
	}
	return "", fmt.Errorf("collation_compatible %q must be %q or %q", mode, CollationStrict, CollationLoose)
}

// ErrNothingLeft: Keep removed every table of the statement.
var ErrNothingLeft = errors.New("no table of the statement is kept")

// ErrUnsupported: the target cannot express the statement.
var ErrUnsupported = errors.New("the target does not support the statement")

// spatialTypes are MySQL's and MariaDB's spatial column types (the TiDB parser reads none).
var spatialTypes = map[string]bool{
	"GEOMETRY": true, "POINT": true, "LINESTRING": true, "POLYGON": true, "MULTIPOINT": true,
	"MULTILINESTRING": true, "MULTIPOLYGON": true, "GEOMETRYCOLLECTION": true, "GEOMCOLLECTION": true,
}

// spatialType returns the first spatial column type of a statement ("" when none): a spatial
// type word after a column name, not itself followed by a type (then it names a column).
func spatialType(sql string) string {
	toks := significant(lex(sql))
	for i := 1; i < len(toks); i++ {
		w := toks[i].upper()
		if !spatialTypes[w] || !toks[i-1].isName() || toks[i-1].kind == tkWord && typeWords[toks[i-1].upper()] {
			continue
		}
		if i+1 < len(toks) && typeWords[toks[i+1].upper()] {
			continue
		}
		return w
	}
	return ""
}

// Render says how an upstream statement becomes the target's.
type Render struct {
	// Flavor is the target's: FlavorMariaDB, FlavorMySQL or FlavorTiDB ("" is MariaDB).
	Flavor string
	// Collation is CollationStrict ("" too) or CollationLoose.
	Collation string
	// Charsets answers what the upstream resolved; strict mode needs it (nil adds nothing).
	Charsets Charsets
	// RouteTable gives an upstream table's target name; nil keeps names. RouteSchema does
	// the same for a database.
	RouteTable  func(TableName) TableName
	RouteSchema func(string) string
	// Keep selects which of Tables (pairs of Tables and Others for RENAME TABLE) a DROP TABLE
	// or RENAME TABLE keeps; nil keeps them all.
	Keep func(i int) bool
	// IfExists adds IF NOT EXISTS to CREATE TABLE and CREATE DATABASE and IF EXISTS to DROP
	// TABLE and DROP DATABASE, as DM does, so that shard tables merged into one and DDL
	// applied twice do not fail.
	IfExists bool
}

// Render returns the statements the target runs for s: usually one; two for CREATE OR
// REPLACE TABLE on a target other than MariaDB (DROP TABLE IF EXISTS, then CREATE TABLE).
// Names are always schema-qualified when the event had a default schema. It returns
// ErrNothingLeft when Keep kept no table. For a statement with a Kind, the text parses again
// as the same statement and renders to itself; a statement without one (which dm does not
// replicate) is restored as the TiDB parser does, with no such promise.
func (s *Statement) Render(ctx context.Context, r Render) ([]string, error) {
	if r.Flavor == "" {
		r.Flavor = FlavorMariaDB
	}
	if r.Flavor == FlavorTiDB && !s.Parsed() {
		if typ := spatialType(s.Text); typ != "" {
			return nil, fmt.Errorf("%w: TiDB has no spatial types, and %s uses %s: exclude the table from the task (its rules) or change the column upstream",
				ErrUnsupported, truncate(s.Text, 200), typ)
		}
	}
	if !s.Parsed() || (s.needsVerbatim() && r.Flavor == FlavorMariaDB) || len(s.Nodes) != 1 {
		return s.renderVerbatim(r)
	}
	node, err := s.freshNode()
	if err != nil {
		return nil, err
	}
	if r.Keep != nil && !keep(node, r.Keep) {
		return nil, ErrNothingLeft
	}
	if r.Collation != CollationLoose && r.Charsets != nil {
		if err := addCharsets(ctx, node, s, r.Charsets); err != nil {
			return nil, err
		}
	}
	if r.Flavor != FlavorMariaDB {
		nativeJSON(node)
	} else {
		dropUnenforcedChecks(node)
	}
	enumCollations(node)
	s.route(node, r)
	orReplace := s.Rewrite != nil && s.Rewrite.OrReplace
	if r.IfExists {
		addIfExists(node, orReplace)
	}
	text, err := Restore(node)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", truncate(s.Text, 200), err)
	}
	if !orReplace {
		return []string{text}, nil
	}
	return orReplaceStatements(node, text, r.Flavor)
}

// freshNode parses the statement again, so that Render can change the tree freely.
func (s *Statement) freshNode() (ast.StmtNode, error) {
	text := s.Text
	if s.Rewrite != nil {
		text = s.Rewrite.SQL
	}
	nodes, err := parseText(text)
	if err != nil {
		return nil, err
	}
	return nodes[0], nil
}

// Restore writes a statement back as text that MariaDB, MySQL and TiDB read the same way:
// strings single-quoted with backslashes escaped and without the default charset
// introducer, names back-quoted (an ENGINE that is not a known engine's too), and CHECK
// constraints without the ENFORCED keyword MariaDB rejects (it is the default).
func Restore(n ast.Node) (string, error) {
	var b strings.Builder
	flags := format.DefaultRestoreFlags | format.RestoreStringEscapeBackslash | format.RestoreStringWithoutDefaultCharset
	if err := withQuotedOptions(n).Restore(format.NewRestoreCtx(flags, &b)); err != nil {
		return "", err
	}
	return stripEnforced(b.String()), nil
}

// stripEnforced removes the ENFORCED keyword the TiDB parser restores after CHECK (...).
func stripEnforced(sql string) string {
	var b strings.Builder
	prev := ""
	for _, t := range lex(sql) {
		if t.is("ENFORCED") && prev == ")" {
			continue
		}
		if t.kind != tkSpace {
			prev = t.text
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// keep applies Render.Keep to a DROP TABLE or RENAME TABLE; false when nothing is left.
func keep(node ast.StmtNode, k func(int) bool) bool {
	switch n := node.(type) {
	case *ast.DropTableStmt:
		n.Tables = keepIndexes(n.Tables, k)
		return len(n.Tables) > 0
	case *ast.RenameTableStmt:
		n.TableToTables = keepIndexes(n.TableToTables, k)
		return len(n.TableToTables) > 0
	}
	return true
}

// keepIndexes returns the elements of list whose index k keeps.
func keepIndexes[T any](list []T, k func(int) bool) []T {
	var kept []T
	for i, v := range list {
		if k(i) {
			kept = append(kept, v)
		}
	}
	return kept
}

// route replaces every table name (the statement's own, LIKE, RENAME, REFERENCES, CREATE
// TABLE ... SELECT) and database name by its target, qualified.
func (s *Statement) route(node ast.StmtNode, r Render) {
	node.Accept(&tableRouter{s: s, r: r})
	schema := func(name string) ast.CIStr {
		if r.RouteSchema != nil {
			name = r.RouteSchema(name)
		}
		return ast.NewCIStr(name)
	}
	switch n := node.(type) {
	case *ast.CreateDatabaseStmt:
		n.Name = schema(n.Name.O)
	case *ast.DropDatabaseStmt:
		n.Name = schema(n.Name.O)
	case *ast.AlterDatabaseStmt:
		if s.Database != "" {
			n.Name, n.AlterDefaultDatabase = schema(s.Database), false
		}
	}
}

type tableRouter struct {
	s *Statement
	r Render
}

func (v *tableRouter) Enter(n ast.Node) (ast.Node, bool) {
	t, ok := n.(*ast.TableName)
	if !ok {
		return n, false
	}
	name := v.s.qualify(t.Schema.O, t.Name.O)
	if name.Schema == "" {
		return n, true // no default schema: the target's USE decides, as upstream
	}
	if v.r.RouteTable != nil {
		name = v.r.RouteTable(name)
	}
	t.Schema, t.Name = ast.NewCIStr(name.Schema), ast.NewCIStr(name.Table)
	return n, true
}

func (v *tableRouter) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func addIfExists(node ast.StmtNode, orReplace bool) {
	switch n := node.(type) {
	case *ast.CreateTableStmt:
		n.IfNotExists = n.IfNotExists || !orReplace
	case *ast.CreateDatabaseStmt:
		n.IfNotExists = n.IfNotExists || !orReplace
	case *ast.DropTableStmt:
		n.IfExists = true
	case *ast.DropDatabaseStmt:
		n.IfExists = true
	}
}

// orReplaceStatements renders CREATE OR REPLACE: as written on MariaDB, as DROP + CREATE
// elsewhere.
func orReplaceStatements(node ast.StmtNode, text, flavor string) ([]string, error) {
	var drop, keyword string
	switch n := node.(type) {
	case *ast.CreateTableStmt:
		t, err := Restore(n.Table)
		if err != nil {
			return nil, err
		}
		drop, keyword = "DROP TABLE IF EXISTS "+t, "CREATE TABLE "
	case *ast.CreateDatabaseStmt:
		drop, keyword = "DROP DATABASE IF EXISTS "+upstream.QuoteName(n.Name.O), "CREATE DATABASE "
	case *ast.CreateIndexStmt:
		t, err := Restore(n.Table)
		if err != nil {
			return nil, err
		}
		drop, keyword = "DROP INDEX IF EXISTS "+upstream.QuoteName(n.IndexName)+" ON "+t, "CREATE "
	default:
		return []string{text}, nil
	}
	if flavor == FlavorMariaDB && strings.HasPrefix(text, keyword) {
		return []string{"CREATE OR REPLACE " + text[len("CREATE "):]}, nil
	}
	return []string{drop, text}, nil
}

// renderVerbatim renders a statement the parser cannot read, or whose MariaDB forms a MariaDB
// target must get as written: the text as it is, with routed names put in place of the
// upstream ones and IF [NOT] EXISTS added, as the head reader found them.
func (s *Statement) renderVerbatim(r Render) ([]string, error) {
	h := s.head
	if h == nil {
		h = readHead(s.Text)
	}
	if h.kind == "" {
		return []string{s.Text}, nil
	}
	var edits []edit
	if h.database.name != "" {
		target := h.database.name
		if r.RouteSchema != nil {
			target = r.RouteSchema(target)
		}
		edits = append(edits, edit{h.database.start, h.database.end, upstream.QuoteName(target)})
	}
	tables, others := h.tables, h.others
	if r.Keep != nil {
		kept, keptOthers := s.keepRefs(r.Keep)
		if len(kept) == 0 {
			return nil, ErrNothingLeft
		}
		if len(kept) < len(tables) {
			return []string{s.rebuild(kept, keptOthers, r)}, nil
		}
	}
	for _, n := range append(append([]nameRef{}, tables...), others...) {
		edits = append(edits, edit{n.start, n.end, s.routedText(n, r)})
	}
	if r.IfExists && h.ifAt >= 0 {
		edits = append(edits, edit{h.ifAt, h.ifAt, h.ifText})
	}
	return []string{applyEdits(s.Text, edits)}, nil
}

// keepRefs applies Keep to the head's names (pairs for RENAME).
func (s *Statement) keepRefs(k func(int) bool) (kept, keptOthers []nameRef) {
	h := s.head
	for i, n := range h.tables {
		if !k(i) {
			continue
		}
		kept = append(kept, n)
		if h.kind == rules.EventRenameTable && i < len(h.others) {
			keptOthers = append(keptOthers, h.others[i])
		}
	}
	return kept, keptOthers
}

// rebuild writes a DROP TABLE or RENAME TABLE of the kept names only.
func (s *Statement) rebuild(kept, keptOthers []nameRef, r Render) string {
	var b strings.Builder
	if s.head.kind == rules.EventRenameTable {
		b.WriteString("RENAME TABLE ")
		for i, n := range kept {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(s.routedText(n, r) + " TO " + s.routedText(keptOthers[i], r))
		}
		return b.String()
	}
	b.WriteString("DROP TABLE IF EXISTS ")
	for i, n := range kept {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.routedText(n, r))
	}
	return b.String()
}

// routedText is a name's routed, qualified text; as written when it cannot be qualified.
func (s *Statement) routedText(n nameRef, r Render) string {
	name := s.qualify(n.schema, n.name)
	if name.Schema == "" {
		return s.Text[n.start:n.end]
	}
	if r.RouteTable != nil {
		name = r.RouteTable(name)
	}
	return name.String()
}

type edit struct {
	start, end int
	text       string
}

// applyEdits replaces the spans of sql by the edits' texts; spans must not overlap.
func applyEdits(sql string, edits []edit) string {
	for i := 1; i < len(edits); i++ {
		for j := i; j > 0 && edits[j].start < edits[j-1].start; j-- {
			edits[j], edits[j-1] = edits[j-1], edits[j]
		}
	}
	var b strings.Builder
	last := 0
	for _, e := range edits {
		if e.start < last {
			continue
		}
		b.WriteString(sql[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(sql[last:])
	return b.String()
}
