package load_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/integration"
)

// BenchmarkSysbenchCopy compares a full copy of a sysbench-shaped table
// (DM_BENCH_ROWS rows, default 1,000,000) by dump.Run + Loader.Run with
// `mariadb-dump --single-transaction --quick | mariadb`, each into a fresh,
// identical target, in the same run. It is a benchmark, so go test runs it only with -bench:
//
//	go test ./binlog/load -run '^$' -bench SysbenchCopy -benchtime 1x -v -timeout 30m
//
// DM_BENCH_ROUNDS (default 1) repeats both copies, alternating which goes
// first. DM_BENCH_EXPORT_THREADS (default 4, DM's export_threads),
// DM_BENCH_IMPORT_THREADS (default 16, DM's import_threads) and
// DM_BENCH_CHUNK_ROWS (default dump.DefaultChunkRows) tune ours. Before
// each copy all servers are left to flush their dirty pages, so that one
// copy's background writes do not slow the next. The log shows wall time
// and the target server's CPU time.
func BenchmarkSysbenchCopy(b *testing.B) {
	for range b.N {
		sysbenchCopy(b)
	}
}

func sysbenchCopy(t testing.TB) {
	rows := envInt("DM_BENCH_ROWS", 1_000_000)
	rounds := envInt("DM_BENCH_ROUNDS", 1)
	exportThreads := envInt("DM_BENCH_EXPORT_THREADS", 4)
	importThreads := envInt("DM_BENCH_IMPORT_THREADS", 16)
	chunkRows := envInt("DM_BENCH_CHUNK_ROWS", 0)

	var tgts []*integration.MariaDB
	done := make(chan struct{})
	go func() {
		defer close(done)
		tgts = integration.StartMariaDBs(t, 2*rounds, integration.MariaDBOptions{})
	}()
	src := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	<-done
	require.Len(t, tgts, 2*rounds)
	srcDB := src.DB(t)

	start := time.Now()
	src.Exec(t, `CREATE DATABASE sbtest;
		CREATE TABLE sbtest.sbtest1 (
		  id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
		  c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '',
		  PRIMARY KEY (id), KEY k_1 (k)) ENGINE = InnoDB`)
	// sysbench's values: c is 10 groups of 11 digits, pad 5 groups.
	grp := "LPAD(FLOOR(RAND() * 99999999999), 11, '0')"
	c := "CONCAT_WS('-', " + strings.Repeat(grp+", ", 9) + grp + ")"
	pad := "CONCAT_WS('-', " + strings.Repeat(grp+", ", 4) + grp + ")"
	for lo := 1; lo <= rows; lo += 100_000 {
		hi := min(lo+99_999, rows)
		src.Exec(t, fmt.Sprintf("INSERT INTO sbtest.sbtest1 (id, k, c, pad) SELECT seq, FLOOR(RAND() * %d), %s, %s FROM mysql.seq_%d_to_%d", rows, c, pad, lo, hi))
	}
	src.Exec(t, "ANALYZE TABLE sbtest.sbtest1")
	t.Logf("generated %d rows in %v", rows, time.Since(start).Round(time.Millisecond))
	servers := append([]*integration.MariaDB{src}, tgts...)

	ours := func(tgt *integration.MariaDB) string {
		dir := t.TempDir()
		cpu0 := serverCPU(tgt)
		start := time.Now()
		meta, err := dump.Run(context.Background(), dump.Config{Upstream: cfgOf(src), Dir: dir, Threads: exportThreads,
			ChunkRows: chunkRows, Rules: mustRules(t, "sbtest|*"), Logger: testLogger(t)})
		require.NoError(t, err)
		dumped := time.Since(start)
		l, err := load.New(load.Config{Dir: dir, Target: targetDB(t, tgt), Threads: importThreads, Task: "bench", Source: "src", Logger: testLogger(t)})
		require.NoError(t, err)
		require.NoError(t, l.Run(context.Background()))
		took := time.Since(start)
		chunks := 0
		for _, tm := range meta.Tables {
			chunks += len(tm.Chunks)
		}
		return fmt.Sprintf("dump + load              %6.2fs (%6.0f rows/s; dump %.2fs, load %.2fs; %.0f MB in %d chunks, %d snapshot connections, %d import threads; target CPU %s)",
			took.Seconds(), float64(rows)/took.Seconds(), dumped.Seconds(), (took - dumped).Seconds(),
			float64(meta.TotalBytes())/1e6, chunks, meta.Threads, importThreads, serverCPU(tgt)-cpu0)
	}
	baseline := func(tgt *integration.MariaDB) string {
		cpu0 := serverCPU(tgt)
		start := time.Now()
		dumpCmd := exec.Command("mariadb-dump", "--single-transaction", "--quick", "-h", src.Host(), "-P", strconv.Itoa(src.Port()),
			"-u", src.User(), "--databases", "sbtest")
		dumpCmd.Env = append(os.Environ(), "MYSQL_PWD="+src.Password())
		loadCmd := exec.Command("mariadb", "-h", tgt.Host(), "-P", strconv.Itoa(tgt.Port()), "-u", tgt.User())
		loadCmd.Env = append(os.Environ(), "MYSQL_PWD="+tgt.Password())
		pipe, err := dumpCmd.StdoutPipe()
		require.NoError(t, err)
		loadCmd.Stdin = pipe
		dumpCmd.Stderr, loadCmd.Stderr = os.Stderr, os.Stderr
		require.NoError(t, loadCmd.Start())
		require.NoError(t, dumpCmd.Run())
		require.NoError(t, loadCmd.Wait())
		took := time.Since(start)
		return fmt.Sprintf("mariadb-dump | mariadb   %6.2fs (%6.0f rows/s; target CPU %s)", took.Seconds(), float64(rows)/took.Seconds(), serverCPU(tgt)-cpu0)
	}

	for r := range rounds {
		runs := []func(*integration.MariaDB) string{ours, baseline}
		if r%2 == 1 {
			runs[0], runs[1] = runs[1], runs[0]
		}
		for i, run := range runs {
			tgt := tgts[2*r+i]
			waitIdle(t, servers)
			t.Logf("round %d: %s; load average %s", r+1, run(tgt), loadAverage())
			tgtDB := tgt.DB(t)
			integration.RequireSameTable(t, srcDB, "sbtest.sbtest1", tgtDB, "sbtest.sbtest1")
		}
	}
}

// waitIdle makes every server flush its dirty pages (innodb_max_dirty_pages_pct
// 0) and waits until they are written, so that one copy's background writes
// do not slow the next.
func waitIdle(t testing.TB, servers []*integration.MariaDB) {
	for _, m := range servers {
		db := m.DB(t)
		var old string
		require.NoError(t, db.QueryRow("SELECT @@GLOBAL.innodb_max_dirty_pages_pct").Scan(&old))
		_, err := db.Exec("SET GLOBAL innodb_max_dirty_pages_pct = 0")
		require.NoError(t, err)
		deadline := time.Now().Add(time.Minute)
		for {
			var name string
			var dirty int64
			require.NoError(t, db.QueryRow("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'").Scan(&name, &dirty))
			if dirty < 50 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		_, err = db.Exec("SET GLOBAL innodb_max_dirty_pages_pct = " + old)
		require.NoError(t, err)
	}
}

// serverCPU is the server process's user+system CPU time so far, read from
// /proc through the pid file the harness keeps beside the datadir.
func serverCPU(m *integration.MariaDB) time.Duration {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(m.DataDir), "mariadbd.pid"))
	if err != nil {
		return 0
	}
	stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return (time.Duration(u+s) * 10 * time.Millisecond).Round(10 * time.Millisecond)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
