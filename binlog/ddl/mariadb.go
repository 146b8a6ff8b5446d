package ddl

import (
	"regexp"
	"strings"
)

// Rewrite tells how a statement was rewritten so that the TiDB parser accepts it: MariaDB
// has forms the parser rejects (CREATE OR REPLACE, ALTER ONLINE, WAIT/NOWAIT, PAGE_COMPRESSED,
// INVISIBLE, COMPRESSED, PERSISTENT, UUID/INET4/INET6, uca1400 collations, system
// versioning). String literals, quoted identifiers and comments are kept as they are.
type Rewrite struct {
	// SQL is the rewritten statement.
	SQL string
	// OrReplace: CREATE OR REPLACE was removed (it means DROP + CREATE).
	OrReplace bool
	// Types maps lower-cased column names to the MariaDB type they were declared with (uuid,
	// inet4, inet6) before being rewritten to BINARY(n), or to "compressed".
	Types map[string]string
	// Notes say what was rewritten, for the log.
	Notes []string
	// HiddenVersioning: WITH SYSTEM VERSIONING was removed from a table without explicit ROW
	// START/END columns, to which MariaDB adds hidden row_start/row_end columns.
	HiddenVersioning bool
	// Lossy: the rewritten text means something else on a MariaDB server (a type, a
	// collation, visibility, compression or versioning was dropped or replaced). A MariaDB
	// target then gets the statement as written rather than restored from the rewrite.
	Lossy bool
}

var (
	ucaCollation = regexp.MustCompile(`(?i)^([a-z0-9]+)_uca1400(_[a-z0-9_]*)?$`)
	ucaBare      = regexp.MustCompile(`(?i)^uca1400(_[a-z0-9_]*)?$`)
)

// mariaTypes maps MariaDB-only data types to the fixed-size binary form their values take in
// the binlog's row images.
var mariaTypes = map[string]string{"UUID": "BINARY(16)", "INET6": "BINARY(16)", "INET4": "BINARY(4)"}

// mariaTableOptions are MariaDB table (or column) options the TiDB parser does not know; none
// affects how rows are encoded in the binlog.
var mariaTableOptions = map[string]bool{
	"PAGE_COMPRESSED": true, "PAGE_COMPRESSION_LEVEL": true, "ENCRYPTED": true,
	"ENCRYPTION_KEY_ID": true, "IETF_QUOTES": true,
}

// namePosition are keywords after which a word is a column or index name, not an attribute.
var namePosition = map[string]bool{
	",": true, "(": true, ".": true, "ADD": true, "COLUMN": true, "CHANGE": true, "MODIFY": true,
	"AFTER": true, "DROP": true, "RENAME": true, "TO": true, "AS": true, "BY": true, "EXISTS": true,
	"KEY": true, "INDEX": true, "TABLE": true, "ALTER": true, "ON": true,
}

// typeWords start a column type: a word followed by one of them is a column name.
var typeWords = map[string]bool{
	"INT": true, "INTEGER": true, "TINYINT": true, "SMALLINT": true, "MEDIUMINT": true, "BIGINT": true,
	"CHAR": true, "VARCHAR": true, "TEXT": true, "TINYTEXT": true, "MEDIUMTEXT": true, "LONGTEXT": true,
	"BLOB": true, "TINYBLOB": true, "MEDIUMBLOB": true, "LONGBLOB": true, "BINARY": true, "VARBINARY": true,
	"DECIMAL": true, "NUMERIC": true, "FLOAT": true, "DOUBLE": true, "REAL": true, "BIT": true, "BOOL": true,
	"BOOLEAN": true, "DATE": true, "DATETIME": true, "TIMESTAMP": true, "TIME": true, "YEAR": true,
	"ENUM": true, "SET": true, "JSON": true, "UUID": true, "INET4": true, "INET6": true, "SERIAL": true,
}

// rewriter holds the state of one rewriteMariaDB call.
type rewriter struct {
	toks  []token // every token
	sig   []int   // indexes of the significant tokens
	depth []int   // parenthesis depth of each significant token
	del   []bool
	repl  map[int]string
	out   Rewrite

	hasRowStart, droppedTableVersioning bool
}

