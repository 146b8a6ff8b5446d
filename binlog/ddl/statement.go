package ddl

import (
	"fmt"
	"strings"

	"github.com/dm-oss/dm/binlog/upstream"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions in the AST

	"github.com/dm-oss/dm/binlog/rules"
)

// KindAlterDatabase is ALTER DATABASE/SCHEMA, which the ignore_event vocabulary has no name for.
const KindAlterDatabase rules.EventKind = "alter database"

// TableName is a table, always qualified once read from a Statement.
type TableName struct{ Schema, Table string }

// String is the quoted, qualified name.
func (n TableName) String() string {
	return upstream.QuoteName(n.Schema) + "." + upstream.QuoteName(n.Table)
}

// Statement is one statement of a binlog QUERY event, read with the TiDB parser.
type Statement struct {
	// Text is the statement as written upstream; Schema the event's default schema ("" when
	// the session had none).
	Text, Schema string
	// Kind is the statement's name in the ignore_event vocabulary (rules.EventCreateTable ...,
	// KindAlterDatabase); "" for statements dm does not replicate: views, routines, triggers,
	// events, sequences, grants and users, temporary tables, and statements it cannot read.
	Kind rules.EventKind
	// Database is the database of CREATE/DROP/ALTER DATABASE.
	Database string
	// Tables are the tables the statement is about; Others, for CREATE TABLE ... LIKE the
	// table copied, for RENAME TABLE the new name of each of Tables (pairwise), for ALTER
	// TABLE ... RENAME the new name. Both are qualified with Schema when written unqualified;
	// a name stays unqualified ("" schema) only when the event has no default schema.
	Tables, Others []TableName
	// Nodes are the parsed statements (one, except in the rare multi-statement event); nil
	// when the parser could not read the text even after Rewrite.
	Nodes []ast.StmtNode
	// ParseErr is the parser's error when Nodes is nil.
	ParseErr error
	// Rewrite is set when MariaDB syntax had to be rewritten before the parser accepted it.
	Rewrite *Rewrite
	// head is the statement's head, read by the lexer: for statements the parser cannot
	// read, and to render statements whose MariaDB forms a restore would lose.
	head *head
}

// Node is the single parsed statement, nil when there is none or several.
func (s *Statement) Node() ast.StmtNode {
	if len(s.Nodes) == 1 {
		return s.Nodes[0]
	}
	return nil
}

// Parsed reports whether the parser read the statement (possibly after Rewrite).
func (s *Statement) Parsed() bool { return s.Nodes != nil }

// Head is the statement's first keyword, upper-cased.
func (s *Statement) Head() string { return firstWord(s.Text) }

// Parse reads one QUERY event's statement. It never fails: a statement the parser cannot read,
// even with MariaDB syntax rewritten, is classified from its head (its Kind and names, so that
// it can still be filtered, routed and applied) and keeps the parser's error in ParseErr.
func Parse(sql, defaultSchema string) *Statement {
	s := &Statement{Text: sql, Schema: defaultSchema}
	nodes, err := parseText(sql)
	if err != nil {
		if rw, ok := rewriteMariaDB(sql); ok {
			s.Rewrite = &rw
			rewritten, err2 := parseText(rw.SQL)
			if err2 == nil {
				nodes, err = rewritten, nil
			} else {
				err = fmt.Errorf("%w (after rewriting MariaDB syntax: %v)", err, err2)
			}
		}
	}
	s.Nodes, s.ParseErr = nodes, err
	if s.Parsed() {
		s.classify()
	}
	if !s.Parsed() || s.needsVerbatim() {
		s.head = readHead(sql)
		if !s.Parsed() {
			s.Kind, s.Database = s.head.kind, s.head.database.name
			if s.Kind == KindAlterDatabase && s.Database == "" {
				s.Database = s.Schema
			}
			s.Tables, s.Others = s.qualifyRefs(s.head.tables), s.qualifyRefs(s.head.others)
		}
	}
	return s
}

// parseText parses with the TiDB parser. The parser panics on some input (a decimal literal
// longer than its value type holds, found by FuzzParseRender): that is a statement it cannot
// read, not a reason to stop a worker, so the panic becomes the parse error.
func parseText(sql string) (nodes []ast.StmtNode, err error) {
	defer func() {
		if p := recover(); p != nil {
			nodes, err = nil, fmt.Errorf("the TiDB parser failed on %q: %v", truncate(sql, 80), p)
		}
	}()
	nodes, _, err = parser.New().Parse(sql, "", "")
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("no statement in %q", truncate(sql, 80))
	}
	return nodes, nil
}

