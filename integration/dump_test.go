package integration

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// dumpSubtask is a subtask's status with DM's dump_status.
type dumpSubtask struct {
	Stage      string  `json:"stage"`
	Unit       string  `json:"unit"`
	ErrorMsg   *string `json:"error_msg"`
	DumpStatus *struct {
		TotalTables       int64   `json:"total_tables"`
		CompletedTables   float64 `json:"completed_tables"`
		FinishedBytes     float64 `json:"finished_bytes"`
		FinishedRows      float64 `json:"finished_rows"`
		EstimateTotalRows float64 `json:"estimate_total_rows"`
		Bps               int64   `json:"bps"`
		Progress          string  `json:"progress"`
	} `json:"dump_status"`
}

func (e *migrationEnv) dumpStatus(task string) dumpSubtask {
	e.t.Helper()
	var l listResp[dumpSubtask]
	resp := e.api.call(http.MethodGet, e.addr, "/api/v1/tasks/"+task+"/status", nil)
	require.Equal(e.t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.NoError(e.t, resp.JSON(&l))
	require.Len(e.t, l.Data, 1)
	return l.Data[0]
}

// dumpDirOf is where the worker keeps a subtask's dump for a task with data_dir ./dumped_data.
func dumpDirOf(w *Proc, task, source string) string {
	return filepath.Join(w.DataDir, "dumped_data", task, source)
}

// requirePrivateDump checks a dump directory (and the task's directory above it) is 0700 and
// every file in it 0600.
func requirePrivateDump(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		info, err := os.Stat(d)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), info.Mode().Perm(), d)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // a temporary file renamed meanwhile
		}
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), e.Name())
	}
}

// TestDumpStatusUnitsAndFiles: from creation to sync, every status poll names a unit, in
// order Dump → Load → Sync; while dumping, dump_status counters grow and the files sit under
// the worker's data-dir, private to it; once sync runs they are gone.
func TestDumpStatusUnitsAndFiles(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.big (id INT PRIMARY KEY, v VARCHAR(200))")
	e.src.Exec(t, "INSERT INTO shop.big SELECT seq, REPEAT('d', 200) FROM shop.seq_1_to_500000")
	e.src.Exec(t, "CREATE TABLE shop.small (id INT PRIMARY KEY)")
	e.src.Exec(t, "INSERT INTO shop.small SELECT seq FROM shop.seq_1_to_1000")
	e.src.Exec(t, "ANALYZE TABLE shop.big, shop.small")
	e.createSource("mysql-01", e.src)
	w := e.c.Workers[0]

	task := e.task("dumping", "all", []string{"mysql-01"}, "shop")
	task["source_config"].(map[string]any)["full_migrate_conf"].(map[string]any)["export_threads"] = 1
	resp := e.startTask(task)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)

	order := map[string]int{"Dump": 0, "Load": 1, "Sync": 2}
	var units []string
	var dumpedRows []float64
	checkedFiles := false
	Eventually(t, 180*time.Second, func() error {
		st := e.dumpStatus("dumping")
		if st.ErrorMsg != nil {
			t.Fatalf("subtask failed: %s", *st.ErrorMsg)
		}
		rank, known := order[st.Unit]
		require.True(t, known, "unit %q after units %v", st.Unit, units)
		if len(units) > 0 {
			require.GreaterOrEqual(t, rank, order[units[len(units)-1]], "units go forward: %v then %s", units, st.Unit)
		}
		if len(units) == 0 || units[len(units)-1] != st.Unit {
			units = append(units, st.Unit)
		}
		if st.Unit == "Dump" && st.DumpStatus != nil {
			// Zero tables until the dump has listed them; then every count stays within them.
			ds := st.DumpStatus
			if ds.TotalTables != 0 || ds.FinishedRows > 0 {
				require.EqualValues(t, 2, ds.TotalTables)
			}
			require.LessOrEqual(t, ds.CompletedTables, float64(ds.TotalTables))
			if n := len(dumpedRows); n == 0 || dumpedRows[n-1] != ds.FinishedRows {
				dumpedRows = append(dumpedRows, ds.FinishedRows)
			}
			if !checkedFiles && ds.FinishedRows > 0 {
				requirePrivateDump(t, dumpDirOf(w, "dumping", "mysql-01"))
				checkedFiles = true
			}
		}
		if st.Unit != "Sync" {
			return fmt.Errorf("unit %s, units so far %v", st.Unit, units)
		}
		return nil
	})
	t.Logf("units %v; finished_rows while dumping %v", units, dumpedRows)
	require.Equal(t, "Dump", units[0], "units seen: %v", units)
	require.GreaterOrEqual(t, len(dumpedRows), 2, "dump_status counters seen while dumping: %v", dumpedRows)
	for i := 1; i < len(dumpedRows); i++ {
		require.Greater(t, dumpedRows[i], dumpedRows[i-1], "finished_rows grows: %v", dumpedRows)
	}
	require.True(t, checkedFiles, "the dump's files were seen while dumping")

	// The finished dump's status stays, complete.
	ds := e.dumpStatus("dumping").DumpStatus
	require.NotNil(t, ds)
	require.EqualValues(t, 2, ds.TotalTables)
	require.EqualValues(t, 2, ds.CompletedTables)
	require.EqualValues(t, 501000, ds.FinishedRows)
	require.Positive(t, ds.FinishedBytes)
	require.Equal(t, "100.00 %", ds.Progress)

	e.waitSynced("dumping", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	// Sync has started: the dump is removed (clean_dump_file defaults to true), the task's
	// directory with it, and nothing was ever written to the worker's working directory.
	Eventually(t, 30*time.Second, func() error {
		if _, err := os.Stat(filepath.Dir(dumpDirOf(w, "dumping", "mysql-01"))); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("dump directory still there (%v)", err)
		}
		return nil
	})
	require.NoDirExists(t, filepath.Join(filepath.Dir(w.LogPath), "dumped_data"))
}

