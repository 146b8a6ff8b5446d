package load_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/integration"
)

// Two source tables route into one target table (shard merge) and share
// the keys 6..10: on_duplicate decides.
func TestShardMergeOnDuplicate(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	p.src.Exec(t, `CREATE DATABASE sh;
		CREATE TABLE sh.s1 (id INT PRIMARY KEY, v VARCHAR(10));
		CREATE TABLE sh.s2 (id INT PRIMARY KEY, v VARCHAR(10));
		INSERT INTO sh.s1 SELECT seq, 's1' FROM mysql.seq_1_to_10;
		INSERT INTO sh.s2 SELECT seq, 's2' FROM mysql.seq_6_to_15;`)
	_, dir := runDump(t, p, dump.Config{Rules: mustRules(t, "sh|s*")})

	// One thread: s1's chunk loads before s2's.
	loadInto := func(mode string) error {
		l := newLoader(t, p, load.Config{Dir: dir, Task: "merge_" + mode, Threads: 1, OnDuplicate: mode,
			Rules: mustRules(t, "sh|s*=>m_"+mode+"|t")})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return l.Run(ctx)
	}
	err := loadInto("error")
	require.Error(t, err)
	require.Contains(t, err.Error(), "on_duplicate=error")
	require.Contains(t, err.Error(), "`m_error`.`t`")
	require.Contains(t, err.Error(), "Duplicate entry '6'")
	require.EqualValues(t, 10, integration.TableCount(t, p.tgtDB, "m_error.t"), "s1 loaded, s2's chunk rolled back")

	require.NoError(t, loadInto("ignore"))
	require.Equal(t, []string{`"1","s1"`, `"10","s1"`, `"11","s2"`, `"12","s2"`, `"13","s2"`, `"14","s2"`, `"15","s2"`,
		`"2","s1"`, `"3","s1"`, `"4","s1"`, `"5","s1"`, `"6","s1"`, `"7","s1"`, `"8","s1"`, `"9","s1"`},
		rowsOf(t, p.tgtDB, "SELECT id, v FROM m_ignore.t"))

	for _, mode := range []string{"replace", "overwrite"} {
		require.NoError(t, loadInto(mode))
		require.Equal(t, []string{`"1","s1"`, `"10","s2"`, `"11","s2"`, `"12","s2"`, `"13","s2"`, `"14","s2"`, `"15","s2"`,
			`"2","s1"`, `"3","s1"`, `"4","s1"`, `"5","s1"`, `"6","s2"`, `"7","s2"`, `"8","s2"`, `"9","s2"`},
			rowsOf(t, p.tgtDB, "SELECT id, v FROM m_"+mode+".t"))
	}
}