// rewriteMariaDB rewrites the MariaDB forms the TiDB parser rejects into equivalents it
// accepts. ok is false when there was nothing to rewrite.
func rewriteMariaDB(sql string) (rw Rewrite, ok bool) {
	w := &rewriter{toks: lex(sql), repl: map[int]string{}, out: Rewrite{Types: map[string]string{}}}
	w.del = make([]bool, len(w.toks))
	d := 0
	for i, t := range w.toks {
		if t.kind == tkSpace {
			continue
		}
		if t.is(")") {
			d--
		}
		w.sig = append(w.sig, i)
		w.depth = append(w.depth, d)
		if t.is("(") {
			d++
		}
	}
	for k := 0; k < len(w.sig); k++ {
		k = w.step(k)
	}
	if w.droppedTableVersioning && !w.hasRowStart {
		w.out.HiddenVersioning = true
	}
	var b strings.Builder
	changed := false
	for i, t := range w.toks {
		switch r, replaced := w.repl[i]; {
		case w.del[i]:
			changed = true
			b.WriteByte(' ') // keeps the neighbours apart
		case replaced:
			changed = true
			b.WriteString(r)
		default:
			b.WriteString(t.text)
		}
	}
	w.out.SQL = b.String()
	return w.out, changed
}

// word is the upper-cased keyword (or punctuation) of significant token k; "" otherwise.
func (w *rewriter) word(k int) string {
	if k < 0 || k >= len(w.sig) {
		return ""
	}
	return w.toks[w.sig[k]].upper()
}

func (w *rewriter) isName(k int) bool {
	return k >= 0 && k < len(w.sig) && w.toks[w.sig[k]].isName()
}

func (w *rewriter) drop(ks ...int) {
	for _, k := range ks {
		if k < len(w.sig) {
			w.del[w.sig[k]] = true
		}
	}
}

// note records a rewrite; lossy ones change the statement's meaning on MariaDB.
func (w *rewriter) note(lossy bool, s string) {
	w.out.Notes = append(w.out.Notes, s)
	w.out.Lossy = w.out.Lossy || lossy
}

