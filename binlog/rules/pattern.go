package rules

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrBadPattern is wrapped by the errors for schema/table patterns that do not compile.
var ErrBadPattern = errors.New("bad pattern")

// Matcher is a compiled name pattern (see the package doc for the syntax).
type Matcher struct {
	src           string
	caseSensitive bool
	literal       bool    // no wildcard at all: compared as a plain string
	lower         string  // src lowercased, for literal case-insensitive compares
	toks          []token // nil when literal
}

type tokenKind uint8

const (
	tokRune  tokenKind = iota // one given character
	tokAny                    // `?`
	tokStar                   // `*`
	tokClass                  // `[...]`
)

type runeRange struct{ lo, hi rune }

type token struct {
	kind    tokenKind
	r       rune
	ranges  []runeRange
	negated bool
}

// Pattern compiles a case-sensitive pattern.
func Pattern(p string) (*Matcher, error) { return CompilePattern(p, true) }

// CompilePattern compiles a pattern; unless caseSensitive, names are compared lowercased
// (MySQL's behaviour with lower_case_table_names ≠ 0).
func CompilePattern(p string, caseSensitive bool) (*Matcher, error) {
	m := &Matcher{src: p, caseSensitive: caseSensitive}
	if !HasWildcard(p) {
		m.literal = true
		m.lower = strings.ToLower(p)
		return m, nil
	}
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch c {
		case '*':
			if n := len(m.toks); n > 0 && m.toks[n-1].kind == tokStar {
				continue // `**` is `*`
			}
			m.toks = append(m.toks, token{kind: tokStar})
		case '?':
			m.toks = append(m.toks, token{kind: tokAny})
		case '[':
			tok, next, err := parseClass(rs, i)
			if err != nil {
				return nil, fmt.Errorf("%w %q: %v", ErrBadPattern, p, err)
			}
			m.toks = append(m.toks, tok)
			i = next
		default:
			if !caseSensitive {
				c = unicode.ToLower(c)
			}
			m.toks = append(m.toks, token{kind: tokRune, r: c})
		}
	}
	return m, nil
}

// parseClass parses the class starting at rs[start] == '['; it returns the token and the index
// of the closing ']'.
func parseClass(rs []rune, start int) (token, int, error) {
	tok := token{kind: tokClass}
	i := start + 1
	if i < len(rs) && (rs[i] == '!' || rs[i] == '^') {
		tok.negated = true
		i++
	}
	first := true
	for ; i < len(rs); i++ {
		c := rs[i]
		if c == ']' && !first {
			return tok, i, nil
		}
		first = false
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] != ']' {
			lo, hi := c, rs[i+2]
			if lo > hi {
				return tok, 0, fmt.Errorf("reversed range %c-%c at offset %d", lo, hi, start)
			}
			tok.ranges = append(tok.ranges, runeRange{lo, hi})
			i += 2
			continue
		}
		tok.ranges = append(tok.ranges, runeRange{c, c})
	}
	return tok, 0, fmt.Errorf("unclosed '[' at offset %d", start)
}

// HasWildcard reports whether s contains a pattern metacharacter (`*`, `?` or `[`).
func HasWildcard(s string) bool { return strings.ContainsAny(s, "*?[") }

// String returns the pattern as written.
func (m *Matcher) String() string { return m.src }

// Literal reports whether the pattern has no wildcard, i.e. matches exactly one name.
func (m *Matcher) Literal() bool { return m.literal }

// Match reports whether the whole of s matches the pattern.
func (m *Matcher) Match(s string) bool {
	if m.literal {
		if m.caseSensitive {
			return s == m.src
		}
		return strings.ToLower(s) == m.lower
	}
	if !m.caseSensitive {
		s = strings.ToLower(s)
	}
	return m.matchRunes([]rune(s))
}

// matchRunes is the classic single-star backtracking glob match: O(len(pattern)·len(s)).
func (m *Matcher) matchRunes(s []rune) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(m.toks) {
			t := &m.toks[p]
			if t.kind == tokStar {
				starP, starI = p, i
				p++
				continue
			}
			if m.matchOne(t, s[i]) {
				p++
				i++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starI++
		p, i = starP+1, starI
	}
	for p < len(m.toks) && m.toks[p].kind == tokStar {
		p++
	}
	return p == len(m.toks)
}

func (m *Matcher) matchOne(t *token, c rune) bool {
	switch t.kind {
	case tokAny:
		return true
	case tokRune:
		return t.r == c // both already lowercased when case-insensitive
	case tokClass:
		in := inRanges(t.ranges, c)
		if !in && !m.caseSensitive {
			// c is lowercase here; the class may be written in upper case ([A-Z]).
			in = inRanges(t.ranges, unicode.ToUpper(c))
		}
		return in != t.negated
	}
	return false
}

func inRanges(rs []runeRange, c rune) bool {
	for _, r := range rs {
		if r.lo <= c && c <= r.hi {
			return true
		}
	}
	return false
}
