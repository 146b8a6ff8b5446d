package load_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/integration"
)

// allBytes is every byte value, twice, and the escapes' troublemakers.
func allBytes() []byte {
	b := make([]byte, 0, 600)
	for i := range 256 {
		b = append(b, byte(i))
	}
	b = append(b, "\x00'\"\\\n\r\x1a%_;\x00"...)
	for i := range 256 {
		b = append(b, byte(255-i))
	}
	return b
}

const typesSchema = `
SET sql_mode = CONCAT(@@sql_mode, ",NO_AUTO_VALUE_ON_ZERO");
CREATE DATABASE d1;
CREATE TABLE d1.nums (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  d1 DECIMAL(65,30), d2 DECIMAL(10,2) UNSIGNED, f FLOAT, db DOUBLE, bt BIT(13), y YEAR
);
INSERT INTO d1.nums VALUES
  (0, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
   '-12345678901234567890123456789012345.123456789012345678901234567890', 99999999.99, -3.4028234e38, -1.7976931348623157e308, b'1111111111111', 1901),
  (1, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
   '0.000000000000000000000000000001', 0.01, 1.17549435e-38, 2.2250738585072014e-308, b'0', 2155),
  (2, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0.1, 0.1, b'1010101', 0),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, '3.141592653589793238462643383279', 12.34, 1/3, 1/3, b'101', 2024),
  (5, -1, 3, -3, 3, -5, 5, -7, 7, -9, 9, '-0.5', 0.5, 16777217, 9007199254740993, b'1', 1999);
CREATE TABLE d1.times (
  id INT PRIMARY KEY, dt6 DATETIME(6), dt0 DATETIME, ts3 TIMESTAMP(3) NULL DEFAULT NULL, ts0 TIMESTAMP NULL DEFAULT NULL,
  d DATE, tm TIME(4), tm0 TIME
);
SET time_zone = '+05:30';
INSERT INTO d1.times VALUES
  (1, '2024-02-29 23:59:59.999999', '1000-01-01 00:00:00', '2038-01-19 03:14:07.999', '1970-01-01 05:30:01', '9999-12-31', '-838:59:59.0000', '838:59:59'),
  (2, '0000-00-00 00:00:00', '0000-00-00 00:00:00', NULL, NULL, '0000-00-00', '00:00:00.0001', '-00:00:01'),
  (3, '2021-03-28 02:30:00.5', '2021-03-28 02:30:00', '2021-03-28 02:30:00.5', '2021-03-28 02:30:00', '2021-03-28', '12:34:56.7891', '12:34:56'),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SET time_zone = SYSTEM;
CREATE TABLE d1.docs (
  id BIGINT UNSIGNED PRIMARY KEY, j JSON, txt MEDIUMTEXT, vc VARCHAR(200), ch CHAR(10), bl BLOB, lb LONGBLOB, vb VARBINARY(600),
  bn BINARY(4), e ENUM('a','b','it''s'), s SET('x','y','z'), lat VARCHAR(50) CHARACTER SET latin1
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE d1.nokey (a INT, b VARCHAR(20), c DOUBLE);
INSERT INTO d1.nokey VALUES (1, 'dup', 1.5), (1, 'dup', 1.5), (NULL, NULL, NULL), (2, '', 0), (2, '', 0), (3, 'x', -0.25);
CREATE TABLE d1.uniq (u VARCHAR(40) NOT NULL, v INT, w VARCHAR(10) NULL, UNIQUE KEY uk (u), UNIQUE KEY uw (w));
INSERT INTO d1.uniq VALUES ('b', 1, NULL), ('a', 2, 'x'), ('é', 3, NULL), ('😀', 4, 'y'), ('a''b', 5, NULL), ('back\\slash', 6, NULL);
CREATE DATABASE d2;
CREATE TABLE d2.comp (a INT NOT NULL, b VARCHAR(10) NOT NULL, c INT, PRIMARY KEY (a, b), KEY (c));
INSERT INTO d2.comp VALUES (1, 'a', 1), (1, 'b', 2), (2, 'a', NULL), (-1, 'z', 3), (2, '', 4);
CREATE TABLE d2.gen (id INT PRIMARY KEY, x INT, y INT AS (x * 2) VIRTUAL, z INT AS (x + 1) STORED);
INSERT INTO d2.gen (id, x) VALUES (1, 10), (2, NULL), (3, -4);
CREATE TABLE d2.empty_t (id INT PRIMARY KEY, v TEXT);
CREATE DATABASE ` + "`we``ird.db`" + `;
CREATE TABLE ` + "`we``ird.db`.`t/a.b c (x`" + ` (` + "`i d`" + ` INT PRIMARY KEY, ` + "`v``q`" + ` VARCHAR(10));
INSERT INTO ` + "`we``ird.db`.`t/a.b c (x`" + ` VALUES (1, 'one'), (2, 'two');
CREATE DATABASE skipped;
CREATE TABLE skipped.t (id INT PRIMARY KEY);
`