func (w *rewriter) isDigits(k int) bool {
	if k < 0 || k >= len(w.sig) {
		return false
	}
	s := w.toks[w.sig[k]].text
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// step rewrites what starts at significant token k and returns the last token it consumed.
func (w *rewriter) step(k int) int {
	wd := w.word(k)
	if wd == "" {
		w.collationString(k)
		return k
	}
	prev, next := w.word(k-1), w.word(k+1)
	switch {
	case k == 1 && wd == "OR" && w.word(0) == "CREATE" && next == "REPLACE":
		w.drop(k, k+1)
		w.out.OrReplace = true
		w.note(false, "CREATE OR REPLACE applied as DROP + CREATE")
		return k + 1
	case k == 1 && wd == "ONLINE" && w.word(0) == "ALTER":
		w.drop(k)
		w.note(false, "ALTER ONLINE applied as ALTER")
	case wd == "IF" && next == "EXISTS" && prev == "TABLE" && (w.word(k-2) == "ALTER" || w.word(k-2) == "IGNORE"):
		w.drop(k, k+1)
		w.note(true, "ALTER TABLE IF EXISTS applied as ALTER TABLE")
		return k + 1
	case wd == "WAIT" && w.depth[k] == 0 && w.isDigits(k+1) && !namePosition[prev]:
		w.drop(k, k+1)
		w.note(false, "WAIT n dropped")
		return k + 1
	case wd == "NOWAIT" && w.depth[k] == 0 && !namePosition[prev]:
		w.drop(k)
		w.note(false, "NOWAIT dropped")
	case mariaTableOptions[wd] && !namePosition[prev] && (next == "=" || next == "DEFAULT" || w.isDigits(k+1) || next == "YES" || next == "NO"):
		end := k + 1
		if next == "=" {
			end++
		}
		for j := k; j <= end; j++ {
			w.drop(j)
		}
		w.note(true, wd+" dropped")
		return end
	case wd == "INVISIBLE" && !namePosition[prev] && !typeWords[next]:
		w.drop(k)
		w.note(true, "INVISIBLE dropped (the column is still in every row image)")
	case wd == "COMPRESSED" && prev != "=" && prev != "ROW_FORMAT" && !namePosition[prev] && !typeWords[next]:
		return w.compressed(k, next)
	case wd == "PERSISTENT" && prev == ")":
		w.repl[w.sig[k]] = "STORED"
		w.note(false, "PERSISTENT applied as STORED")
	case mariaTypes[wd] != "" && next != "(" && w.isName(k-1) && !namePosition[prev] && prev != "DEFAULT" && prev != "COLLATE" && prev != "CHARSET" && prev != "SET":
		w.repl[w.sig[k]] = mariaTypes[wd]
		w.out.Types[strings.ToLower(w.toks[w.sig[k-1]].name())] = strings.ToLower(wd)
		w.note(true, wd+" column tracked as "+mariaTypes[wd])
	default:
		return w.versioning(k, wd, prev, next)
	}
	return k
}

// compressed drops MariaDB's COMPRESSED column attribute (and its optional = method).
func (w *rewriter) compressed(k int, next string) int {
	w.drop(k)
	if col := w.columnNameBefore(k); col != "" {
		w.out.Types[strings.ToLower(col)] = "compressed"
	}
	w.note(true, "COMPRESSED column attribute dropped (the binlog carries compressed values)")
	if next == "=" && k+2 < len(w.sig) {
		w.drop(k+1, k+2)
		return k + 2
	}
	return k
}

// versioning handles system versioning and the remaining collation names.
func (w *rewriter) versioning(k int, wd, prev, next string) int {
	switch {
	case (wd == "WITH" || wd == "WITHOUT") && next == "SYSTEM" && w.word(k+2) == "VERSIONING":
		w.drop(k, k+1, k+2)
		if wd == "WITH" && w.depth[k] == 0 {
			w.droppedTableVersioning = true
		}
		w.note(true, wd+" SYSTEM VERSIONING dropped")
		return k + 2
	case wd == "GENERATED" && next == "ALWAYS" && w.word(k+2) == "AS" && w.word(k+3) == "ROW" && (w.word(k+4) == "START" || w.word(k+4) == "END"):
		w.drop(k, k+1, k+2, k+3, k+4)
		w.hasRowStart = true
		w.note(true, "GENERATED ALWAYS AS ROW START/END dropped")
		return k + 4
	case wd == "AS" && next == "ROW" && (w.word(k+2) == "START" || w.word(k+2) == "END"):
		w.drop(k, k+1, k+2)
		w.hasRowStart = true
		w.note(true, "AS ROW START/END dropped")
		return k + 2
	case wd == "PERIOD" && next == "FOR" && w.word(k+3) == "(":
		// [,] PERIOD FOR name (a, b)
		j := k + 3
		for j < len(w.sig) && w.word(j) != ")" {
			j++
		}
		if prev == "," {
			w.drop(k - 1)
		}
		for x := k; x <= j; x++ {
			w.drop(x)
		}
		w.note(true, "PERIOD FOR dropped")
		return j
	case wd == "PARTITION" && next == "BY" && w.word(k+2) == "SYSTEM_TIME" && w.depth[k] == 0:
		for x := k; x < len(w.sig); x++ {
			w.drop(x)
		}
		w.note(true, "PARTITION BY SYSTEM_TIME dropped")
		return len(w.sig)
	case prev == "COLLATE" || prev == "=" && w.word(k-2) == "COLLATE":
		if r, ok := ucaReplace(w.toks[w.sig[k]].text); ok {
			w.repl[w.sig[k]] = r
			w.note(true, "collation "+w.toks[w.sig[k]].text+" tracked as "+r)
		}
	}
	return k
}

// collationString rewrites COLLATE 'utf8mb4_uca1400_ai_ci'.
func (w *rewriter) collationString(k int) {
	t := w.toks[w.sig[k]]
	if t.kind != tkString || len(t.text) < 2 {
		return
	}
	inner := t.text[1 : len(t.text)-1]
	if r, ok := ucaReplace(inner); ok {
		w.repl[w.sig[k]] = "'" + r + "'"
		w.note(true, "collation "+inner+" tracked as "+r)
	}
}

// columnNameBefore finds the name of the column definition that token k belongs to.
func (w *rewriter) columnNameBefore(k int) string {
	for j := k - 1; j >= 0; j-- {
		wd := w.word(j)
		if w.depth[j] < w.depth[k] || w.depth[j] == w.depth[k] && (wd == "," || wd == "ADD" || wd == "MODIFY" || wd == "CHANGE") {
			x := j + 1
			for w.word(x) == "COLUMN" || w.word(x) == "IF" || w.word(x) == "NOT" || w.word(x) == "EXISTS" {
				x++
			}
			if wd == "CHANGE" {
				x++
			}
			if w.isName(x) {
				return w.toks[w.sig[x]].name()
			}
			return ""
		}
	}
	return ""
}

func ucaReplace(name string) (string, bool) {
	if m := ucaCollation.FindStringSubmatch(name); m != nil {
		cs := strings.ToLower(m[1])
		if cs == "utf8" || cs == "utf8mb3" {
			return "utf8_unicode_ci", true
		}
		return cs + "_unicode_ci", true
	}
	if ucaBare.MatchString(name) {
		return "utf8mb4_unicode_ci", true
	}
	return "", false
}
