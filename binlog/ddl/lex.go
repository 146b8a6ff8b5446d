package ddl

import "strings"

// The one hand lexer of the DDL layer. The TiDB parser reads statements; this lexer serves
// only where the parser cannot: rewriting the MariaDB forms it rejects before parsing
// (normalize.go), and reading the head of a statement it cannot parse even then (head.go).
// Concatenating the tokens' texts gives the statement back, byte for byte.

type tokKind uint8

const (
	tkSpace  tokKind = iota // blanks, comments, the markers of executable comments
	tkWord                  // an unquoted identifier, keyword or number
	tkQuoted                // a `quoted identifier`
	tkString                // 'string' or "string"
	tkPunct                 // any other single character
)

type token struct {
	kind       tokKind
	text       string
	start, end int // byte span in the statement
}

// is reports whether t is the (unquoted) keyword word, or the punctuation word.
func (t token) is(word string) bool {
	switch t.kind {
	case tkWord:
		return strings.EqualFold(t.text, word)
	case tkPunct:
		return t.text == word
	}
	return false
}

// isName reports whether t can be an identifier.
func (t token) isName() bool { return t.kind == tkWord || t.kind == tkQuoted }

// name returns an identifier token's name, unquoted.
func (t token) name() string {
	if t.kind == tkQuoted && len(t.text) >= 2 {
		return strings.ReplaceAll(t.text[1:len(t.text)-1], "``", "`")
	}
	return t.text
}

// upper is the upper-cased word or the punctuation; "" for other tokens.
func (t token) upper() string {
	switch t.kind {
	case tkWord:
		return strings.ToUpper(t.text)
	case tkPunct:
		return t.text
	}
	return ""
}

// lex splits sql into tokens. The bodies of executable comments (/*! ... */, /*M! ... */)
// are read as code, as the server does; their markers are tkSpace.
func lex(sql string) []token {
	var toks []token
	inExec := false
	add := func(kind tokKind, start, end int) {
		toks = append(toks, token{kind: kind, text: sql[start:end], start: start, end: end})
	}
	for i := 0; i < len(sql); {
		c, start := sql[i], i
		switch {
		case isBlank(c):
			for i < len(sql) && isBlank(sql[i]) {
				i++
			}
			add(tkSpace, start, i)
		case strings.HasPrefix(sql[i:], "/*!") || strings.HasPrefix(sql[i:], "/*M!"):
			i += strings.IndexByte(sql[i:], '!') + 1
			for i < len(sql) && sql[i] >= '0' && sql[i] <= '9' {
				i++
			}
			inExec = true
			add(tkSpace, start, i)
		case inExec && strings.HasPrefix(sql[i:], "*/"):
			i += 2
			inExec = false
			add(tkSpace, start, i)
		case strings.HasPrefix(sql[i:], "/*"):
			if end := strings.Index(sql[i+2:], "*/"); end >= 0 {
				i += 2 + end + 2
			} else {
				i = len(sql)
			}
			add(tkSpace, start, i)
		case c == '#' || strings.HasPrefix(sql[i:], "-- ") || strings.HasPrefix(sql[i:], "--\n"):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			add(tkSpace, start, i)
		case c == '`' || c == '\'' || c == '"':
			i = quotedEnd(sql, i)
			kind := tkString
			if c == '`' {
				kind = tkQuoted
			}
			add(kind, start, i)
		case isWordByte(c):
			for i < len(sql) && isWordByte(sql[i]) {
				i++
			}
			add(tkWord, start, i)
		default:
			i++
			add(tkPunct, start, i)
		}
	}
	return toks
}

// quotedEnd returns the index after the quoted text starting at i: a doubled quote stands for
// itself, and in strings a backslash escapes the next byte.
func quotedEnd(sql string, i int) int {
	q := sql[i]
	for i++; i < len(sql); i++ {
		switch {
		case sql[i] == '\\' && q != '`':
			i++
		case sql[i] == q && i+1 < len(sql) && sql[i+1] == q:
			i++
		case sql[i] == q:
			return i + 1
		}
	}
	return len(sql)
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// significant returns the tokens that are not tkSpace.
func significant(toks []token) []token {
	out := make([]token, 0, len(toks))
	for _, t := range toks {
		if t.kind != tkSpace {
			out = append(out, t)
		}
	}
	return out
}

// firstWord is the statement's first keyword, upper-cased ("" when it starts otherwise).
func firstWord(sql string) string {
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case isBlank(c):
			i++
		case strings.HasPrefix(sql[i:], "/*!") || strings.HasPrefix(sql[i:], "/*M!"):
			i += strings.IndexByte(sql[i:], '!') + 1
			for i < len(sql) && sql[i] >= '0' && sql[i] <= '9' {
				i++
			}
		case strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return ""
			}
			i += 2 + end + 2
		case c == '#' || strings.HasPrefix(sql[i:], "-- "):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				return ""
			}
			i += end + 1
		case isWordByte(c):
			j := i
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			return strings.ToUpper(sql[i:j])
		default:
			return ""
		}
	}
	return ""
}
