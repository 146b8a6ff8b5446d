package ddl

import "github.com/dm-oss/dm/binlog/rules"

// The head reader: for a statement the TiDB parser cannot read, or one a MariaDB target must
// get as written, it finds the kind and the byte spans of the table and database names, so
// that routed names can be put in their place and the rest of the text passed through. It
// understands the head of these statements and nothing else:
//
//	CREATE [OR REPLACE] TABLE [IF NOT EXISTS] t ... [LIKE s | (LIKE s)]
//	ALTER [ONLINE] [IGNORE] TABLE [IF EXISTS] t ... [RENAME [TO|AS] u]
//	DROP TABLE [IF EXISTS] t [, t2 ...]
//	TRUNCATE [TABLE] t
//	RENAME TABLE t TO u [, t2 TO u2 ...]
//	CREATE [OR REPLACE] [UNIQUE|FULLTEXT|SPATIAL] INDEX [IF NOT EXISTS] i ... ON t ...
//	DROP INDEX [IF EXISTS] i ON t
//	CREATE|DROP|ALTER DATABASE|SCHEMA [IF [NOT] EXISTS] d ...

// nameRef is a table or database name found in the text.
type nameRef struct {
	schema, name string // schema "" when unqualified
	start, end   int    // byte span in the statement
}

// head is what the head reader found.
type head struct {
	kind     rules.EventKind
	database nameRef
	tables   []nameRef
	others   []nameRef
	// ifAt/ifText: where IF [NOT] EXISTS goes when the statement lacks it (-1: nowhere).
	ifAt   int
	ifText string
}

type headReader struct {
	toks []token // significant tokens
	i    int
	h    head
}

func readHead(sql string) *head {
	p := &headReader{toks: significant(lex(sql)), h: head{ifAt: -1}}
	switch {
	case p.accept("CREATE"):
		p.create()
	case p.accept("ALTER"):
		p.alter()
	case p.accept("DROP"):
		p.drop()
	case p.accept("TRUNCATE"):
		p.accept("TABLE")
		p.h.kind = rules.EventTruncateTable
		p.tableInto(&p.h.tables)
	case p.accept("RENAME", "TABLE"):
		p.h.kind = rules.EventRenameTable
		for {
			from := p.name()
			if from == nil || !p.accept("TO") {
				break
			}
			to := p.name()
			if to == nil {
				break
			}
			p.h.tables = append(p.h.tables, *from)
			p.h.others = append(p.h.others, *to)
			if !p.accept(",") {
				break
			}
		}
	}
	if p.h.kind != "" && p.h.kind != KindAlterDatabase && p.h.database.name == "" && len(p.h.tables) == 0 {
		p.h.kind = "" // could not find what it is about
	}
	return &p.h
}

func (p *headReader) create() {
	orReplace := p.accept("OR", "REPLACE")
	switch {
	case p.acceptAny("DATABASE", "SCHEMA"):
		p.h.kind = rules.EventCreateDatabase
		p.ifClause(!orReplace, "IF NOT EXISTS", "IF", "NOT", "EXISTS")
		p.databaseName()
	case p.accept("TABLE"):
		p.h.kind = rules.EventCreateTable
		p.ifClause(!orReplace, "IF NOT EXISTS", "IF", "NOT", "EXISTS")
		p.tableInto(&p.h.tables)
		if p.accept("LIKE") || p.accept("(", "LIKE") {
			p.tableInto(&p.h.others)
		}
	default:
		p.acceptAny("UNIQUE", "FULLTEXT", "SPATIAL")
		if p.accept("INDEX") || p.accept("KEY") {
			p.h.kind = rules.EventCreateIndex
			if p.skipTo("ON") {
				p.tableInto(&p.h.tables)
			}
		}
	}
}