func loadTypes(t *testing.T, p pair) {
	t.Helper()
	p.src.Exec(t, typesSchema)
	docs := []struct {
		id   uint64
		args []any
	}{
		{18446744073709551615, []any{`{"a": [1, 2.5, "x\"y", null, true], "b": {"c": "😀 é"}}`, "text 'quoted' \\ back \n newline \r\x1a ctrl",
			"emoji 😀🎉 and ä ö ü 中文", "char", allBytes(), allBytes(), allBytes(), []byte{0, 1, 0, 0x27}, "it's", "x,z", "Grüße"}},
		{0, []any{`[]`, "", "", "", []byte{}, []byte{}, []byte{}, []byte{0, 0, 0, 0}, "a", "", ""}},
		{1, []any{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}},
		{2, []any{`"just a string with \\ and \u0000"`, strings.Repeat("long ", 20000), "NULL", "null", []byte("NULL"), []byte(strings.Repeat("\x00\xff", 100000)), []byte("0x00"), []byte("abcd"), "b", "y", "'"}},
	}
	for _, d := range docs {
		p.src.Exec(t, "INSERT INTO d1.docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", append([]any{d.id}, d.args...)...)
	}
}

var typeTables = []string{"d1.nums", "d1.times", "d1.docs", "d1.nokey", "d1.uniq", "d2.comp", "d2.gen", "d2.empty_t", "`we``ird.db`.`t/a.b c (x`"}

func TestFullCopyAllTypes(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	loadTypes(t, p)
	r := mustRules(t, "d1|*", "d2|*", "we`ird.db|*")
	meta, dir := runDump(t, p, dump.Config{Rules: r, Threads: 3, ChunkRows: 2})
	require.NotEmpty(t, meta.Location.File)
	require.NotEmpty(t, meta.Location.GTIDSet)
	for _, tm := range meta.Tables {
		require.NotEqual(t, "skipped", tm.Schema)
	}
	require.Len(t, meta.Tables, len(typeTables))

	runLoad(t, p, load.Config{Dir: dir, Rules: r, Threads: 4, OnDuplicate: "error"})
	// Exact values, not only checksums.
	for _, q := range []string{
		"SELECT id, HEX(j), HEX(txt), HEX(vc), HEX(ch), HEX(bl), HEX(lb), HEX(vb), HEX(bn), e, s, HEX(lat), bl IS NULL, txt IS NULL FROM d1.docs",
		"SELECT *, HEX(f), HEX(db), f = (SELECT f FROM d1.nums n2 WHERE n2.id = nums.id) FROM d1.nums",
		"SELECT * FROM d2.gen",
	} {
		require.Equal(t, rowsOf(t, p.srcDB, q), rowsOf(t, p.tgtDB, q), q)
	}
	for _, tbl := range typeTables {
		integration.RequireSameTable(t, p.srcDB, tbl, p.tgtDB, tbl)
	}
	for _, tz := range []string{"+00:00", "+05:30", "-08:00"} {
		q := "SELECT id, dt6, dt0, ts3, ts0, d, tm, tm0, UNIX_TIMESTAMP(ts3) FROM d1.times"
		_, err := p.srcDB.Exec("SET time_zone = '" + tz + "'")
		require.NoError(t, err)
		_, err = p.tgtDB.Exec("SET time_zone = '" + tz + "'")
		require.NoError(t, err)
		require.Equal(t, rowsOf(t, p.srcDB, q), rowsOf(t, p.tgtDB, q), "time_zone %s", tz)
	}
	require.EqualValues(t, 1, integration.TableCount(t, p.tgtDB, "d1.nums WHERE id = 0"), "an explicit 0 in an AUTO_INCREMENT column stays 0")
	_, err := p.tgtDB.Exec("SELECT 1 FROM skipped.t")
	require.Error(t, err, "tables outside the rules are not copied")

	// Finished and the position, then DropCheckpoint.
	ctx := context.Background()
	done, loc, err := load.Finished(ctx, p.tgtDB, "dm_meta", "task", "src")
	require.NoError(t, err)
	require.True(t, done)
	require.Equal(t, meta.Location, loc)
	done, _, err = load.Finished(ctx, p.tgtDB, "dm_meta", "task", "other-source")
	require.NoError(t, err)
	require.False(t, done)
	require.NoError(t, load.DropCheckpoint(ctx, p.tgtDB, "dm_meta", "task"))
	done, _, err = load.Finished(ctx, p.tgtDB, "dm_meta", "task", "src")
	require.NoError(t, err)
	require.False(t, done)
	require.NoError(t, load.DropCheckpoint(ctx, p.tgtDB, "dm_meta", "task"))
	require.NoError(t, load.DropCheckpoint(ctx, p.tgtDB, "no_such_schema", "task"))
	done, _, err = load.Finished(ctx, p.tgtDB, "no_such_schema", "task", "src")
	require.NoError(t, err)
	require.False(t, done)
}
