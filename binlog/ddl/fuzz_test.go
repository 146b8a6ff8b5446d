package ddl

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/rules"
)

// FuzzParseRender reads random and mutated DDL text as a binlog QUERY event would bring it.
// Whatever the text, Parse and Render must not panic; a statement that parses and renders
// must render to text that parses again as the same kind of statement about the same tables,
// and renders to itself: what the target runs is what the upstream ran, once routed. That
// holds for the statements dm replicates (a Kind); the others (users, grants, views ...) are
// never run on the target, and the TiDB parser's restore of some of them is not stable (a
// CREATE USER naming the host "@" comes back with the host "": corpus 27f52d46b42f7a33).
func FuzzParseRender(f *testing.F) {
	for i, c := range corpus {
		f.Add(c.sql, uint8(i))
	}
	f.Fuzz(func(t *testing.T, sql string, schemaPick uint8) {
		// The event's default schema is a database name the upstream accepted, not random text.
		schema := fuzzSchemas[int(schemaPick)%len(fuzzSchemas)]
		st := Parse(sql, schema)
		for _, flavor := range []string{FlavorMariaDB, FlavorMySQL, FlavorTiDB} {
			out, err := st.Render(context.Background(), Render{Flavor: flavor, IfExists: true})
			if err != nil || !st.Parsed() || st.Kind == "" || len(out) != 1 || !utf8.ValidString(sql) {
				continue // text that is not UTF-8 only has to not panic: the restore writes '?'
			}
			again := Parse(out[0], schema)
			require.True(t, again.Parsed(), "%s rendered %q, which does not parse: %v", flavor, out[0], again.ParseErr)
			require.Equal(t, st.Kind, again.Kind, "%s rendered %q", flavor, out[0])
			require.True(t, slices.Equal(st.Tables, again.Tables), "%s rendered %q: tables %v, were %v", flavor, out[0], again.Tables, st.Tables)
			twice, err := again.Render(context.Background(), Render{Flavor: flavor, IfExists: true})
			require.NoError(t, err, "%s rendered %q", flavor, out[0])
			require.Equal(t, out, twice, "%s: rendering the rendered text changes it", flavor)
		}
	})
}

// fuzzSchemas are default schemas a binlog event can carry, quoting cases included.
var fuzzSchemas = []string{"", "s", "db1", "a`b", "with space", "Ünïcode", "select"}

// The TiDB parser panics on a decimal literal of 82 digits or more (found by FuzzParseRender);
// MariaDB takes one in a CHECK clause. Such a DDL must be a statement the parser cannot read,
// classified from its head, not a panic in the worker.
func TestParserPanicIsAParseError(t *testing.T) {
	sql := "ALTER TABLE t ADD COLUMN c INT CHECK (c < 1" + strings.Repeat("0", 81) + ")"
	st := Parse(sql, "s")
	require.False(t, st.Parsed())
	require.ErrorContains(t, st.ParseErr, "TiDB parser failed")
	require.Equal(t, rules.EventAlterTable, st.Kind)
	require.Equal(t, []TableName{{"s", "t"}}, st.Tables)
}
