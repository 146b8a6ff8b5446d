package syncer

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dm-oss/dm/binlog/upstream"

	"github.com/dm-oss/dm/binlog/schema"
)

// colKind says how a column's binlog value is converted and written as an SQL literal.
type colKind uint8

const (
	kOther   colKind = iota // passed through (quoted when a string)
	kInt                    // signed integer
	kUint                   // unsigned integer: go-mysql may hand it over signed
	kDecimal                // exact decimal string, written unquoted
	kFloat                  // FLOAT/DOUBLE
	kText                   // character data (CHAR, VARCHAR, TEXT, MariaDB JSON)
	kBinary                 // BINARY, VARBINARY, BLOB, GEOMETRY: written as X'..'
	kEnum                   // ENUM: the binlog has the 1-based index
	kSet                    // SET: the binlog has the bit mask
	kBit                    // BIT: unsigned integer
	kJSON                   // MySQL JSON: text
	kTime                   // DATE, TIME, DATETIME, TIMESTAMP, YEAR strings
)

// colInfo is what the dispatcher and the workers know about one column.
type colInfo struct {
	name      string // as in the table
	quoted    string // `name`
	kind      colKind
	bits      uint // width of an unsigned integer (8, 16, 24, 32, 64)
	enum      []string
	charset   string // for kText: "" or a utf8 flavour means plain literals
	foldKey   bool   // case/accent-insensitive collation: fold key values before hashing
	generated bool
}

func newColInfo(c schema.Column) colInfo {
	ci := colInfo{name: c.Name, quoted: upstream.QuoteName(c.Name), generated: c.Generated, enum: c.EnumValues}
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		ci.kind = kInt
		if c.Unsigned {
			ci.kind = kUint
			ci.bits = map[string]uint{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}[c.DataType]
		}
	case "decimal", "numeric":
		ci.kind = kDecimal
	case "float", "double", "real":
		ci.kind = kFloat
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		ci.kind = kText
		ci.charset = strings.ToLower(c.Charset)
		coll := strings.ToLower(c.Collation)
		ci.foldKey = strings.HasSuffix(coll, "_ci") || strings.Contains(coll, "_ai_")
		if ci.charset == "binary" {
			ci.kind = kBinary
		}
	case "json":
		ci.kind = kJSON
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
		"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection", "geomcollection", "vector":
		ci.kind = kBinary
	case "enum":
		ci.kind = kEnum
	case "set":
		ci.kind = kSet
	case "bit":
		ci.kind = kBit
	case "date", "time", "datetime", "timestamp", "year":
		ci.kind = kTime
	}
	return ci
}

// convert normalises a go-mysql row value for column c to nil, int64, uint64, float64, string
// or []byte.
func (c *colInfo) convert(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.kind {
	case kInt:
		return toInt64(v)
	case kUint, kBit:
		return c.toUint64(v)
	case kFloat:
		switch x := v.(type) {
		case float32:
			return float64(x), nil
		case float64:
			return x, nil
		}
	case kEnum:
		i, err := toInt64(v)
		if err != nil {
			if s, ok := v.(string); ok {
				return s, nil
			}
			return nil, err
		}
		if i <= 0 || int(i) > len(c.enum) {
			return "", nil // the "error" member 0
		}
		return c.enum[i-1], nil
	case kSet:
		i, err := toInt64(v)
		if err != nil {
			if s, ok := v.(string); ok {
				return s, nil
			}
			return nil, err
		}
		bits := uint64(i)
		var b strings.Builder
		for n, name := range c.enum {
			if n < 64 && bits&(1<<uint(n)) != 0 {
				if b.Len() > 0 {
					b.WriteByte(',')
				}
				b.WriteString(name)
			}
		}
		return b.String(), nil
	case kText, kJSON:
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
	case kBinary:
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
	}
	switch x := v.(type) {
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint:
		return uint64(x), nil
	case float32:
		return float64(x), nil
	case int64, uint64, float64, string, []byte:
		return x, nil
	case fmt.Stringer: // e.g. decimal.Decimal when a reader sets UseDecimal
		return x.String(), nil
	}
	return nil, fmt.Errorf("column %s: unsupported binlog value %T", c.quoted, v)
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	}
	return 0, fmt.Errorf("want an integer, got %T", v)
}

