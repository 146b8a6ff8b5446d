package dmyaml

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/rules"
)

// names is every name up to 4 characters over a small alphabet that exercises case, digits,
// the glob metacharacters and the class edge characters.
func sampleNames() []string {
	alphabet := []rune{'a', 'T', '_', '1', '*', ']', '-', '!'}
	names := []string{}
	var grow func(prefix []rune, n int)
	grow = func(prefix []rune, n int) {
		if len(prefix) > 0 {
			names = append(names, string(prefix))
		}
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			grow(append(prefix, c), n-1)
		}
	}
	grow(nil, 4)
	return names
}

func matcher(t *testing.T, g glob) *rules.Matcher {
	t.Helper()
	m, err := rules.CompilePattern(g.String(), false)
	require.NoError(t, err, "pattern %q", g.String())
	return m
}

func anyMatch(t *testing.T, gs []glob, name string) bool {
	for _, g := range gs {
		if matcher(t, g).Match(name) {
			return true
		}
	}
	return false
}

func mustGlob(t *testing.T, p string) glob {
	t.Helper()
	g, err := parseGlob(p)
	require.NoError(t, err)
	return g
}

func TestGlobStringReadsBack(t *testing.T) {
	for _, p := range []string{"a*", "[a-c]?", "[!]a]*", "t[*]x", "[]-]", "[!-]", "[!a-z]*", "[A-Z]1", "a*b", "[^!]x"} {
		g := mustGlob(t, p)
		back := mustGlob(t, g.String())
		require.True(t, g.equal(back), "%q -> %q", p, g.String())
		orig, err := rules.CompilePattern(p, false)
		require.NoError(t, err)
		for _, n := range sampleNames() {
			require.Equal(t, orig.Match(n), matcher(t, g).Match(n), "pattern %q (written %q), name %q", p, g.String(), n)
		}
	}
}

func TestGlobAlgebraIsExact(t *testing.T) {
	patterns := []string{"*", "a*", "a", "aT", "?", "??*", "[a-z]*", "[!a]?", "a_1*", "*", "t*", "T?", "[]!]*", "-*"}
	names := sampleNames()
	for _, p := range patterns {
		a := mustGlob(t, p)
		notA, err := a.complement()
		require.NoError(t, err)
		for _, n := range names {
			require.NotEqual(t, matcher(t, a).Match(n), anyMatch(t, notA, n), "complement of %q at %q", p, n)
		}
		for _, q := range patterns {
			b := mustGlob(t, q)
			both, ok, err := a.intersect(b)
			require.NoError(t, err)
			in, err := a.contains(b)
			require.NoError(t, err)
			allIn := true
			for _, n := range names {
				ma, mb := matcher(t, a).Match(n), matcher(t, b).Match(n)
				got := ok && matcher(t, both).Match(n)
				require.Equal(t, ma && mb, got, "%q ∩ %q at %q", p, q, n)
				if mb && !ma {
					allIn = false
				}
			}
			require.Equal(t, allIn, in, "%q ⊇ %q", p, q)
		}
	}
}

func TestRegexGlobsMatchLikeDM(t *testing.T) {
	names := sampleNames()
	for _, expr := range []string{`^a.*`, `^(a|t)$`, `1`, `^a_?1$`, `.+`, `^[a-t]{1,2}$`, `\*`, `^[^a]`} {
		gs, err := regexGlobs(expr)
		require.NoError(t, err, expr)
		re := regexp.MustCompile("(?i)" + expr)
		for _, n := range names {
			require.Equal(t, re.MatchString(n), anyMatch(t, gs, n), "~%s at %q (globs %v)", expr, n, gs)
		}
	}
	for _, expr := range []string{`^t\d+$`, `a\b`, `^(ab)*$`, `(`} {
		_, err := regexGlobs(expr)
		require.Error(t, err, expr)
	}
}
