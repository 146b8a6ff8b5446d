package load_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/integration"
)

// runUntil runs the loader and cancels it once the progress has passed
// atBytes; it returns Run's error.
func runUntil(t *testing.T, l *load.Loader, atBytes int64) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop := make(chan struct{})
	watcher := make(chan struct{})
	go func() {
		defer close(watcher)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if l.Progress().FinishedBytes >= atBytes {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	err := l.Run(ctx)
	close(stop)
	<-watcher
	return err
}

func chunkRows(t *testing.T, p pair, task string, where string) int64 {
	t.Helper()
	return integration.TableCount(t, p.tgtDB, "dm_meta."+task+"_loader_checkpoint WHERE cp_file <> '' "+where)
}

// A load cancelled midway resumes: committed chunks are skipped (with
// on_duplicate=error, reloading one would fail), the interrupted one was
// rolled back, so no row is missing or doubled, also in a table without key.
func TestLoadCrashRestart(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	p.src.Exec(t, `CREATE DATABASE cr;
		CREATE TABLE cr.a_nokey (x INT, y VARCHAR(50));
		INSERT INTO cr.a_nokey SELECT seq % 1000, MD5(seq % 1000) FROM mysql.seq_1_to_4000;
		CREATE TABLE cr.b (id INT PRIMARY KEY, v VARCHAR(50), u INT, UNIQUE KEY (u));
		INSERT INTO cr.b SELECT seq, MD5(seq), seq FROM mysql.seq_1_to_30000;`)
	meta, dir := runDump(t, p, dump.Config{Rules: mustRules(t, "cr|*"), ChunkRows: 1000})
	total := int64(0)
	for _, tm := range meta.Tables {
		total += int64(len(tm.Chunks))
	}
	require.EqualValues(t, 34, total)

	cfg := load.Config{Dir: dir, Task: "crash", Threads: 2, OnDuplicate: "error"}
	l := newLoader(t, p, cfg)
	err := runUntil(t, l, meta.TotalBytes()*2/5)
	require.True(t, errors.Is(err, context.Canceled), "Run: %v", err)
	done := chunkRows(t, p, "crash", "")
	t.Logf("cancelled after %d of %d chunks", done, total)
	require.Positive(t, done)
	require.Less(t, done, total)
	finished, _, err := load.Finished(context.Background(), p.tgtDB, "dm_meta", "crash", "src")
	require.NoError(t, err)
	require.False(t, finished)

	l = newLoader(t, p, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, l.Run(ctx))
	require.Equal(t, load.Progress{FinishedBytes: meta.TotalBytes(), TotalBytes: meta.TotalBytes()}, l.Progress())
	integration.RequireSameTable(t, p.srcDB, "cr.a_nokey", p.tgtDB, "cr.a_nokey")
	integration.RequireSameTable(t, p.srcDB, "cr.b", p.tgtDB, "cr.b")
	require.Equal(t, total, chunkRows(t, p, "crash", ""))
	finished, loc, err := load.Finished(ctx, p.tgtDB, "dm_meta", "crash", "src")
	require.NoError(t, err)
	require.True(t, finished)
	require.Equal(t, meta.Location, loc)

	// A third run is a no-op.
	l = newLoader(t, p, cfg)
	require.NoError(t, l.Run(ctx))
	require.Equal(t, meta.TotalBytes(), l.Progress().FinishedBytes)
	integration.RequireSameTable(t, p.srcDB, "cr.b", p.tgtDB, "cr.b")

	// The checkpoint table's columns are no reserved words anywhere: all
	// carry our prefix, and MariaDB takes each unquoted as a column name.
	rows, err := p.tgtDB.Query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'dm_meta' AND TABLE_NAME = 'crash_loader_checkpoint' ORDER BY ORDINAL_POSITION")
	require.NoError(t, err)
	var cols []string
	for rows.Next() {
		var c string
		require.NoError(t, rows.Scan(&c))
		cols = append(cols, c)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, load.CheckpointColumns(), cols)
	for i, c := range cols {
		require.True(t, strings.HasPrefix(c, "cp_"), c)
		p.tgt.Exec(t, fmt.Sprintf("CREATE TABLE dm_meta.reserved_%d (%s INT)", i, c))
		require.NotContains(t, mysqlReserved, strings.ToUpper(c))
	}
}

// A few reserved words that bit DM and its kind; the cp_ prefix keeps us
// clear of all of them.
var mysqlReserved = []string{"OFFSET", "POSITION", "SCHEMA", "TABLE", "ROWS", "STATUS", "FILE", "SOURCE", "RANGE", "KEY", "KEYS", "INDEX", "ORDER", "GROUP", "VALUES", "END"}

// A load that began with one dump resumes on a worker that had to dump
// again (the source changed meanwhile): the target ends with exactly the new
// snapshot. Rows the old load wrote and the source deleted since are gone,
// changed rows and a moved unique value load without a duplicate-key error
// under on_duplicate=error (they are the task's own rows), the table without
// key is emptied and reloaded, and a row the task never wrote stays.
func TestRedumpResume(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	p.src.Exec(t, `CREATE DATABASE rd;
		CREATE TABLE rd.a_nokey (x INT, y VARCHAR(50));
		INSERT INTO rd.a_nokey SELECT seq % 500, MD5(seq) FROM mysql.seq_1_to_3000;
		CREATE TABLE rd.b (id INT PRIMARY KEY, v VARCHAR(50), u INT, UNIQUE KEY (u));
		INSERT INTO rd.b SELECT seq, MD5(seq), seq FROM mysql.seq_1_to_20000;
		CREATE TABLE rd.c (k VARCHAR(20) PRIMARY KEY, v INT);
		INSERT INTO rd.c SELECT CONCAT('k', seq), seq FROM mysql.seq_1_to_5000;`)
	r := mustRules(t, "rd|*")
	meta1, dir1 := runDump(t, p, dump.Config{Rules: r, ChunkRows: 1000})
	var nokeyBytes, bChunk int64
	for _, tm := range meta1.Tables {
		switch tm.Table {
		case "a_nokey":
			nokeyBytes = tm.Bytes
		case "b":
			bChunk = tm.Chunks[0].Bytes
		}
	}
	// One thread loads the tables' chunks in turn (a_nokey, b, c, a_nokey,
	// ...) and stops after a few chunks of b, a_nokey's 3 chunks among the
	// first.
	l := newLoader(t, p, load.Config{Dir: dir1, Threads: 1, Rules: r})
	err := runUntil(t, l, nokeyBytes+3*bChunk)
	require.True(t, errors.Is(err, context.Canceled), "Run: %v", err)
	loadedB := integration.TableCount(t, p.tgtDB, "rd.b")
	t.Logf("first load stopped with %d rows of b", loadedB)
	require.Positive(t, loadedB)
	require.Less(t, loadedB, int64(20000))
	require.Positive(t, integration.TableCount(t, p.tgtDB, "rd.a_nokey"), "the table without key was begun")
	// A row some other writer put into the target; the task never wrote it.
	p.tgt.Exec(t, "INSERT INTO rd.b VALUES (10000000, 'foreign', -1)")

	// The source changes; the first worker dies and another dumps again.
	p.src.Exec(t, `DELETE FROM rd.b WHERE id % 7 = 0;
		UPDATE rd.b SET v = 'changed' WHERE id % 5 = 0;
		UPDATE rd.b SET u = 7 WHERE id = 15001;
		INSERT INTO rd.b SELECT seq, 'new', seq FROM mysql.seq_20001_to_21000;
		DELETE FROM rd.a_nokey WHERE x % 3 = 0;
		INSERT INTO rd.a_nokey SELECT seq, 'new' FROM mysql.seq_1_to_100;
		DELETE FROM rd.c WHERE v < 100;`)
	meta2, dir2 := runDump(t, p, dump.Config{Rules: r, ChunkRows: 700})
	require.NotEqual(t, meta1.ID, meta2.ID)

	l = newLoader(t, p, load.Config{Dir: dir2, Threads: 3, Rules: r, Redumped: true, OnDuplicate: "error"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, l.Run(ctx))

	require.Equal(t, []string{`"10000000","foreign","-1"`}, rowsOf(t, p.tgtDB, "SELECT * FROM rd.b WHERE id = 10000000"))
	p.tgt.Exec(t, "DELETE FROM rd.b WHERE id = 10000000")
	for _, tbl := range []string{"rd.a_nokey", "rd.b", "rd.c"} {
		integration.RequireSameTable(t, p.srcDB, tbl, p.tgtDB, tbl)
	}
	require.Zero(t, chunkRows(t, p, "task", "AND cp_dump_id = '"+meta1.ID+"'"))
	finished, loc, err := load.Finished(ctx, p.tgtDB, "dm_meta", "task", "src")
	require.NoError(t, err)
	require.True(t, finished)
	require.Equal(t, meta2.Location, loc)
}
