package load_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/integration"
)

// A target that goes down mid-load: Run keeps retrying, Progress says so
// (since when, the target's error), and once the target is back the load
// resumes from its checkpoints and ends with the source's rows, none twice
// (on_duplicate=error would fail on a chunk loaded again).
func TestLoadRetriesWhileTargetIsDown(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	p.src.Exec(t, `CREATE DATABASE lo;
		CREATE TABLE lo.a (id INT PRIMARY KEY, v VARCHAR(50));
		INSERT INTO lo.a SELECT seq, MD5(seq) FROM mysql.seq_1_to_20000;
		CREATE TABLE lo.b (id INT PRIMARY KEY, v VARCHAR(50));
		INSERT INTO lo.b SELECT seq, MD5(seq) FROM mysql.seq_1_to_5000;`)
	_, dir := runDump(t, p, dump.Config{Rules: mustRules(t, "lo|*"), ChunkRows: 1000})

	// Hold the load up on a gap lock over the whole (empty) table b, so that the target
	// stops while a loads and b's chunks wait.
	var create string
	require.NoError(t, p.srcDB.QueryRow("SHOW CREATE TABLE lo.b").Scan(new(string), &create))
	p.tgt.Exec(t, "CREATE DATABASE lo")
	p.tgt.Exec(t, strings.Replace(create, "CREATE TABLE `b`", "CREATE TABLE lo.b", 1))
	lock, err := p.tgtDB.Conn(context.Background())
	require.NoError(t, err)
	defer lock.Close()
	_, err = lock.ExecContext(context.Background(), "BEGIN")
	require.NoError(t, err)
	_, err = lock.ExecContext(context.Background(), "SELECT * FROM lo.b FOR UPDATE")
	require.NoError(t, err)

	l := newLoader(t, p, load.Config{Dir: dir, Threads: 2, OnDuplicate: "error", RetryFor: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	waitFor(t, 30*time.Second, "the load waiting on the locked table", func() bool {
		var n int
		err := p.tgtDB.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO `lo`.`b`%' AND TIME_MS > 200").Scan(&n)
		return err == nil && n > 0 && l.Progress().FinishedBytes > 0
	})
	stopped := time.Now()
	p.tgt.Stop(t)

	var pr load.Progress
	waitFor(t, 20*time.Second, "Progress reporting the retry", func() bool {
		pr = l.Progress()
		return pr.Retrying != nil && time.Since(pr.Retrying.Since) >= 2*time.Second
	})
	select {
	case err := <-done:
		t.Fatalf("Run returned while the target was down: %v", err)
	default:
	}
	rt := pr.Retrying
	require.True(t, !rt.Since.Before(stopped.Add(-time.Second)) && rt.Since.Before(time.Now()), "retrying since %v, target stopped at %v", rt.Since, stopped)
	require.Equal(t, 30*time.Second, rt.For)
	require.Contains(t, rt.Error, "load")
	require.True(t, strings.Contains(rt.Error, "connection refused") || strings.Contains(rt.Error, "shutdown") ||
		strings.Contains(rt.Error, "bad connection") || strings.Contains(rt.Error, "invalid connection"), "the target error: %s", rt.Error)
	require.Less(t, pr.FinishedBytes, pr.TotalBytes)

	p.tgt.Restart(t)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("the load did not finish after the target came back")
	}
	pr = l.Progress()
	require.Nil(t, pr.Retrying)
	require.Equal(t, pr.TotalBytes, pr.FinishedBytes)
	integration.RequireSameTable(t, p.srcDB, "lo.a", p.tgtDB, "lo.a")
	integration.RequireSameTable(t, p.srcDB, "lo.b", p.tgtDB, "lo.b")
	finished, _, err := load.Finished(ctx, p.tgtDB, "dm_meta", "task", "src")
	require.NoError(t, err)
	require.True(t, finished)
}
