package syncer

import (
	"strings"

	"github.com/dm-oss/dm/binlog/rules"
)

// This file holds a deliberately small DDL reader: it classifies a statement and finds the byte
// spans of the table and database names in it, so that routed names can be put in their place.
// It is not a parser: it understands the head of the statements below and nothing else, and
// everything else in the text (column definitions, REFERENCES clauses, partitioning) is
// passed through untouched. A later issue replaces it with the TiDB parser.
//
//	CREATE [OR REPLACE] [TEMPORARY] TABLE [IF NOT EXISTS] t ... [LIKE s | (LIKE s)]
//	ALTER [ONLINE] [IGNORE] TABLE [IF EXISTS] t ... [RENAME [TO|AS] u]
//	DROP [TEMPORARY] TABLE [IF EXISTS] t [, t2 ...]
//	TRUNCATE [TABLE] t
//	RENAME TABLE t TO u [, t2 TO u2 ...]
//	CREATE [OR REPLACE] [UNIQUE|FULLTEXT|SPATIAL] INDEX [IF NOT EXISTS] i ... ON t ...
//	DROP INDEX [IF EXISTS] i ON t
//	CREATE|DROP|ALTER DATABASE|SCHEMA [IF [NOT] EXISTS] d ...
//
// Names may be quoted with backticks and qualified (`db`.`t`, db.t); comments are skipped and
// the contents of executable comments (/*! ... */, /*M! ... */) are read as code.

type tokKind uint8

const (
	tWord  tokKind = iota
	tIdent         // `quoted`
	tString
	tPunct
)

type token struct {
	kind       tokKind
	text       string // unquoted identifier, or the word as written
	start, end int
}

func (t token) is(word string) bool { return t.kind == tWord && strings.EqualFold(t.text, word) }

func tokenize(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '/' && strings.HasPrefix(s[i:], "/*!"), c == '/' && strings.HasPrefix(s[i:], "/*M!"):
			// Executable comment: skip the marker and the version, read the body as code.
			i += 3
			if s[i-1] != '!' {
				i++
			}
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
		case c == '*' && strings.HasPrefix(s[i:], "*/"):
			i += 2 // end of an executable comment
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return toks
			}
			i += end + 4
		case c == '#' || (c == '-' && strings.HasPrefix(s[i:], "-- ")):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return toks
			}
			i += end + 1
		case c == '`':
			var b strings.Builder
			j := i + 1
			for j < len(s) {
				if s[j] == '`' {
					if j+1 < len(s) && s[j+1] == '`' {
						b.WriteByte('`')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, token{kind: tIdent, text: b.String(), start: i, end: min(j+1, len(s))})
			i = j + 1
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(s) {
				if s[j] == '\\' {
					j += 2
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			toks = append(toks, token{kind: tString, text: s[i:min(j+1, len(s))], start: i, end: min(j+1, len(s))})
			i = j + 1
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tWord, text: s[i:j], start: i, end: j})
			i = j
		default:
			toks = append(toks, token{kind: tPunct, text: s[i : i+1], start: i, end: i + 1})
			i++
		}
	}
	return toks
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// nameRef is a table (or database) name found in a statement.
type nameRef struct {
	schema, name string // schema "" when unqualified (the statement's default schema applies)
	start, end   int    // byte span in the statement
}

// ddlInfo is what we read from a statement.
type ddlInfo struct {
	kind rules.EventKind // "" for statements the sync unit does not apply
	// database is set for schema-level statements (CREATE/DROP/ALTER DATABASE).
	database *nameRef
	// tables: the table(s) the statement is about. For CREATE TABLE ... LIKE, ALTER ... RENAME
	// and RENAME TABLE, the other names are in others.
	tables []nameRef
	others []nameRef
	// dropIfExists: DROP TABLE IF EXISTS, kept when the list is filtered.
	dropIfExists  bool
	dropTemporary bool
	// insertAt/insertText: where to add IF [NOT] EXISTS (-1: nowhere), as DM does, so that
	// shard tables merged into one target and re-applied DDLs do not fail.
	insertAt   int
	insertText string
}