// metricLines returns the worker's sample lines that carry the label.
func metricLines(t *testing.T, w *Proc, label string) []string {
	t.Helper()
	resp := call(t, http.MethodGet, w.APIAddr, "/metrics")
	require.Equal(t, http.StatusOK, resp.Status)
	var out []string
	for _, l := range strings.Split(string(resp.Body), "\n") {
		if !strings.HasPrefix(l, "#") && strings.Contains(l, label) {
			out = append(out, l)
		}
	}
	return out
}

// TestDeletedTaskLeavesNoFilesOrSeries: clean_dump_file: false keeps a finished dump, a
// data_dir leaving the worker's data-dir is refused, and deleting a task removes its dump and
// every series labelled with it from the worker's /metrics, leaving the other task's alone.
func TestDeletedTaskLeavesNoFilesOrSeries(t *testing.T) {
	e := newMigrationEnv(t, 1)
	for _, schema := range []string{"kept", "live"} {
		e.src.Exec(t, "CREATE DATABASE "+schema)
		e.src.Exec(t, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY, v INT)")
		e.src.Exec(t, "INSERT INTO "+schema+".t SELECT seq, seq FROM "+schema+".seq_1_to_3000")
	}
	e.createSource("mysql-01", e.src)
	w := e.c.Workers[0]

	escaping := e.task("escape", "full", []string{"mysql-01"}, "kept")
	escaping["source_config"].(map[string]any)["full_migrate_conf"].(map[string]any)["data_dir"] = "dumps/../../elsewhere"
	resp := e.startTask(escaping)
	requireAPIError(t, resp, http.StatusBadRequest, 0)
	require.Contains(t, string(resp.Body), "data_dir")

	kept := e.task("kept", "full", []string{"mysql-01"}, "kept")
	kept["clean_dump_file"] = false
	resp = e.startTask(kept)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	resp = e.startTask(e.task("live", "all", []string{"mysql-01"}, "live"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)

	e.waitStage("kept", "Finished", 60*time.Second)
	keptDir := dumpDirOf(w, "kept", "mysql-01")
	require.FileExists(t, filepath.Join(keptDir, "metadata"), "clean_dump_file: false keeps the dump")
	requirePrivateDump(t, keptDir)
	RequireSameTables(t, e.srcDB, e.dstDB, "kept")

	e.src.Exec(t, "UPDATE live.t SET v = v + 1 WHERE id <= 100")
	e.waitSynced("live", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "live")
	Eventually(t, 15*time.Second, func() error {
		all := strings.Join(append(metricLines(t, w, `task="kept"`), metricLines(t, w, `task="live"`)...), "\n")
		for _, want := range []string{
			`dm_worker_task_state{source_id="mysql-01",task="kept",worker="worker1"} 5`,
			`dm_loader_progress{source_id="mysql-01",task="kept"} 1`,
			`dm_loader_data_size_gauge{source_id="mysql-01",task="live"}`,
			`dm_syncer_replication_lag_gauge{source_id="mysql-01",task="live",worker="worker1"}`,
			`dm_syncer_finished_jobs_total{queueNo=`, `dm_syncer_binlog_pos{node="syncer",source_id="mysql-01",task="live"}`,
		} {
			if !strings.Contains(all, want) {
				return fmt.Errorf("worker metrics lack %s", want)
			}
		}
		return nil
	})

	resp = e.api.call(http.MethodDelete, e.addr, "/api/v1/tasks/kept", nil)
	require.Equal(t, http.StatusNoContent, resp.Status, "%s", resp.Body)
	Eventually(t, 15*time.Second, func() error {
		if _, err := os.Stat(filepath.Dir(keptDir)); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("the deleted task's dump is still there (%v)", err)
		}
		if left := metricLines(t, w, `task="kept"`); len(left) > 0 {
			return fmt.Errorf("series of the deleted task: %v", left)
		}
		return nil
	})
	require.NotEmpty(t, metricLines(t, w, `dm_syncer_replication_lag_gauge{source_id="mysql-01",task="live"`), "the other task keeps its series")

	resp = e.api.call(http.MethodDelete, e.addr, "/api/v1/tasks/live", nil)
	require.Equal(t, http.StatusNoContent, resp.Status, "%s", resp.Body)
	Eventually(t, 15*time.Second, func() error {
		if left := metricLines(t, w, `task="live"`); len(left) > 0 {
			return fmt.Errorf("series of the deleted task: %v", left)
		}
		return nil
	})
}
