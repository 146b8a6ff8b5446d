package syncer

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/integration"
)

// BenchmarkReplayThroughput measures the replay of sysbench-like single-row INSERT transactions (4
// sbtest tables) into MariaDB with repl_threads 1 and 16 (and any in DM_SYNC_BENCH_WORKERS),
// from the same binlog in the same run. DM_SYNC_BENCH_ROWS sets
// the number of transactions (default 100000).
//
//	go test ./binlog/syncer -run '^$' -bench ReplayThroughput -benchtime 1x -v -timeout 30m
func BenchmarkReplayThroughput(b *testing.B) {
	for range b.N {
		replayThroughput(b)
	}
}

func replayThroughput(t testing.TB) {
	rows := 100000
	if v := os.Getenv("DM_SYNC_BENCH_ROWS"); v != "" {
		var err error
		rows, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	workerCounts := []int{1, 16}
	if v := os.Getenv("DM_SYNC_BENCH_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		workerCounts = append(workerCounts, n)
	}
	// A fast source: the benchmark measures the replay, not the source's fsyncs.
	e := newEnv(t, "innodb_flush_log_at_trx_commit=0", "sync_binlog=0")
	execAll(t, e.srcDB, "CREATE DATABASE sbtest")
	const tables = 4
	for i := 1; i <= tables; i++ {
		execAll(t, e.srcDB,
			fmt.Sprintf(`CREATE TABLE sbtest.sbtest%d (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
				c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_%d (k))`, i, i),
			fmt.Sprintf(`CREATE PROCEDURE sbtest.gen%d(n INT) BEGIN
				DECLARE i INT DEFAULT 0;
				WHILE i < n DO
					INSERT INTO sbtest.sbtest%d (k, c, pad) VALUES (FLOOR(RAND() * 1000000),
						CONCAT(LPAD(FLOOR(RAND() * 99999999999), 11, '0'), REPEAT('-12345678901', 9)),
						CONCAT(LPAD(FLOOR(RAND() * 99999999999), 11, '0'), REPEAT('-12345678901', 4)));
					SET i = i + 1;
				END WHILE;
			END`, i, i))
	}
	genStart := time.Now()
	var wg sync.WaitGroup
	for i := 1; i <= tables; i++ {
		wg.Go(func() {
			_, err := e.srcDB.Exec(fmt.Sprintf("CALL sbtest.gen%d(%d)", i, rows/tables))
			require.NoError(t, err)
		})
	}
	wg.Wait()
	end := e.masterPos(t)
	t.Logf("source: %d single-row INSERT transactions in %v; binlog up to %s", rows/tables*tables, time.Since(genStart).Round(time.Millisecond), end)

	for _, workers := range workerCounts {
		for _, epoch := range []uint64{0, 1} {
			replayRun(t, e, rows, workers, epoch)
		}
	}
}

// replayRun replays the benchmark's binlog with one worker count, without the owner fence
// (epoch 0: one run at a time is the caller's promise) and with it (what dm-worker runs).
func replayRun(t testing.TB, e *env, rows, workers int, epoch uint64) {
	const tables = 4
	target := fmt.Sprintf("w%de%d", workers, epoch)
	rl, err := rules.New([]rules.MigrateRule{{SchemaPattern: "sbtest", TargetSchema: target}}, nil, false)
	require.NoError(t, err)
	cfg := e.config(t, workers, 100)
	cfg.Task = "bench" + target
	cfg.Rules = rl
	cfg.Epoch = epoch
	s := mustNew(t, cfg)
	began := time.Now()
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 20*time.Minute)
	took := time.Since(began)
	require.NoError(t, r.stop())
	var n int
	for i := 1; i <= tables; i++ {
		n += int(integration.TableCount(t, e.tgtDB, fmt.Sprintf("%s.sbtest%d", target, i)))
		require.Equal(t, integration.TableChecksum(t, e.srcDB, fmt.Sprintf("sbtest.sbtest%d", i)), integration.TableChecksum(t, e.tgtDB, fmt.Sprintf("%s.sbtest%d", target, i)))
	}
	require.Equal(t, rows/tables*tables, n)
	var batches uint64
	for _, o := range s.metrics.txnDuration {
		var m dto.Metric
		require.NoError(t, o.(prometheus.Metric).Write(&m))
		batches = m.Histogram.GetSampleCount()
	}
	t.Logf("repl_threads=%d repl_batch=100 fence=%v: %d rows in %v = %.0f rows/s (%d target transactions, %.1f rows each)",
		workers, epoch != 0, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), batches, float64(n)/float64(max(batches, 1)))
}