// needsVerbatim: a MariaDB target must get the statement as written, because restoring it
// from the rewritten text would lose a MariaDB feature.
func (s *Statement) needsVerbatim() bool { return s.Rewrite != nil && s.Rewrite.Lossy }

func (s *Statement) qualify(schema, table string) TableName {
	if schema == "" {
		schema = s.Schema
	}
	return TableName{Schema: schema, Table: table}
}

func (s *Statement) qualifyRefs(refs []nameRef) []TableName {
	var out []TableName
	for _, r := range refs {
		out = append(out, s.qualify(r.schema, r.name))
	}
	return out
}

// classify sets Kind, Database, Tables and Others from the parsed statement.
func (s *Statement) classify() {
	n := s.Node()
	if n == nil {
		n = s.Nodes[0]
	}
	tn := func(t *ast.TableName) TableName { return s.qualify(t.Schema.O, t.Name.O) }
	switch n := n.(type) {
	case *ast.CreateDatabaseStmt:
		s.Kind, s.Database = rules.EventCreateDatabase, n.Name.O
	case *ast.DropDatabaseStmt:
		s.Kind, s.Database = rules.EventDropDatabase, n.Name.O
	case *ast.AlterDatabaseStmt:
		s.Kind, s.Database = KindAlterDatabase, n.Name.O
		if n.AlterDefaultDatabase || s.Database == "" {
			s.Database = s.Schema
		}
	case *ast.CreateTableStmt:
		if n.TemporaryKeyword == ast.TemporaryNone {
			s.Kind, s.Tables = rules.EventCreateTable, []TableName{tn(n.Table)}
			if n.ReferTable != nil {
				s.Others = []TableName{tn(n.ReferTable)}
			}
		}
	case *ast.DropTableStmt:
		if !n.IsView && n.TemporaryKeyword == ast.TemporaryNone {
			s.Kind = rules.EventDropTable
			for _, t := range n.Tables {
				s.Tables = append(s.Tables, tn(t))
			}
		}
	case *ast.TruncateTableStmt:
		s.Kind, s.Tables = rules.EventTruncateTable, []TableName{tn(n.Table)}
	case *ast.RenameTableStmt:
		s.Kind = rules.EventRenameTable
		for _, p := range n.TableToTables {
			s.Tables = append(s.Tables, tn(p.OldTable))
			s.Others = append(s.Others, tn(p.NewTable))
		}
	case *ast.CreateIndexStmt:
		s.Kind, s.Tables = rules.EventCreateIndex, []TableName{tn(n.Table)}
	case *ast.DropIndexStmt:
		s.Kind, s.Tables = rules.EventDropIndex, []TableName{tn(n.Table)}
	case *ast.AlterTableStmt:
		s.Kind, s.Tables = rules.EventAlterTable, []TableName{tn(n.Table)}
		for _, spec := range n.Specs {
			if spec.Tp == ast.AlterTableRenameTable {
				s.Others = []TableName{s.qualify(spec.NewTable.Schema.O, spec.NewTable.Name.O)}
			}
		}
	}
}

// TxnControl reports the statements of a QUERY event that belong to a transaction rather
// than change a schema: BEGIN (begin), COMMIT and ROLLBACK (end), and SAVEPOINT, XA, SET,
// FLUSH, ANALYZE, OPTIMIZE, REPAIR, CHECK (control). An empty statement is control.
func TxnControl(q string) (begin, end, control bool) {
	switch firstWord(q) {
	case "":
		return false, false, strings.TrimSpace(q) == "" || !hasCode(q)
	case "BEGIN":
		return true, false, true
	case "COMMIT":
		return false, true, true
	case "ROLLBACK":
		sig := significant(lex(q))
		if len(sig) > 1 && sig[1].is("TO") {
			return false, false, true
		}
		return false, true, true
	case "SAVEPOINT", "RELEASE", "XA", "SET", "FLUSH", "ANALYZE", "OPTIMIZE", "REPAIR", "CHECK":
		return false, false, true
	}
	return false, false, false
}

func hasCode(q string) bool { return len(significant(lex(q))) > 0 }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Restored is the statement as the parser restores it, upstream names and all ("" when it
// was not parsed): what an ignore_sql pattern written against DM's restored form matches.
func (s *Statement) Restored() string {
	n := s.Node()
	if n == nil || s.needsVerbatim() {
		return ""
	}
	text, err := Restore(n)
	if err != nil {
		return ""
	}
	return text
}
