package integration

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// The table helpers: equal tables compare equal, a difference in rows or content is named, and
// a missing table is an error on either side, never a value that could equal another
// missing table (CHECKSUM TABLE answers NULL for one).
func TestTableHelpers(t *testing.T) {
	t.Parallel()
	ms := StartMariaDBs(t, 2, MariaDBOptions{})
	src, dst := ms[0].DB(t), ms[1].DB(t)
	for _, m := range ms {
		m.Exec(t, "CREATE DATABASE s; CREATE TABLE s.a (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO s.a VALUES (1, 'x'), (2, 'y')")
		m.Exec(t, "CREATE TABLE s.b (id INT PRIMARY KEY); CREATE DATABASE empty")
	}
	ctx := context.Background()

	require.EqualValues(t, 2, TableCount(t, src, "s.a"))
	require.EqualValues(t, 1, TableCount(t, src, "s.a WHERE v = 'y'"))
	require.Equal(t, TableChecksum(t, src, "s.a"), TableChecksum(t, dst, "s.a"))
	require.NoError(t, CompareTable(ctx, src, "s.a", dst, "s.a"))
	require.NoError(t, CompareSchema(ctx, src, dst, "s"))

	_, err := Count(ctx, src, "s.missing")
	require.ErrorContains(t, err, "s.missing")
	_, err = Checksum(ctx, src, "s.missing")
	require.ErrorContains(t, err, "no such table")
	require.ErrorContains(t, CompareTable(ctx, src, "s.missing", dst, "s.missing"), "source")
	require.ErrorContains(t, CompareTable(ctx, src, "s.a", dst, "s.missing"), "target")
	require.ErrorContains(t, CompareSchema(ctx, src, dst, "empty"), "no tables")

	// Same count, other content; then another count.
	ms[1].Exec(t, "UPDATE s.a SET v = 'z' WHERE id = 2")
	require.ErrorContains(t, CompareTable(ctx, src, "s.a", dst, "s.a"), "checksum of s.a")
	ms[1].Exec(t, "INSERT INTO s.b VALUES (1)")
	err = CompareSchema(ctx, src, dst, "s")
	require.ErrorContains(t, err, "checksum of `s`.`a`")
	require.ErrorContains(t, err, "rows of `s`.`b`: 0 on the source, 1 on the target")
	// A table the source has and the target lacks.
	ms[0].Exec(t, "CREATE TABLE s.c (id INT PRIMARY KEY)")
	require.ErrorContains(t, CompareSchema(ctx, src, dst, "s"), "target: count rows of `s`.`c`")
}