func (p *headReader) alter() {
	p.accept("ONLINE")
	p.accept("IGNORE")
	switch {
	case p.acceptAny("DATABASE", "SCHEMA"):
		p.h.kind = KindAlterDatabase
		// ALTER DATABASE [name] options: the name is optional.
		if p.i < len(p.toks) && (p.toks[p.i].kind == tkQuoted || p.toks[p.i].kind == tkWord && !isDatabaseOption(p.toks[p.i].upper())) {
			p.databaseName()
		}
	case p.accept("TABLE"):
		p.h.kind = rules.EventAlterTable
		p.accept("IF", "EXISTS")
		p.tableInto(&p.h.tables)
		// ... RENAME [TO|AS] new (not RENAME COLUMN/INDEX/KEY)
		for p.skipTo("RENAME") {
			if p.peekAny("COLUMN", "INDEX", "KEY") {
				continue
			}
			p.acceptAny("TO", "AS")
			p.tableInto(&p.h.others)
		}
	}
}

func (p *headReader) drop() {
	switch {
	case p.acceptAny("DATABASE", "SCHEMA"):
		p.h.kind = rules.EventDropDatabase
		p.ifClause(true, "IF EXISTS", "IF", "EXISTS")
		p.databaseName()
	case p.accept("TABLE"):
		p.h.kind = rules.EventDropTable
		p.ifClause(true, "IF EXISTS", "IF", "EXISTS")
		for p.tableInto(&p.h.tables) && p.accept(",") {
		}
	case p.accept("INDEX"):
		p.h.kind = rules.EventDropIndex
		if p.skipTo("ON") {
			p.tableInto(&p.h.tables)
		}
	}
}

// ifClause consumes IF [NOT] EXISTS, or notes where it goes when missing (and add is set).
func (p *headReader) ifClause(add bool, text string, words ...string) {
	if !p.accept(words...) && add && p.i > 0 {
		p.h.ifAt, p.h.ifText = p.toks[p.i-1].end, " "+text
	}
}

func isDatabaseOption(w string) bool {
	switch w {
	case "DEFAULT", "CHARACTER", "CHARSET", "COLLATE", "COMMENT", "READ", "ENCRYPTION", "UPGRADE":
		return true
	}
	return false
}

// accept consumes the words (or punctuation) in sequence, or nothing.
func (p *headReader) accept(words ...string) bool {
	if p.i+len(words) > len(p.toks) {
		return false
	}
	for k, w := range words {
		if !p.toks[p.i+k].is(w) {
			return false
		}
	}
	p.i += len(words)
	return true
}

func (p *headReader) acceptAny(words ...string) bool {
	for _, w := range words {
		if p.accept(w) {
			return true
		}
	}
	return false
}

func (p *headReader) peekAny(words ...string) bool {
	for _, w := range words {
		if p.i < len(p.toks) && p.toks[p.i].is(w) {
			return true
		}
	}
	return false
}

// skipTo advances past the next occurrence of word at parenthesis depth 0.
func (p *headReader) skipTo(word string) bool {
	depth := 0
	for ; p.i < len(p.toks); p.i++ {
		t := p.toks[p.i]
		switch {
		case t.is("("):
			depth++
		case t.is(")"):
			depth--
		case depth == 0 && t.is(word):
			p.i++
			return true
		}
	}
	return false
}

func (p *headReader) tableInto(list *[]nameRef) bool {
	n := p.name()
	if n != nil {
		*list = append(*list, *n)
	}
	return n != nil
}

func (p *headReader) databaseName() {
	if n := p.name(); n != nil {
		p.h.database = *n
	}
}

// name reads `a` or `a`.`b` (quoted or not).
func (p *headReader) name() *nameRef {
	if p.i >= len(p.toks) || !p.toks[p.i].isName() {
		return nil
	}
	first := p.toks[p.i]
	p.i++
	n := &nameRef{name: first.name(), start: first.start, end: first.end}
	if p.i+1 < len(p.toks) && p.toks[p.i].is(".") && p.toks[p.i+1].isName() {
		second := p.toks[p.i+1]
		p.i += 2
		n.schema, n.name, n.end = first.name(), second.name(), second.end
	}
	return n
}