// parseDDL reads the head of a statement. kind is "" when it is none of the forms the sync
// unit handles (including BEGIN/COMMIT and DCL such as GRANT).
func parseDDL(sql string) ddlInfo {
	toks := tokenize(sql)
	p := &ddlParser{toks: toks}
	d := ddlInfo{insertAt: -1}
	// ifClause notes where IF [NOT] EXISTS goes when the statement lacks it.
	ifClause := func(text string, words ...string) {
		if p.i > 0 && !p.accept(words...) {
			d.insertAt, d.insertText = p.toks[p.i-1].end, " "+text
		}
	}
	switch {
	case p.accept("CREATE"):
		orReplace := p.accept("OR", "REPLACE")
		p.accept("DEFINER") // never followed by TABLE; CREATE DEFINER=... VIEW is skipped below
		switch {
		case p.acceptAny("DATABASE", "SCHEMA"):
			d.kind = rules.EventCreateDatabase
			if orReplace {
				p.accept("IF", "NOT", "EXISTS")
			} else {
				ifClause("IF NOT EXISTS", "IF", "NOT", "EXISTS")
			}
			d.database = p.name()
		case p.peekTable():
			p.accept("TEMPORARY")
			p.accept("TABLE")
			d.kind = rules.EventCreateTable
			if orReplace {
				p.accept("IF", "NOT", "EXISTS")
			} else {
				ifClause("IF NOT EXISTS", "IF", "NOT", "EXISTS")
			}
			if n := p.name(); n != nil {
				d.tables = append(d.tables, *n)
			}
			// CREATE TABLE t LIKE s / CREATE TABLE t (LIKE s)
			if p.accept("LIKE") || p.accept("(", "LIKE") {
				if n := p.name(); n != nil {
					d.others = append(d.others, *n)
				}
			}
		default:
			p.acceptAny("UNIQUE", "FULLTEXT", "SPATIAL")
			if p.accept("INDEX") || p.accept("KEY") {
				d.kind = rules.EventCreateIndex
				p.accept("IF", "NOT", "EXISTS")
				if p.skipTo("ON") {
					if n := p.name(); n != nil {
						d.tables = append(d.tables, *n)
					}
				}
			}
		}
	case p.accept("ALTER"):
		p.accept("ONLINE")
		p.accept("IGNORE")
		switch {
		case p.acceptAny("DATABASE", "SCHEMA"):
			d.kind = "alter database"
			// ALTER DATABASE [name] options: the name is optional.
			if p.i < len(p.toks) && (p.toks[p.i].kind == tIdent || (p.toks[p.i].kind == tWord && !isDBOption(p.toks[p.i].text))) {
				d.database = p.name()
			}
		case p.accept("TABLE"):
			d.kind = rules.EventAlterTable
			p.accept("IF", "EXISTS")
			if n := p.name(); n != nil {
				d.tables = append(d.tables, *n)
			}
			// ... RENAME [TO|AS] new (not RENAME COLUMN/INDEX/KEY)
			for p.skipTo("RENAME") {
				if p.peekAny("COLUMN", "INDEX", "KEY") {
					continue
				}
				p.acceptAny("TO", "AS")
				if n := p.name(); n != nil {
					d.others = append(d.others, *n)
				}
			}
		}
	case p.accept("DROP"):
		switch {
		case p.acceptAny("DATABASE", "SCHEMA"):
			d.kind = rules.EventDropDatabase
			ifClause("IF EXISTS", "IF", "EXISTS")
			d.database = p.name()
		case p.peekTable():
			d.dropTemporary = p.accept("TEMPORARY")
			p.accept("TABLE")
			d.kind = rules.EventDropTable
			d.dropIfExists = true
			ifClause("IF EXISTS", "IF", "EXISTS")
			for {
				n := p.name()
				if n == nil {
					break
				}
				d.tables = append(d.tables, *n)
				if !p.accept(",") {
					break
				}
			}
		case p.accept("INDEX"):
			d.kind = rules.EventDropIndex
			p.accept("IF", "EXISTS")
			if p.skipTo("ON") {
				if n := p.name(); n != nil {
					d.tables = append(d.tables, *n)
				}
			}
		}
	case p.accept("TRUNCATE"):
		p.accept("TABLE")
		d.kind = rules.EventTruncateTable
		if n := p.name(); n != nil {
			d.tables = append(d.tables, *n)
		}
	case p.accept("RENAME"):
		if p.accept("TABLE") {
			d.kind = rules.EventRenameTable
			for {
				from := p.name()
				if from == nil || !p.accept("TO") {
					break
				}
				to := p.name()
				if to == nil {
					break
				}
				d.tables = append(d.tables, *from)
				d.others = append(d.others, *to)
				if !p.accept(",") {
					break
				}
			}
		}
	}
	if d.kind != "" && d.database == nil && len(d.tables) == 0 {
		d.kind = "" // could not find what it is about
	}
	return d
}