func (c *colInfo) toUint64(v any) (uint64, error) {
	switch x := v.(type) {
	case int8:
		return uint64(uint8(x)), nil
	case int16:
		return uint64(uint16(x)), nil
	case int32:
		if c.bits == 24 {
			return uint64(uint32(x) & 0xFFFFFF), nil
		}
		return uint64(uint32(x)), nil
	case int64:
		return uint64(x), nil
	case int:
		return uint64(x), nil
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint64:
		return x, nil
	}
	return 0, fmt.Errorf("column %s: want an integer, got %T", c.quoted, v)
}

// appendLiteral writes v (as returned by convert) as an SQL literal. The session runs without
// NO_BACKSLASH_ESCAPES and with character_set_client utf8mb4 (see session setup).
func (c *colInfo) appendLiteral(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "NULL"...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "NULL"...)
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case []byte:
		if c.kind == kText || c.kind == kJSON {
			return c.appendText(b, string(x))
		}
		return appendHex(b, x)
	case string:
		switch c.kind {
		case kDecimal:
			if isNumeric(x) {
				return append(b, x...)
			}
		case kBinary:
			return appendHex(b, []byte(x))
		case kText, kJSON:
			return c.appendText(b, x)
		}
		return appendQuoted(b, x)
	}
	return appendQuoted(b, fmt.Sprint(v))
}

func (c *colInfo) appendText(b []byte, s string) []byte {
	switch c.charset {
	case "", "utf8mb4", "utf8", "utf8mb3", "ascii":
		if utf8.ValidString(s) {
			return appendQuoted(b, s)
		}
		// Not UTF-8 (a column we know too little about): keep the bytes as they are.
		b = append(b, "_binary "...)
		return appendHex(b, []byte(s))
	}
	// Bytes in the column's own charset: an introducer keeps them as they are.
	b = append(b, '_')
	b = append(b, c.charset...)
	b = append(b, ' ')
	return appendHex(b, []byte(s))
}

func appendHex(b []byte, x []byte) []byte {
	b = append(b, "X'"...)
	b = hex.AppendEncode(b, x)
	return append(b, '\'')
}

// appendQuoted writes s as a single-quoted string literal, escaped like mysql_real_escape_string.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b = append(b, '\\', '0')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\x1a':
			b = append(b, '\\', 'Z')
		case '\'':
			b = append(b, '\\', '\'')
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		default:
			b = append(b, c)
		}
	}
	return append(b, '\'')
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '-' || c == '+':
			if i != 0 {
				return false
			}
		case c == '.':
		default:
			return false
		}
	}
	return digits > 0
}

// appendKey appends v to a key's canonical form. Text of case- or accent-insensitive
// collations is folded, and trailing spaces are dropped (PAD SPACE collations compare without
// them): values the target would see as equal must give the same key. Folding more than the
// collation does only makes keys collide more, which costs ordering, never correctness.
func (c *colInfo) appendKey(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 0)
	case int64:
		b = append(b, 1)
		return strconv.AppendInt(b, x, 10)
	case uint64:
		b = append(b, 1)
		return strconv.AppendUint(b, x, 10)
	case float64:
		b = append(b, 1)
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case string:
		return c.appendKeyString(b, x)
	case []byte:
		return c.appendKeyString(b, string(x))
	}
	return append(b, fmt.Sprint(v)...)
}

func (c *colInfo) appendKeyString(b []byte, s string) []byte {
	b = append(b, 2)
	if c.kind == kText || c.kind == kEnum || c.kind == kSet {
		s = strings.TrimRight(s, " ")
		if c.foldKey || c.kind == kEnum || c.kind == kSet {
			s = foldString(s)
		}
	}
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// foldString lowercases and strips the accents of Latin letters.
func foldString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	return strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if f, ok := latinFold[r]; ok {
			return f
		}
		return r
	}, s)
}

var latinFold = func() map[rune]rune {
	m := map[rune]rune{}
	groups := map[rune]string{
		'a': "àáâãäåāăą", 'c': "çćĉċč", 'd': "ďđð", 'e': "èéêëēĕėęě", 'g': "ĝğġģ", 'h': "ĥħ",
		'i': "ìíîïĩīĭįı", 'j': "ĵ", 'k': "ķ", 'l': "ĺļľŀł", 'n': "ñńņňŉ", 'o': "òóôõöøōŏő",
		'r': "ŕŗř", 's': "śŝşšß", 't': "ţťŧ", 'u': "ùúûüũūŭůűų", 'w': "ŵ", 'y': "ýÿŷ", 'z': "źżž",
	}
	for base, set := range groups {
		for _, r := range set {
			m[r] = base
		}
	}
	return m
}()
