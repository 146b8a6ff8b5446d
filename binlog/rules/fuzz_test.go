package rules

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPatternMatch compares the table/schema pattern matcher with a regular expression built
// from the same pattern (`*` any run, `?` one character, `[...]`/`[!...]`/`[^...]` a class),
// case-sensitive and not. A pattern that does not compile must be refused by both.
func FuzzPatternMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"db_*", "db_01"}, {"tbl_[0-9]?", "tbl_7x"}, {"[!a-c]*", "dx"}, {"[^a]", "a"},
		{"Tbl_[A-Z]", "tbl_a"}, {"a]b", "a]b"}, {"[]]", "]"}, {"x[a-]", "x-"}, {"**?", ""},
		{"sh*rd_[0-9][0-9]", "SHARD_12"}, {"[z-a]", "m"}, {"[abc", "a"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) {
			return // names and patterns arrive as UTF-8 text
		}
		for _, caseSensitive := range []bool{true, false} {
			m, err := CompilePattern(pattern, caseSensitive)
			oracle, oerr := patternRegexp(pattern, caseSensitive)
			if (err == nil) != (oerr == nil) {
				t.Fatalf("pattern %q (case-sensitive %v): matcher error %v, oracle error %v", pattern, caseSensitive, err, oerr)
			}
			if err != nil {
				continue
			}
			if !caseSensitive && !isASCII(pattern+name) {
				m.Match(name) // Unicode case folding differs between the two; only no panic
				continue
			}
			if got, want := m.Match(name), oracle.MatchString(name); got != want {
				t.Fatalf("pattern %q (case-sensitive %v) on %q: matcher %v, oracle %v", pattern, caseSensitive, name, got, want)
			}
		}
	})
}

// patternRegexp is the oracle: the pattern syntax of the package doc as a regular expression.
func patternRegexp(p string, caseSensitive bool) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?s)")
	if !caseSensitive {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			end, class, ok := oracleClass(rs, i)
			if !ok {
				return nil, errBadOracle
			}
			b.WriteString(class)
			i = end
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

var errBadOracle = ErrBadPattern

// oracleClass turns the class at rs[start] == '[' into a regexp class; a `]` right after the
// opening (or its negation) is a member, and `a-z` with a > z is refused.
func oracleClass(rs []rune, start int) (int, string, bool) {
	var b strings.Builder
	b.WriteString("[")
	i := start + 1
	if i < len(rs) && (rs[i] == '!' || rs[i] == '^') {
		b.WriteString("^")
		i++
	}
	for first := true; i < len(rs); i, first = i+1, false {
		if rs[i] == ']' && !first {
			b.WriteString("]")
			return i, b.String(), true
		}
		lo, hi := rs[i], rs[i]
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] != ']' {
			hi = rs[i+2]
			if lo > hi {
				return 0, "", false
			}
			i += 2
		}
		b.WriteString(regexp.QuoteMeta(string(lo)) + "-" + regexp.QuoteMeta(string(hi)))
	}
	return 0, "", false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