func isDBOption(w string) bool {
	switch strings.ToUpper(w) {
	case "DEFAULT", "CHARACTER", "CHARSET", "COLLATE", "COMMENT", "READ", "ENCRYPTION", "UPGRADE":
		return true
	}
	return false
}

type ddlParser struct {
	toks []token
	i    int
}

// accept consumes the words (or punctuation) in sequence, or nothing.
func (p *ddlParser) accept(words ...string) bool {
	if p.i+len(words) > len(p.toks) {
		return false
	}
	for k, w := range words {
		t := p.toks[p.i+k]
		if t.kind == tPunct {
			if t.text != w {
				return false
			}
		} else if !t.is(w) {
			return false
		}
	}
	p.i += len(words)
	return true
}

func (p *ddlParser) acceptAny(words ...string) bool {
	for _, w := range words {
		if p.accept(w) {
			return true
		}
	}
	return false
}

func (p *ddlParser) peekAny(words ...string) bool {
	if p.i >= len(p.toks) {
		return false
	}
	for _, w := range words {
		if p.toks[p.i].is(w) {
			return true
		}
	}
	return false
}

func (p *ddlParser) peekTable() bool {
	return p.peekAny("TABLE") || (p.peekAny("TEMPORARY") && p.i+1 < len(p.toks) && p.toks[p.i+1].is("TABLE"))
}

// skipTo advances past the next occurrence of word at parenthesis depth 0.
func (p *ddlParser) skipTo(word string) bool {
	depth := 0
	for ; p.i < len(p.toks); p.i++ {
		t := p.toks[p.i]
		switch {
		case t.kind == tPunct && t.text == "(":
			depth++
		case t.kind == tPunct && t.text == ")":
			depth--
		case depth == 0 && t.is(word):
			p.i++
			return true
		}
	}
	return false
}

// name reads `a` or `a`.`b` (quoted or not).
func (p *ddlParser) name() *nameRef {
	if p.i >= len(p.toks) || (p.toks[p.i].kind != tWord && p.toks[p.i].kind != tIdent) {
		return nil
	}
	first := p.toks[p.i]
	p.i++
	n := &nameRef{name: first.text, start: first.start, end: first.end}
	if p.i+1 < len(p.toks) && p.toks[p.i].kind == tPunct && p.toks[p.i].text == "." &&
		(p.toks[p.i+1].kind == tWord || p.toks[p.i+1].kind == tIdent) {
		second := p.toks[p.i+1]
		p.i += 2
		n.schema, n.name, n.end = first.text, second.text, second.end
	}
	return n
}

// replaceSpans returns sql with each span replaced; spans must not overlap.
func replaceSpans(sql string, spans []nameRef, repl []string) string {
	type edit struct {
		start, end int
		text       string
	}
	edits := make([]edit, len(spans))
	for i, s := range spans {
		edits[i] = edit{s.start, s.end, repl[i]}
	}
	// sort by start
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

// isTxnControl reports BEGIN, COMMIT, ROLLBACK, SAVEPOINT, XA and similar statements that are
// part of a transaction rather than a DDL.
func isTxnControl(q string) (begin, end bool, control bool) {
	toks := tokenize(q)
	if len(toks) == 0 {
		return false, false, true
	}
	switch {
	case toks[0].is("BEGIN"):
		return true, false, true
	case toks[0].is("COMMIT"):
		return false, true, true
	case toks[0].is("ROLLBACK"):
		if len(toks) > 1 && toks[1].is("TO") {
			return false, false, true
		}
		return false, true, true
	case toks[0].is("SAVEPOINT"), toks[0].is("RELEASE"), toks[0].is("XA"), toks[0].is("SET"),
		toks[0].is("FLUSH"), toks[0].is("ANALYZE"), toks[0].is("OPTIMIZE"), toks[0].is("REPAIR"), toks[0].is("CHECK"):
		return false, false, true
	}
	return false, false, false
}
