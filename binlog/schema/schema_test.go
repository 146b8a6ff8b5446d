package schema

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/integration"
)

func TestParseEnumValues(t *testing.T) {
	require.Equal(t, []string{"a", "b'c", "d,e", ""}, ParseEnumValues(`enum('a','b''c','d,e','')`))
	require.Equal(t, []string{"x", `y\z`}, ParseEnumValues(`set('x','y\\z')`))
	require.Nil(t, ParseEnumValues("int"))
}

func TestFromDB(t *testing.T) {
	m := integration.StartMariaDB(t, integration.MariaDBOptions{})
	db := m.DB(t)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE s",
		`CREATE TABLE s.t (
			id BIGINT UNSIGNED NOT NULL, k2 VARCHAR(10) NOT NULL, e ENUM('a','b''c') NOT NULL,
			st SET('x','y') NULL, u INT NULL, code VARCHAR(20) NOT NULL, txt TEXT,
			g INT AS (id + 1) VIRTUAL, c VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_bin,
			PRIMARY KEY (k2, id), UNIQUE KEY uq_code (code), UNIQUE KEY uq_u (u), UNIQUE KEY uq_prefix (txt(10)))`,
		"CREATE TABLE s.nokey (a INT)",
	} {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
	src := FromDB(db)
	tbl, err := src.Table(ctx, "s", "t")
	require.NoError(t, err)
	require.Len(t, tbl.Columns, 9)
	require.Equal(t, "id", tbl.Columns[0].Name)
	require.Equal(t, "bigint", tbl.Columns[0].DataType)
	require.True(t, tbl.Columns[0].Unsigned)
	require.False(t, tbl.Columns[0].Nullable)
	require.Equal(t, []string{"a", "b'c"}, tbl.Columns[2].EnumValues)
	require.Equal(t, []string{"x", "y"}, tbl.Columns[3].EnumValues)
	require.True(t, tbl.Columns[4].Nullable)
	require.True(t, tbl.Columns[7].Generated)
	require.Equal(t, "latin1", tbl.Columns[8].Charset)
	require.Equal(t, "latin1_bin", tbl.Columns[8].Collation)
	require.Equal(t, []int{1, 0}, tbl.PrimaryKey)
	require.Equal(t, [][]int{{5}}, tbl.UniqueKeys)
	require.Equal(t, [][]int{{4}}, tbl.NullableUniqueKeys)

	// Cached until invalidated.
	_, err = db.Exec("ALTER TABLE s.t ADD COLUMN extra INT")
	require.NoError(t, err)
	again, err := src.Table(ctx, "s", "t")
	require.NoError(t, err)
	require.Same(t, tbl, again)
	src.Invalidate("s", "")
	again, err = src.Table(ctx, "s", "t")
	require.NoError(t, err)
	require.Len(t, again.Columns, 10)

	nk, err := src.Table(ctx, "s", "nokey")
	require.NoError(t, err)
	require.Nil(t, nk.PrimaryKey)
	require.Empty(t, nk.UniqueKeys)

	_, err = src.Table(ctx, "s", "missing")
	require.True(t, errors.Is(err, ErrTableNotFound), "%v", err)
}
