package tracker

import (
	"regexp"
	"strings"
)

// token kinds of the small lexer used to rewrite MariaDB-only syntax.
const (
	tkSpace  = iota // whitespace and comments
	tkWord          // unquoted identifier, keyword or number
	tkQuoted        // `identifier`
	tkString        // 'string' or "string"
	tkPunct         // one other character
)

type token struct {
	kind int
	text string
}

// lex splits sql into tokens; concatenating the texts gives sql back.
func lex(sql string) []token {
	var toks []token
	i := 0
	for i < len(sql) {
		c := sql[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			for i < len(sql) && strings.IndexByte(" \t\n\r\f", sql[i]) >= 0 {
				i++
			}
			toks = append(toks, token{tkSpace, sql[start:i]})
		case c == '#' || (c == '-' && strings.HasPrefix(sql[i:], "-- ")):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			toks = append(toks, token{tkSpace, sql[start:i]})
		case c == '/' && strings.HasPrefix(sql[i:], "/*") && !strings.HasPrefix(sql[i:], "/*!") && !strings.HasPrefix(sql[i:], "/*M!"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = len(sql)
			} else {
				i += 2 + end + 2
			}
			toks = append(toks, token{tkSpace, sql[start:i]})
		case c == '`' || c == '\'' || c == '"':
			i++
			for i < len(sql) {
				if sql[i] == '\\' && c != '`' && i+1 < len(sql) {
					i += 2
					continue
				}
				if sql[i] == c {
					if i+1 < len(sql) && sql[i+1] == c {
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			kind := tkString
			if c == '`' {
				kind = tkQuoted
			}
			toks = append(toks, token{kind, sql[start:i]})
		case isWordByte(c):
			for i < len(sql) && isWordByte(sql[i]) {
				i++
			}
			toks = append(toks, token{tkWord, sql[start:i]})
		default:
			i++
			toks = append(toks, token{tkPunct, sql[start:i]})
		}
	}
	return toks
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isDigits(s string) bool {
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

// unquote returns an identifier token's name.
func unquote(t token) string {
	if t.kind == tkQuoted && len(t.text) >= 2 {
		return strings.ReplaceAll(t.text[1:len(t.text)-1], "``", "`")
	}
	return t.text
}

// normalized is the outcome of normalize.
type normalized struct {
	sql     string
	changed bool
	// orReplace: CREATE OR REPLACE was stripped (DROP + CREATE semantics).
	orReplace bool
	// types maps lower-cased column names to the MariaDB type they were declared with
	// (uuid, inet4, inet6) before being rewritten to BINARY(n).
	types map[string]string
	// notes describe each rewrite, for the log.
	notes []string
	// hiddenVersioning: WITH SYSTEM VERSIONING was dropped from a table without explicit
	// ROW START/END columns: MariaDB adds hidden row_start/row_end columns.
	hiddenVersioning bool
	// unsafe: the statement changes the table in a way the rewrite cannot express
	// (ADD/DROP SYSTEM VERSIONING): re-read the table instead.
	unsafe string
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

// normalize rewrites the MariaDB forms the TiDB parser rejects into equivalents it accepts,
// keeping string literals, quoted identifiers and comments intact.
func normalize(sql string) normalized {
	toks := lex(sql)
	out := normalized{types: map[string]string{}}
	del := make([]bool, len(toks))
	repl := map[int]string{}
	// sig lists the indexes of significant tokens; depth their parenthesis depth.
	var sig []int
	var depth []int
	d := 0
	for i, t := range toks {
		if t.kind == tkSpace {
			continue
		}
		if t.kind == tkPunct && t.text == ")" {
			d--
		}
		sig = append(sig, i)
		depth = append(depth, d)
		if t.kind == tkPunct && t.text == "(" {
			d++
		}
	}
	word := func(k int) string { // upper-cased unquoted word at sig[k], "" otherwise
		if k < 0 || k >= len(sig) {
			return ""
		}
		t := toks[sig[k]]
		if t.kind == tkWord {
			return strings.ToUpper(t.text)
		}
		if t.kind == tkPunct {
			return t.text
		}
		return ""
	}
	isName := func(k int) bool {
		if k < 0 || k >= len(sig) {
			return false
		}
		t := toks[sig[k]]
		return t.kind == tkQuoted || t.kind == tkWord
	}
	drop := func(ks ...int) {
		for _, k := range ks {
			del[sig[k]] = true
		}
	}
	note := func(s string) { out.notes = append(out.notes, s) }
	// colNameBefore finds the name of the column definition that token k belongs to.
	colNameBefore := func(k int) string {
		for j := k - 1; j >= 0; j-- {
			w := word(j)
			if depth[j] < depth[k] || depth[j] == depth[k] && (w == "," || w == "ADD" || w == "MODIFY" || w == "CHANGE") {
				x := j + 1
				for word(x) == "COLUMN" || word(x) == "IF" || word(x) == "NOT" || word(x) == "EXISTS" {
					x++
				}
				if w == "CHANGE" {
					x++
				}
				if isName(x) {
					return unquote(toks[sig[x]])
				}
				return ""
			}
		}
		return ""
	}

	hasRowStart := false
	droppedTableVersioning := false
	for k := 0; k < len(sig); k++ {
		w := word(k)
		if w == "" {
			t := toks[sig[k]]
			if t.kind == tkString {
				// COLLATE 'utf8mb4_uca1400_ai_ci'
				inner := t.text[1 : len(t.text)-1]
				if r, ok := ucaReplace(inner); ok {
					repl[sig[k]] = "'" + r + "'"
					note("collation " + inner + " tracked as " + r)
				}
			}
			continue
		}
		prev := word(k - 1)
		next := word(k + 1)
		switch {
		case k == 1 && w == "OR" && word(0) == "CREATE" && next == "REPLACE":
			drop(k, k+1)
			out.orReplace = true
			note("CREATE OR REPLACE applied as DROP + CREATE")
			k++
		case k == 1 && w == "ONLINE" && word(0) == "ALTER":
			drop(k)
			note("ALTER ONLINE applied as ALTER")
		case w == "IF" && next == "EXISTS" && prev == "TABLE" && word(k-2) == "ALTER" || w == "IF" && next == "EXISTS" && prev == "TABLE" && word(k-2) == "IGNORE":
			drop(k, k+1)
			note("ALTER TABLE IF EXISTS applied as ALTER TABLE")
			k++
		case w == "WAIT" && depth[k] == 0 && k+1 < len(sig) && isDigits(toks[sig[k+1]].text) && !namePosition[prev]:
			drop(k, k+1)
			note("WAIT n dropped")
			k++
		case w == "NOWAIT" && depth[k] == 0 && !namePosition[prev]:
			drop(k)
			note("NOWAIT dropped")
		case mariaTableOptions[w] && !namePosition[prev] && (next == "=" || next == "DEFAULT" || isDigits(next) || next == "YES" || next == "NO"):
			end := k + 1
			if next == "=" {
				end++
			}
			for j := k; j <= end && j < len(sig); j++ {
				drop(j)
			}
			note(w + " dropped")
			k = end
		case w == "INVISIBLE" && !namePosition[prev] && !typeWords[next]:
			drop(k)
			note("INVISIBLE dropped (the column is still in every row image)")
		case w == "COMPRESSED" && prev != "=" && prev != "ROW_FORMAT" && !namePosition[prev] && !typeWords[next]:
			drop(k)
			if col := colNameBefore(k); col != "" {
				out.types[strings.ToLower(col)] = "compressed"
			}
			if next == "=" && k+2 < len(sig) {
				drop(k+1, k+2)
				k += 2
			}
			note("COMPRESSED column attribute dropped (the binlog carries compressed values)")
		case w == "PERSISTENT" && prev == ")":
			repl[sig[k]] = "STORED"
			note("PERSISTENT applied as STORED")
		case mariaTypes[w] != "" && next != "(" && isName(k-1) && !namePosition[prev] && prev != "DEFAULT" && prev != "COLLATE" && prev != "CHARSET" && prev != "SET":
			repl[sig[k]] = mariaTypes[w]
			out.types[strings.ToLower(unquote(toks[sig[k-1]]))] = strings.ToLower(w)
			note(w + " column tracked as " + mariaTypes[w])
		case (w == "WITH" || w == "WITHOUT") && next == "SYSTEM" && word(k+2) == "VERSIONING":
			drop(k, k+1, k+2)
			if w == "WITH" && depth[k] == 0 {
				droppedTableVersioning = true
			}
			note(w + " SYSTEM VERSIONING dropped")
			k += 2
		case (w == "ADD" || w == "DROP") && next == "SYSTEM" && word(k+2) == "VERSIONING":
			out.unsafe = w + " SYSTEM VERSIONING adds or removes hidden columns"
		case w == "GENERATED" && next == "ALWAYS" && word(k+2) == "AS" && word(k+3) == "ROW" && (word(k+4) == "START" || word(k+4) == "END"):
			drop(k, k+1, k+2, k+3, k+4)
			hasRowStart = true
			note("GENERATED ALWAYS AS ROW START/END dropped")
			k += 4
		case w == "AS" && next == "ROW" && (word(k+2) == "START" || word(k+2) == "END"):
			drop(k, k+1, k+2)
			hasRowStart = true
			note("AS ROW START/END dropped")
			k += 2
		case w == "PERIOD" && next == "FOR" && word(k+3) == "(":
			// [,] PERIOD FOR name (a, b)
			j := k + 3
			for j < len(sig) && word(j) != ")" {
				j++
			}
			if prev == "," {
				drop(k - 1)
			}
			for x := k; x <= j && x < len(sig); x++ {
				drop(x)
			}
			note("PERIOD FOR dropped")
			k = j
		case w == "PARTITION" && next == "BY" && word(k+2) == "SYSTEM_TIME" && depth[k] == 0:
			for x := k; x < len(sig); x++ {
				drop(x)
			}
			note("PARTITION BY SYSTEM_TIME dropped")
			k = len(sig)
		default:
			if prev == "COLLATE" || prev == "=" && word(k-2) == "COLLATE" {
				if r, ok := ucaReplace(toks[sig[k]].text); ok {
					repl[sig[k]] = r
					note("collation " + toks[sig[k]].text + " tracked as " + r)
				}
			}
		}
	}
	if droppedTableVersioning && !hasRowStart {
		out.hiddenVersioning = true
	}
	var b strings.Builder
	for i, t := range toks {
		if del[i] {
			out.changed = true
			// keep tokens apart
			b.WriteByte(' ')
			continue
		}
		if r, ok := repl[i]; ok {
			out.changed = true
			b.WriteString(r)
			continue
		}
		b.WriteString(t.text)
	}
	out.sql = b.String()
	return out
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

// stripEnforced removes the ENFORCED keyword the TiDB parser restores after CHECK (...):
// MariaDB rejects it and it is the default anyway.
func stripEnforced(sql string) string {
	toks := lex(sql)
	var b strings.Builder
	prev := ""
	for _, t := range toks {
		if t.kind == tkWord && strings.EqualFold(t.text, "ENFORCED") && prev == ")" {
			continue
		}
		if t.kind != tkSpace {
			prev = t.text
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// stmtRefs guesses, for a statement the parser cannot read, which tables it touches:
// reread are tables whose definition changed, dropped ones that are gone. ok is false when
// the statement does not look like a table DDL at all.
func stmtRefs(sql, currentSchema string) (reread, dropped []TableRef, ignorable, ok bool) {
	var sig []token
	for _, t := range lex(sql) {
		if t.kind != tkSpace {
			sig = append(sig, t)
		}
	}
	up := func(k int) string {
		if k < len(sig) && sig[k].kind == tkWord {
			return strings.ToUpper(sig[k].text)
		}
		if k < len(sig) && sig[k].kind == tkPunct {
			return sig[k].text
		}
		return ""
	}
	// name reads [schema.]table at k and returns the index after it.
	name := func(k int) (TableRef, int, bool) {
		if k >= len(sig) || (sig[k].kind != tkWord && sig[k].kind != tkQuoted) {
			return TableRef{}, k, false
		}
		first := unquote(sig[k])
		if up(k+1) == "." && k+2 < len(sig) && (sig[k+2].kind == tkWord || sig[k+2].kind == tkQuoted) {
			return TableRef{first, unquote(sig[k+2])}, k + 3, true
		}
		if currentSchema == "" {
			return TableRef{}, k, false
		}
		return TableRef{currentSchema, first}, k + 1, true
	}
	skip := func(k int, words ...string) int {
		for _, w := range words {
			if up(k) == w {
				k++
			}
		}
		return k
	}
	k := 0
	switch up(0) {
	case "CREATE":
		k = skip(1, "OR", "REPLACE")
		k = skip(k, "TEMPORARY")
		switch up(k) {
		case "TABLE":
			if up(k-1) == "TEMPORARY" {
				return nil, nil, true, false
			}
			k = skip(k+1, "IF", "NOT", "EXISTS")
			if r, _, ok := name(k); ok {
				return []TableRef{r}, nil, false, true
			}
			return nil, nil, false, false
		case "UNIQUE", "FULLTEXT", "SPATIAL", "INDEX":
			for ; k < len(sig); k++ {
				if up(k) == "ON" {
					if r, _, ok := name(k + 1); ok {
						return []TableRef{r}, nil, false, true
					}
					return nil, nil, false, false
				}
			}
			return nil, nil, false, false
		case "DATABASE", "SCHEMA":
			return nil, nil, false, false
		}
		return nil, nil, true, false
	case "ALTER":
		k = skip(1, "ONLINE", "IGNORE")
		if up(k) != "TABLE" {
			if up(k) == "DATABASE" || up(k) == "SCHEMA" {
				return nil, nil, false, false
			}
			return nil, nil, true, false
		}
		k = skip(k+1, "IF", "EXISTS")
		r, k, ok := name(k)
		if !ok {
			return nil, nil, false, false
		}
		reread = []TableRef{r}
		for ; k < len(sig); k++ {
			if up(k) == "RENAME" && up(k+1) != "COLUMN" && up(k+1) != "INDEX" && up(k+1) != "KEY" {
				j := skip(k+1, "TO", "AS")
				if nr, _, ok := name(j); ok {
					dropped = []TableRef{r}
					reread = []TableRef{nr}
				}
			}
		}
		return reread, dropped, false, true
	case "DROP":
		k = skip(1, "TEMPORARY")
		if up(k) == "INDEX" {
			for ; k < len(sig); k++ {
				if up(k) == "ON" {
					if r, _, ok := name(k + 1); ok {
						return []TableRef{r}, nil, false, true
					}
				}
			}
			return nil, nil, false, false
		}
		if up(k) != "TABLE" && up(k) != "TABLES" {
			if up(k) == "DATABASE" || up(k) == "SCHEMA" {
				return nil, nil, false, false
			}
			return nil, nil, true, false
		}
		if up(k-1) == "TEMPORARY" {
			return nil, nil, true, false
		}
		k = skip(k+1, "IF", "EXISTS")
		for {
			r, j, ok := name(k)
			if !ok {
				return nil, nil, false, false
			}
			dropped = append(dropped, r)
			if up(j) != "," {
				break
			}
			k = j + 1
		}
		return nil, dropped, false, true
	case "RENAME":
		k = skip(1, "TABLE", "TABLES", "IF", "EXISTS")
		if up(1) != "TABLE" && up(1) != "TABLES" {
			return nil, nil, true, false
		}
		for {
			from, j, ok := name(k)
			if !ok {
				return nil, nil, false, false
			}
			for j < len(sig) && up(j) != "TO" {
				j++
			}
			to, j2, ok := name(j + 1)
			if !ok {
				return nil, nil, false, false
			}
			dropped = append(dropped, from)
			reread = append(reread, to)
			if up(j2) != "," {
				break
			}
			k = skip(j2+1, "IF", "EXISTS")
		}
		return reread, dropped, false, true
	case "TRUNCATE":
		return nil, nil, true, true
	}
	return nil, nil, nonSchemaHead[up(0)], false
}

// nonSchemaHead are statement heads that never change a table's definition.
var nonSchemaHead = map[string]bool{
	"XA": true, "BEGIN": true, "COMMIT": true, "ROLLBACK": true, "SAVEPOINT": true, "RELEASE": true,
	"GRANT": true, "REVOKE": true, "SET": true, "FLUSH": true, "ANALYZE": true, "OPTIMIZE": true,
	"REPAIR": true, "CHECK": true, "INSTALL": true, "UNINSTALL": true, "LOCK": true, "UNLOCK": true,
	"SHOW": true, "DO": true, "CALL": true, "USE": true, "START": true, "RESET": true, "PURGE": true,
	"KILL": true, "CHECKSUM": true, "SELECT": true, "HANDLER": true, "BINLOG": true,
}
