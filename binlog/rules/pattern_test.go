package rules

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPatternForms(t *testing.T) {
	cases := []struct {
		pattern string
		cs      bool
		yes     []string
		no      []string
	}{
		{"db", true, []string{"db"}, []string{"DB", "db1", "d", ""}},
		{"db", false, []string{"db", "DB", "Db"}, []string{"db1"}},
		{"*", true, []string{"", "a", "anything"}, nil},
		{"shard_*", true, []string{"shard_", "shard_1", "shard_abc"}, []string{"shard", "xshard_1", "Shard_1"}},
		{"*_log", true, []string{"_log", "app_log", "a_b_log"}, []string{"app_logs", "applog"}},
		{"a*b*c", true, []string{"abc", "aXbYc", "abbbc", "aXcbc"}, []string{"ab", "acb", "abcX"}},
		{"**x", true, []string{"x", "abx"}, []string{"xa"}},
		{"t?", true, []string{"t1", "ta"}, []string{"t", "t12"}},
		{"t_??", true, []string{"t_01"}, []string{"t_1", "t_001"}},
		{"t[abc]", true, []string{"ta", "tb", "tc"}, []string{"td", "t", "tab", "tA"}},
		{"t[abc]", false, []string{"ta", "TA", "tB"}, []string{"td"}},
		{"t[a-c]x", true, []string{"tax", "tbx", "tcx"}, []string{"tdx", "t-x"}},
		{"t[0-9][0-9]", true, []string{"t00", "t42"}, []string{"t4", "t4a"}},
		{"t[!a-c]", true, []string{"td", "t1", "tA"}, []string{"ta", "tc", "t"}},
		{"t[!a-c]", false, []string{"td"}, []string{"tA", "tb"}},
		{"t[^0-9]", true, []string{"tx"}, []string{"t5"}},
		{"t[A-Z]", false, []string{"tq", "TQ"}, []string{"t1"}},
		{"t[a-z]", false, []string{"tQ"}, []string{"t_"}},
		{"t[]]", true, []string{"t]"}, []string{"t["}},
		{"t[!]]", true, []string{"ta"}, []string{"t]"}},
		{"t[-a]", true, []string{"t-", "ta"}, []string{"tb"}},
		{"t[a-]", true, []string{"t-", "ta"}, []string{"tb"}},
		{"t[*]", true, []string{"t*"}, []string{"tx", "t"}},
		{"t[[]1]", true, []string{"t[1]"}, []string{"t1"}},
		{"ÄÖ*", false, []string{"äö", "äöü"}, []string{"ao"}},
		{"*[0-9]", true, []string{"shard_7", "9"}, []string{"shard_x"}},
	}
	for _, c := range cases {
		m, err := CompilePattern(c.pattern, c.cs)
		require.NoError(t, err, c.pattern)
		assert.Equal(t, c.pattern, m.String())
		assert.Equal(t, !HasWildcard(c.pattern), m.Literal(), c.pattern)
		for _, s := range c.yes {
			assert.True(t, m.Match(s), "%q (cs=%v) should match %q", c.pattern, c.cs, s)
		}
		for _, s := range c.no {
			assert.False(t, m.Match(s), "%q (cs=%v) should not match %q", c.pattern, c.cs, s)
		}
	}
}

func TestPatternIsCaseSensitive(t *testing.T) {
	m, err := Pattern("Shard_*")
	require.NoError(t, err)
	assert.True(t, m.Match("Shard_1"))
	assert.False(t, m.Match("shard_1"))
}

func TestBadPatterns(t *testing.T) {
	for _, p := range []string{"t[", "t[abc", "t[!", "t[]", "t[z-a]", "[a-"} {
		_, err := Pattern(p)
		require.Error(t, err, p)
		assert.True(t, errors.Is(err, ErrBadPattern), p)
		assert.Contains(t, err.Error(), p)
	}
}

func TestPatternNoExponentialBlowup(t *testing.T) {
	m, err := Pattern("a*a*a*a*a*a*a*a*a*b")
	require.NoError(t, err)
	s := ""
	for range 5000 {
		s += "a"
	}
	assert.False(t, m.Match(s))
	assert.True(t, m.Match(s+"b"))
}
