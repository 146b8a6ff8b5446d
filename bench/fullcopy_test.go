package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dm-oss/dm/integration"
)

// BenchmarkFullCopy times a `task_mode: full` task of 1,000,000 sysbench rows against
// `mariadb-dump --single-transaction --quick | mariadb` of the same data, in the same run.
// Rows come from `sysbench oltp_insert prepare`. Override the size with DM_BENCH_ROWS.
func BenchmarkFullCopy(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("DM_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("DM_BENCH_ROWS: %v", err)
		}
		rows = n
	}
	dbs := integration.StartMariaDBs(b, 1, integration.MariaDBOptions{Binlog: true})
	targets := integration.StartMariaDBs(b, 2, integration.MariaDBOptions{})
	src, dmTarget, dumpTarget := dbs[0], targets[0], targets[1]
	src.Exec(b, "CREATE DATABASE sbtest")
	prep := exec.Command("sysbench", "oltp_insert", "--mysql-host=127.0.0.1", "--mysql-port="+strconv.Itoa(src.Port()),
		"--mysql-user="+src.User(), "--mysql-password="+src.Password(), "--mysql-db=sbtest",
		"--tables=1", "--table-size="+strconv.Itoa(rows), "prepare")
	start := time.Now()
	if out, err := prep.CombinedOutput(); err != nil {
		b.Fatalf("sysbench prepare: %v\n%s", err, out)
	}
	b.Logf("sysbench prepare of %d rows: %s", rows, time.Since(start).Round(time.Millisecond))

	b.ResetTimer()
	// Baseline: the classic pipe.
	start = time.Now()
	pipe := exec.Command("bash", "-c", fmt.Sprintf(
		"mariadb-dump -h127.0.0.1 -P%d -u%s -p'%s' --single-transaction --quick --databases sbtest | mariadb -h127.0.0.1 -P%d -u%s -p'%s'",
		src.Port(), src.User(), src.Password(), dumpTarget.Port(), dumpTarget.User(), dumpTarget.Password()))
	if out, err := pipe.CombinedOutput(); err != nil {
		b.Fatalf("mariadb-dump | mariadb: %v\n%s", err, out)
	}
	baseline := time.Since(start)

	// dm: one master, one worker, a full task.
	c := integration.NewCluster(b)
	m := c.StartMasters(1, integration.MasterOptions{})[0]
	c.StartWorker("worker1", 10)
	post := func(path string, body any) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		resp, err := integration.Call(ctx, http.MethodPost, m.APIAddr, path, body)
		if err != nil || resp.Status != http.StatusCreated {
			b.Fatalf("POST %s: %v %d %s", path, err, resp.Status, resp.Body)
		}
	}
	integration.Eventually(b, 20*time.Second, func() error {
		resp, err := integration.Call(context.Background(), http.MethodGet, m.APIAddr, "/api/v1/cluster/workers", nil)
		if err != nil || resp.Status != http.StatusOK {
			return fmt.Errorf("workers: %v", err)
		}
		return nil
	})
	post("/api/v1/sources", map[string]any{"source_name": "sb", "host": src.Host(), "port": src.Port(), "user": src.User(), "password": src.Password(), "enable_gtid": true})
	integration.Eventually(b, 20*time.Second, func() error {
		resp, err := integration.Call(context.Background(), http.MethodGet, m.APIAddr, "/api/v1/sources/sb/status", nil)
		if err != nil || !bytesContain(resp.Body, `"worker_name":"worker1"`) {
			return fmt.Errorf("not bound: %v %s", err, resp.Body)
		}
		return nil
	})
	start = time.Now()
	post("/api/v1/tasks", map[string]any{"remove_meta": true, "task": map[string]any{
		"name": "bench", "task_mode": "full", "on_duplicate": "error", "enhance_online_schema_change": true,
		"target_config":      map[string]any{"host": dmTarget.Host(), "port": dmTarget.Port(), "user": dmTarget.User(), "password": dmTarget.Password()},
		"table_migrate_rule": []map[string]any{{"source": map[string]any{"source_name": "sb", "schema": "sbtest", "table": "*"}}},
		"source_config": map[string]any{
			"full_migrate_conf": map[string]any{"export_threads": 4, "import_threads": 4, "data_dir": "./dumped_data"},
			"source_conf":       []map[string]any{{"source_name": "sb"}},
		},
	}})
	integration.Eventually(b, 10*time.Minute, func() error {
		resp, err := integration.Call(context.Background(), http.MethodGet, m.APIAddr, "/api/v1/tasks/bench/status", nil)
		if err != nil {
			return err
		}
		if bytesContain(resp.Body, `"error_msg"`) {
			b.Fatalf("task failed: %s", resp.Body)
		}
		if !bytesContain(resp.Body, `"stage":"Finished"`) {
			return fmt.Errorf("not finished: %s", resp.Body)
		}
		return nil
	})
	dmTime := time.Since(start)
	b.StopTimer()

	for _, db := range []*integration.MariaDB{dmTarget, dumpTarget} {
		if got, want := integration.TableChecksum(b, db.DB(b), "sbtest.sbtest1"), integration.TableChecksum(b, src.DB(b), "sbtest.sbtest1"); got != want {
			b.Fatalf("target %s: checksum %d, source %d", db.Addr(), got, want)
		}
	}
	b.ReportMetric(dmTime.Seconds(), "dm_s")
	b.ReportMetric(baseline.Seconds(), "mariadb-dump_s")
	b.ReportMetric(float64(rows)/dmTime.Seconds(), "dm_rows/s")
	b.ReportMetric(float64(rows)/baseline.Seconds(), "baseline_rows/s")
	b.ReportMetric(baseline.Seconds()/dmTime.Seconds(), "speedup")
	b.Logf("full copy of %d rows: dm %s (%.0f rows/s), mariadb-dump|mariadb %s (%.0f rows/s), dm is %.2fx the baseline's speed",
		rows, dmTime.Round(time.Millisecond), float64(rows)/dmTime.Seconds(), baseline.Round(time.Millisecond), float64(rows)/baseline.Seconds(), baseline.Seconds()/dmTime.Seconds())
}

func bytesContain(b []byte, s string) bool { return strings.Contains(string(b), s) }
