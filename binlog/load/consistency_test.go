package load_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/integration"
)

// Every mode produces a complete, loadable dump; auto means snapshot on
// MariaDB.
func TestConsistencyModes(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	p.src.Exec(t, `CREATE DATABASE c;
		CREATE TABLE c.a (id INT PRIMARY KEY, v VARCHAR(20));
		CREATE TABLE c.b (k VARCHAR(20) PRIMARY KEY, v INT);
		CREATE TABLE c.n (v INT);
		INSERT INTO c.a SELECT seq, CONCAT('a', seq) FROM mysql.seq_1_to_3000;
		INSERT INTO c.b SELECT CONCAT('k', seq), seq FROM mysql.seq_1_to_3000;
		INSERT INTO c.n SELECT seq % 10 FROM mysql.seq_1_to_700;`)
	for _, mode := range []string{"auto", "none", "flush", "snapshot", "lock"} {
		want := mode
		if mode == "auto" {
			want = dump.ConsistencySnapshot
		}
		meta, dir := runDump(t, p, dump.Config{Rules: mustRules(t, "c|*"), Threads: 3, ChunkRows: 500, Consistency: mode})
		require.Equal(t, want, meta.Consistency, mode)
		require.Equal(t, 3, meta.Threads, mode)
		require.NotEmpty(t, meta.Location.File, mode)
		require.NotEmpty(t, meta.Location.GTIDSet, mode)
		require.EqualValues(t, 6700, meta.TotalRows(), mode)

		target := "c_" + mode
		runLoad(t, p, load.Config{Dir: dir, Task: "t_" + mode, Threads: 3, Rules: mustRules(t, "c|*=>"+target+"|")})
		for _, tbl := range []string{"a", "b", "n"} {
			integration.RequireSameTable(t, p.srcDB, "c."+tbl, p.tgtDB, target+"."+tbl)
		}
	}
}

// A writer commits transactions that touch two tables (insert a new row
// into both and update an old row in both) while flush, snapshot and lock
// dumps run with several threads. Each dumped table must hold exactly the
// transactions up to the dump's GTID position: nothing later leaks in,
// nothing earlier is missing, and both tables agree although different
// connections read them.
func TestConsistentDumpUnderWrites(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{dump.ConsistencyFlush, dump.ConsistencySnapshot, dump.ConsistencyLock} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			testConsistentDumpUnderWrites(t, mode)
		})
	}
}

type writeRec struct {
	seq      uint64
	id, upd  int
	newV, uV string
}

func testConsistentDumpUnderWrites(t *testing.T, mode string) {
	const seed = 20000
	p := startPair(t)
	p.src.Exec(t, `CREATE DATABASE w;
		CREATE TABLE w.a (id INT PRIMARY KEY, v VARCHAR(30));
		CREATE TABLE w.b (id INT PRIMARY KEY, v VARCHAR(30));
		INSERT INTO w.a SELECT seq, CONCAT('s', seq) FROM mysql.seq_1_to_20000;
		INSERT INTO w.b SELECT seq, CONCAT('s', seq) FROM mysql.seq_1_to_20000;`)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, err := p.srcDB.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	var (
		mu      sync.Mutex
		recs    []writeRec
		written atomic.Int64
		wErr    error
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		for k := 1; ctx.Err() == nil; k++ {
			r := writeRec{id: seed + k, upd: (k*7919)%seed + 1, newV: fmt.Sprintf("n%d", k), uV: fmt.Sprintf("u%d", k)}
			err := func() error {
				tx, err := conn.BeginTx(context.Background(), nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				for _, tbl := range []string{"w.a", "w.b"} {
					if _, err := tx.Exec("INSERT INTO "+tbl+" VALUES (?, ?)", r.id, r.newV); err != nil {
						return err
					}
					if _, err := tx.Exec("UPDATE "+tbl+" SET v = ? WHERE id = ?", r.uV, r.upd); err != nil {
						return err
					}
				}
				if err := tx.Commit(); err != nil {
					return err
				}
				var gtid string
				if err := conn.QueryRowContext(context.Background(), "SELECT @@last_gtid").Scan(&gtid); err != nil {
					return err
				}
				r.seq = gtidSeq(t, gtid)
				return nil
			}()
			if err != nil {
				mu.Lock()
				wErr = err
				mu.Unlock()
				return
			}
			mu.Lock()
			recs = append(recs, r)
			mu.Unlock()
			written.Add(1)
		}
	})
	waitFor(t, 20*time.Second, "writes before the dump", func() bool { return written.Load() >= 20 })
	meta, dir := runDump(t, p, dump.Config{Rules: mustRules(t, "w|*"), Threads: 4, ChunkRows: 1000, Consistency: mode})
	after := written.Load()
	waitFor(t, 20*time.Second, "writes after the dump", func() bool { return written.Load() >= after+20 })
	cancel()
	wg.Wait()
	require.NoError(t, wErr)
	require.Equal(t, mode, meta.Consistency)
	t.Logf("%s: %d snapshot connections, position %s %s, %d transactions written", mode, meta.Threads, meta.Location, meta.Location.GTIDSet, len(recs))
	if mode != dump.ConsistencySnapshot {
		require.Equal(t, 4, meta.Threads)
	}

	at := gtidSeq(t, meta.Location.GTIDSet)
	want := map[int]string{}
	for i := 1; i <= seed; i++ {
		want[i] = "s" + strconv.Itoa(i)
	}
	var before, later int
	for _, r := range recs {
		if r.seq > at {
			later++
			continue
		}
		before++
		want[r.id] = r.newV
		want[r.upd] = r.uV
	}
	require.Positive(t, before, "some transactions committed before the snapshot")
	require.Positive(t, later, "some transactions committed after the snapshot")

	runLoad(t, p, load.Config{Dir: dir, Threads: 4})
	for _, tbl := range []string{"w.a", "w.b"} {
		got := map[int]string{}
		rows, err := p.tgtDB.Query("SELECT id, v FROM " + tbl)
		require.NoError(t, err)
		for rows.Next() {
			var id int
			var v string
			require.NoError(t, rows.Scan(&id, &v))
			got[id] = v
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.Equal(t, len(want), len(got), "%s: rows", tbl)
		for id, v := range want {
			require.Equal(t, v, got[id], "%s id %d", tbl, id)
		}
	}
}

// gtidSeq takes the sequence number of a single-domain MariaDB GTID
// (position) "0-server-seq".
func gtidSeq(t *testing.T, gtid string) uint64 {
	parts := strings.Split(gtid, "-")
	if len(parts) != 3 {
		t.Errorf("unexpected GTID %q", gtid)
		return 0
	}
	n, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		t.Errorf("unexpected GTID %q", gtid)
	}
	return n
}
