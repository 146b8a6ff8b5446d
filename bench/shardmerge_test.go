package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/dm-oss/dm/integration"
)

// BenchmarkShardMergePessimistic measures what a pessimistic shard lock costs: two sources ×
// two shard tables merged into one target table, one master and two workers. The same number of rows is replicated twice while the task is paused and then
// resumed: once with no DDL (the baseline), once with an ADD COLUMN on every shard table
// issued so that half of the rows (t1's) come after its DDL and before t2's, i.e. are held
// back and replayed from the binlog once the lock resolves. Each phase is timed from the
// resume to every subtask caught up with its source (and, for the second, no lock left).
// Override the rows per shard table and phase with DM_BENCH_SHARD_ROWS (default 100000).
func BenchmarkShardMergePessimistic(b *testing.B) {
	rows := 100_000
	if v := os.Getenv("DM_BENCH_SHARD_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("DM_BENCH_SHARD_ROWS: %v", err)
		}
		rows = n
	}
	srcs := integration.StartMariaDBs(b, 2, integration.MariaDBOptions{Binlog: true})
	target := integration.StartMariaDBs(b, 1, integration.MariaDBOptions{})[0]
	for _, src := range srcs {
		src.Exec(b, "CREATE DATABASE shard")
		for _, t := range []string{"t1", "t2"} {
			src.Exec(b, "CREATE TABLE shard."+t+" (id BIGINT PRIMARY KEY, k INT NOT NULL, pad CHAR(60) NOT NULL)")
		}
	}
	c := integration.NewCluster(b)
	m := c.StartMasters(1, integration.MasterOptions{})[0]
	c.StartWorker("worker1", 10)
	c.StartWorker("worker2", 10)
	call := func(method, path string, body any, want int) integration.Response {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		resp, err := integration.Call(ctx, method, m.APIAddr, path, body)
		if err != nil || resp.Status != want {
			b.Fatalf("%s %s: %v %d %s", method, path, err, resp.Status, resp.Body)
		}
		return resp
	}
	integration.Eventually(b, 20*time.Second, func() error {
		resp, err := integration.Call(context.Background(), http.MethodGet, m.APIAddr, "/api/v1/cluster/workers", nil)
		if err != nil || !bytesContain(resp.Body, `"worker2"`) || !bytesContain(resp.Body, `"worker1"`) {
			return fmt.Errorf("workers: %v", err)
		}
		return nil
	})
	var rules []map[string]any
	var conf []map[string]any
	for i, src := range srcs {
		name := fmt.Sprintf("s%d", i+1)
		call(http.MethodPost, "/api/v1/sources", map[string]any{"source_name": name, "host": src.Host(), "port": src.Port(), "user": src.User(), "password": src.Password(), "enable_gtid": true}, http.StatusCreated)
		rules = append(rules, map[string]any{"source": map[string]any{"source_name": name, "schema": "shard", "table": "t*"}, "target": map[string]any{"schema": "merged", "table": "t"}})
		conf = append(conf, map[string]any{"source_name": name})
	}
	integration.Eventually(b, 30*time.Second, func() error {
		for _, s := range []string{"s1", "s2"} {
			resp, err := integration.Call(context.Background(), http.MethodGet, m.APIAddr, "/api/v1/sources/"+s+"/status", nil)
			if err != nil || !bytesContain(resp.Body, `"worker_name":"worker`) {
				return fmt.Errorf("%s not bound: %v %s", s, err, resp.Body)
			}
		}
		return nil
	})
	call(http.MethodPost, "/api/v1/tasks", map[string]any{"remove_meta": true, "task": map[string]any{
		"name": "merge", "task_mode": "all", "shard_mode": "pessimistic", "on_duplicate": "error", "enhance_online_schema_change": false,
		"target_config":      map[string]any{"host": target.Host(), "port": target.Port(), "user": target.User(), "password": target.Password()},
		"table_migrate_rule": rules,
		"source_config":      map[string]any{"source_conf": conf, "incr_migrate_conf": map[string]any{"repl_threads": 16, "repl_batch": 100}},
	}}, http.StatusCreated)
	caughtUp := func() error {
		resp := call(http.MethodGet, "/api/v1/tasks/merge/status", nil, http.StatusOK)
		var st struct {
			Data []struct {
				SourceName          string  `json:"source_name"`
				ErrorMsg            *string `json:"error_msg"`
				UnresolvedDDLLockID string  `json:"unresolved_ddl_lock_id"`
				SyncStatus          *struct {
					Synced           bool   `json:"synced"`
					SyncerBinlogGtid string `json:"syncer_binlog_gtid"`
				} `json:"sync_status"`
			} `json:"data"`
		}
		if err := json.Unmarshal(resp.Body, &st); err != nil {
			return err
		}
		if len(st.Data) != 2 {
			return fmt.Errorf("%d subtasks", len(st.Data))
		}
		for _, d := range st.Data {
			if d.ErrorMsg != nil {
				b.Fatalf("subtask %s failed: %s", d.SourceName, *d.ErrorMsg)
			}
			var gtid string
			idx, _ := strconv.Atoi(d.SourceName[1:])
			if err := srcs[idx-1].DB(b).QueryRow("SELECT @@gtid_binlog_pos").Scan(&gtid); err != nil {
				return err
			}
			if d.SyncStatus == nil || !d.SyncStatus.Synced || d.SyncStatus.SyncerBinlogGtid != gtid || d.UnresolvedDDLLockID != "" {
				return fmt.Errorf("%s not caught up", d.SourceName)
			}
		}
		return nil
	}
	integration.Eventually(b, 2*time.Minute, caughtUp)

	// insert writes n rows into shard.<table> of every source, 1000 per transaction, ids
	// disjoint across sources, tables and phases.
	next := 0
	insert := func(table string, extra string) {
		for si, src := range srcs {
			base := (next*4+si*2+map[string]int{"t1": 0, "t2": 1}[table])*rows + 1
			for i := 0; i < rows; i += 1000 {
				n := min(1000, rows-i)
				src.Exec(b, fmt.Sprintf("INSERT INTO shard.%s SELECT seq, seq %% 1000, RPAD('x', 60, 'y')%s FROM shard.seq_%d_to_%d",
					table, extra, base+i, base+i+n-1))
			}
		}
	}
	phase := func(name string, write func()) time.Duration {
		call(http.MethodPost, "/api/v1/tasks/merge/pause", nil, http.StatusOK)
		integration.Eventually(b, 30*time.Second, func() error {
			resp := call(http.MethodGet, "/api/v1/tasks/merge/status", nil, http.StatusOK)
			if bytesContain(resp.Body, `"stage":"Running"`) {
				return fmt.Errorf("not paused")
			}
			return nil
		})
		write()
		next++
		start := time.Now()
		call(http.MethodPost, "/api/v1/tasks/merge/resume", nil, http.StatusOK)
		integration.Eventually(b, 10*time.Minute, caughtUp)
		d := time.Since(start)
		b.Logf("%s: %d rows replicated in %s (%.0f rows/s)", name, 4*rows, d.Round(time.Millisecond), float64(4*rows)/d.Seconds())
		return d
	}

	b.ResetTimer()
	baseline := phase("no DDL", func() {
		insert("t1", "")
		insert("t2", "")
	})
	locked := phase("with a pessimistic lock", func() {
		for _, src := range srcs {
			src.Exec(b, "ALTER TABLE shard.t1 ADD COLUMN c INT NOT NULL DEFAULT 0")
		}
		insert("t1", ", 1")
		insert("t2", "")
		for _, src := range srcs {
			src.Exec(b, "ALTER TABLE shard.t2 ADD COLUMN c INT NOT NULL DEFAULT 0")
		}
	})
	b.StopTimer()

	got, want := integration.TableCount(b, target.DB(b), "merged.t"), int64(0)
	for _, src := range srcs {
		want += integration.TableCount(b, src.DB(b), "shard.t1") + integration.TableCount(b, src.DB(b), "shard.t2")
	}
	if got != want {
		b.Fatalf("merged table has %d rows, the shards %d", got, want)
	}
	if held := integration.TableCount(b, target.DB(b), "merged.t WHERE c = 1"); held != int64(2*rows) {
		b.Fatalf("held-back rows with the new column: %d, want %d", held, 2*rows)
	}
	b.ReportMetric(float64(4*rows)/baseline.Seconds(), "baseline_rows/s")
	b.ReportMetric(float64(4*rows)/locked.Seconds(), "locked_rows/s")
	b.ReportMetric(locked.Seconds()/baseline.Seconds(), "lock_cost_ratio")
	b.Logf("shard merge of %d rows: no DDL %s, with a pessimistic lock (half the rows held back and replayed) %s: %.2fx the time",
		4*rows, baseline.Round(time.Millisecond), locked.Round(time.Millisecond), locked.Seconds()/baseline.Seconds())
}
