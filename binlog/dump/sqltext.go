package dump

import (
	"encoding/hex"
	"strings"

	"github.com/dm-oss/dm/binlog/upstream"
)

// valueKind says how a column's values are written as SQL literals.
type valueKind uint8

const (
	kindString  valueKind = iota // quoted and escaped text
	kindNumber                   // the server's text as it is: integers, DECIMAL, FLOAT, DOUBLE
	kindBinary                   // hex literal: BINARY, VARBINARY, BLOBs, BIT, spatial types
	kindFloat32                  // FLOAT: read as DOUBLE (see selectExpr), written as a number
)

// kindOf maps information_schema.COLUMNS.DATA_TYPE to a valueKind.
func kindOf(dataType string) valueKind {
	switch strings.ToLower(dataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint",
		"decimal", "numeric", "double", "real", "double precision",
		"year": // YEAR 0 prints as "0", which only as a number means the year 0000
		return kindNumber
	case "float":
		return kindFloat32
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit",
		"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection", "geomcollection":
		return kindBinary
	}
	return kindString
}

// selectExpr is the expression that reads a column in the dump's SELECT. The
// text protocol prints a FLOAT with 6 significant digits, which does not
// round-trip; widened to DOUBLE it prints the float's exact value, which
// converts back to the same FLOAT on insert.
func selectExpr(col string, k valueKind) string {
	if k == kindFloat32 {
		return upstream.QuoteName(col) + "+0e0"
	}
	return upstream.QuoteName(col)
}

// escapeTable marks the bytes that need a backslash escape inside a quoted
// literal and gives the letter that follows the backslash. The escapes are
// those of mysql_real_escape_string, valid whenever NO_BACKSLASH_ESCAPES is
// off (the loader's session makes sure it is). With them a rendered row
// never contains a raw newline, so a data file holds one statement per line.
var escapeTable = func() (t [256]byte) {
	t[0] = '0'
	t['\n'] = 'n'
	t['\r'] = 'r'
	t['\\'] = '\\'
	t['\''] = '\''
	t['"'] = '"'
	t[0x1a] = 'Z'
	return t
}()

// appendValue appends v as an SQL literal of kind k; nil is NULL.
func appendValue(b []byte, v []byte, k valueKind) []byte {
	if v == nil {
		return append(b, "NULL"...)
	}
	switch k {
	case kindNumber, kindFloat32:
		return append(b, v...)
	case kindBinary:
		if len(v) == 0 {
			return append(b, "''"...)
		}
		b = append(b, '0', 'x')
		n := len(b)
		b = append(b, make([]byte, hex.EncodedLen(len(v)))...)
		hex.Encode(b[n:], v)
		return b
	}
	return appendQuoted(b, v)
}

// appendQuoted appends v as a single-quoted, backslash-escaped literal.
func appendQuoted(b []byte, v []byte) []byte {
	b = append(b, '\'')
	start := 0
	for i, c := range v {
		if e := escapeTable[c]; e != 0 {
			b = append(b, v[start:i]...)
			b = append(b, '\\', e)
			start = i + 1
		}
	}
	b = append(b, v[start:]...)
	return append(b, '\'')
}

// QuoteString renders s as a single-quoted SQL string literal with the same
// escaping as the data files.
func QuoteString(s string) string { return string(appendQuoted(nil, []byte(s))) }

// quoteNames renders a column list: `a`,`b`.
func quoteNames(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = upstream.QuoteName(c)
	}
	return strings.Join(q, ",")
}

// InsertPrefix is how every statement of the table's data files begins, up to
// and including "VALUES ": INSERT INTO `table` (`col`,...) VALUES . A loader
// replaces it with its own verb and the routed target name.
func (t TableMeta) InsertPrefix() string {
	return "INSERT INTO " + upstream.QuoteName(t.Table) + " (" + quoteNames(t.Columns) + ") VALUES "
}

// ColumnList is the table's dumped columns quoted for SQL: `a`,`b`.
func (t TableMeta) ColumnList() string { return quoteNames(t.Columns) }

// CreateTablePrefix is how the statement in the table's schema file begins:
// CREATE TABLE `table` ( . A loader replaces it to create the routed table.
func (t TableMeta) CreateTablePrefix() string {
	return "CREATE TABLE " + upstream.QuoteName(t.Table) + " ("
}

// KeyRange renders a condition that holds for rows whose key, compared
// lexicographically, lies in [min, max]; the bounds are SQL literals, one per
// key column, and a nil bound is open.
func KeyRange(cols, min, max []string) string {
	return rangeCond(cols, min, true, max, true)
}

// rangeCond renders lo <= key <= hi (or < when not inclusive) over the key
// columns; nil bounds are open.
func rangeCond(cols, lo []string, loIncl bool, hi []string, hiIncl bool) string {
	var conds []string
	if lo != nil {
		conds = append(conds, lexCompare(cols, lo, ">", loIncl))
	}
	if hi != nil {
		conds = append(conds, lexCompare(cols, hi, "<", hiIncl))
	}
	if len(conds) == 0 {
		return "1=1"
	}
	return strings.Join(conds, " AND ")
}

// lexCompare renders (cols) op (vals) for op "<" or ">" (op= when inclusive)
// as the expanded form c1 op v1 OR (c1 = v1 AND (c2 op v2 ...)), which every
// optimizer turns into index ranges, unlike row constructors on older
// servers.
func lexCompare(cols, vals []string, op string, inclusive bool) string {
	last := len(cols) - 1
	lastOp := op
	if inclusive {
		lastOp += "="
	}
	expr := upstream.QuoteName(cols[last]) + " " + lastOp + " " + vals[last]
	for i := last - 1; i >= 0; i-- {
		c := upstream.QuoteName(cols[i])
		expr = "(" + c + " " + op + " " + vals[i] + " OR (" + c + " = " + vals[i] + " AND " + expr + "))"
	}
	return expr
}
