package load_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/integration"
)

// Large tables are split into key ranges that several threads dump; every
// chunk file holds at most ChunkRows rows and its [MinKey, MaxKey] in key
// order, whatever the key: a sparse integer, a string, a composite key, or
// none.
func TestLargeTablesSplitIntoChunks(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	p.src.Exec(t, `CREATE DATABASE big;
		CREATE TABLE big.i (id BIGINT PRIMARY KEY, v VARCHAR(40));
		INSERT INTO big.i SELECT CAST(seq AS SIGNED) * 7 - 100000, MD5(seq) FROM mysql.seq_1_to_30000;
		CREATE TABLE big.s (k VARCHAR(20) NOT NULL, v INT, UNIQUE KEY (k));
		INSERT INTO big.s SELECT CONCAT('key', seq), seq FROM mysql.seq_1_to_10000;
		CREATE TABLE big.c (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b));
		INSERT INTO big.c SELECT seq % 7, CONCAT('b', seq), seq FROM mysql.seq_1_to_10000;
		CREATE TABLE big.nk (v INT, w TEXT);
		INSERT INTO big.nk SELECT seq % 100, REPEAT('x', seq % 50) FROM mysql.seq_1_to_5000;
		ANALYZE TABLE big.i, big.s, big.c, big.nk;`)
	meta, dir := runDump(t, p, dump.Config{Rules: mustRules(t, "big|*"), Threads: 4, ChunkRows: 2000, Consistency: "flush"})
	require.Equal(t, 4, meta.Threads)
	want := map[string]struct {
		rows      int64
		minChunks int
		key       []string
	}{
		"i": {30000, 15, []string{"id"}}, "s": {10000, 5, []string{"k"}},
		"c": {10000, 5, []string{"a", "b"}}, "nk": {5000, 3, nil},
	}
	for _, tm := range meta.Tables {
		w := want[tm.Table]
		require.Equal(t, w.rows, tm.Rows, tm.Table)
		require.Equal(t, w.key, tm.KeyColumns, tm.Table)
		require.GreaterOrEqual(t, len(tm.Chunks), w.minChunks, tm.Table)
		var rows, bytes int64
		for _, c := range tm.Chunks {
			require.LessOrEqual(t, c.Rows, int64(2000), c.File)
			st, err := os.Stat(filepath.Join(dir, c.File))
			require.NoError(t, err)
			require.Equal(t, c.Bytes, st.Size(), c.File)
			require.Len(t, c.MinKey, len(w.key), c.File)
			require.Len(t, c.MaxKey, len(w.key), c.File)
			rows += c.Rows
			bytes += c.Bytes
		}
		require.Equal(t, tm.Rows, rows)
		require.Equal(t, tm.Bytes, bytes)
	}
	// The integer key's chunks are ordered and do not overlap.
	for _, tm := range meta.Tables {
		if tm.Table != "i" {
			continue
		}
		var prev int64 = -1 << 62
		for _, c := range tm.Chunks {
			lo, hi := atoi(t, c.MinKey[0]), atoi(t, c.MaxKey[0])
			require.Greater(t, lo, prev)
			require.LessOrEqual(t, lo, hi)
			prev = hi
		}
	}

	reg := prometheus.NewRegistry()
	runLoad(t, p, load.Config{Dir: dir, Threads: 4, OnDuplicate: "error", Worker: "w1", Registerer: reg})
	for _, tbl := range []string{"big.i", "big.s", "big.c", "big.nk"} {
		integration.RequireSameTable(t, p.srcDB, tbl, p.tgtDB, tbl)
	}
	requireLoaderSeries(t, reg, meta)
}

// requireLoaderSeries: the loader's series count the dump's files and tables, one target
// transaction per chunk in txn_duration_time, and no refused statement.
func requireLoaderSeries(t *testing.T, reg *prometheus.Registry, meta dump.Metadata) {
	t.Helper()
	chunks := 0
	for _, tm := range meta.Tables {
		chunks += len(tm.Chunks)
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetHistogram() != nil:
				got[f.GetName()] += float64(m.GetHistogram().GetSampleCount())
			case m.GetGauge() != nil:
				got[f.GetName()] += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[f.GetName()] += m.GetCounter().GetValue()
			}
		}
	}
	require.Equal(t, float64(chunks), got["dm_loader_data_file_gauge"])
	require.Equal(t, float64(len(meta.Tables)), got["dm_loader_table_gauge"])
	require.Equal(t, float64(chunks), got["dm_loader_txn_duration_time"], "one transaction per chunk")
	require.GreaterOrEqual(t, got["dm_loader_query_duration_time"], float64(chunks))
	require.GreaterOrEqual(t, got["dm_loader_stmt_duration_time"], float64(3*chunks), "begin, insert(s) and commit of each chunk")
	require.Contains(t, got, "dm_loader_remaining_time")
	require.Zero(t, got["dm_loader_tidb_execution_error"])
}

func atoi(t *testing.T, s string) int64 {
	var n int64
	for i, c := range s {
		if i == 0 && c == '-' {
			continue
		}
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + int64(c-'0')
	}
	if s[0] == '-' {
		n = -n
	}
	return n
}
