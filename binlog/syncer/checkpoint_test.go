package syncer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUpsertSQL(t *testing.T) {
	q := upsertSQL("dm_meta", "task", "src", cpRow{workerID: 3, rows: 2, workerCount: 4})
	require.Contains(t, q, "INSERT INTO `dm_meta`.`task_syncer_checkpoint`")
	require.Contains(t, q, "ON DUPLICATE KEY UPDATE binlog_name=''")
}

func TestResume(t *testing.T) {
	g := cpRow{workerID: -1}
	g.loc.File, g.loc.Pos = "bin.000002", 100
	st := cpState{global: &g, workers: map[int]cpRow{}}
	require.Equal(t, g.loc, st.resume())
	w0 := cpRow{workerID: 0, workerCount: 2}
	w0.loc.File, w0.loc.Pos = "bin.000002", 500
	st.workers[0] = w0
	// worker 1 has no row: it is at the global checkpoint
	require.Equal(t, g.loc, st.resume())
	w1 := cpRow{workerID: 1, workerCount: 2}
	w1.loc.File, w1.loc.Pos = "bin.000010", 4
	st.workers[1] = w1
	require.Equal(t, w0.loc, st.resume())
	require.Equal(t, -1, compareFile("bin.000009", "bin.000010"))
	require.Equal(t, 1, compareFile("bin.1000000", "bin.999999"))
}
