package relay_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	_ "github.com/go-sql-driver/mysql"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/relaytest"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/integration"
)

var serverIDs = relaytest.NewServerIDs(60000)

func readMeta(t *testing.T, dir string) relay.Meta {
	t.Helper()
	m, _, err := relay.ReadMeta(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitAllCatchUp waits until all the relays hold the upstream's binlog up to its current
// position, and that position stays put meanwhile (MariaDB writes binlog checkpoint
// events on its own after a rotation).
func waitAllCatchUp(t *testing.T, db *sql.DB, timeout time.Duration, dirs ...string) relay.Meta {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		before := relaytest.MasterPos(t, db)
		var metas []relay.Meta
		for _, dir := range dirs {
			metas = append(metas, relaytest.WaitCatchUp(t, dir, db, time.Until(deadline)))
		}
		after := relaytest.MasterPos(t, db)
		same := after.File == before.File && after.Pos == before.Pos
		for _, m := range metas {
			same = same && m == metas[0] && m.File == after.File && m.Pos == after.Pos
		}
		if same {
			return metas[0]
		}
	}
}

// waitProgress polls until the relay's meta moves past from.
func waitProgress(t *testing.T, dir string, from relay.Meta, timeout time.Duration) relay.Meta {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		meta := readMeta(t, dir)
		if meta.File != from.File || meta.Pos != from.Pos {
			return meta
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay %s made no progress from %s within %v", dir, from.Location(), timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// relayContent is what the relay log holds, read back with the relay reader.
type relayContent struct {
	rows   map[string]int // rows inserted per schema.table
	gtids  []string
	starts []binlog.Location // where each GTID event begins
}

// readRelay reads the whole relay log in dir up to end.
func readRelay(t *testing.T, dir string, end binlog.Location) relayContent {
	t.Helper()
	var e atomic.Pointer[binlog.Location]
	e.Store(&end)
	c, err := followRelay(dir, binlog.Location{}, &e, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// followRelay reads the relay log in dir from start until it reaches *end, which may be
// set later.
func followRelay(dir string, start binlog.Location, end *atomic.Pointer[binlog.Location], timeout time.Duration) (relayContent, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rd, err := reader.NewRelay(ctx, reader.RelayConfig{Dir: dir, Start: start})
	if err != nil {
		return relayContent{}, err
	}
	defer rd.Close()
	c := relayContent{rows: map[string]int{}}
	file, pos := "", uint32(0)
	reached := func() bool {
		e := end.Load()
		return e != nil && (relay.CompareFileNames(file, e.File) > 0 || file == e.File && pos >= e.Pos)
	}
	for !reached() {
		// Short waits, so that an end set meanwhile is noticed; a Next that ran out of
		// time can be called again.
		nctx, ncancel := context.WithTimeout(ctx, 100*time.Millisecond)
		ev, err := rd.Next(nctx)
		ncancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			continue
		}
		if err != nil {
			return c, fmt.Errorf("read relay at (%s, %d), end %v: %w", file, pos, end.Load(), err)
		}
		if rot, ok := ev.Event.(*replication.RotateEvent); ok {
			file, pos = string(rot.NextLogName), uint32(rot.Position)
			continue
		}
		if ev.Header.LogPos > 0 {
			pos = ev.Header.LogPos
		}
		switch e := ev.Event.(type) {
		case *replication.MariadbGTIDEvent:
			c.gtids = append(c.gtids, e.GTID.String())
			c.starts = append(c.starts, binlog.Location{File: file, Pos: ev.Header.LogPos - ev.Header.EventSize})
		case *replication.RowsEvent:
			if ev.Header.EventType == replication.WRITE_ROWS_EVENTv1 || ev.Header.EventType == replication.WRITE_ROWS_EVENTv2 {
				c.rows[string(e.Table.Schema)+"."+string(e.Table.Table)] += len(e.Rows)
			}
		}
	}
	return c, nil
}

// checkGTIDs checks that the relay holds GTIDs 1..n of domain 0 exactly once, in order.
func checkGTIDs(t *testing.T, gtids []string) {
	t.Helper()
	for i, g := range gtids {
		var d, s, n uint64
		if _, err := fmt.Sscanf(g, "%d-%d-%d", &d, &s, &n); err != nil {
			t.Fatalf("GTID %q: %v", g, err)
		}
		if d != 0 || n != uint64(i+1) {
			t.Fatalf("GTID #%d is %s, want sequence %d: a gap or a duplicate", i+1, g, i+1)
		}
	}
}

// checkCounts compares the rows counted in the relay with the upstream's tables.
func checkCounts(t *testing.T, db *sql.DB, c relayContent, tables ...string) {
	t.Helper()
	for _, tbl := range tables {
		if n := integration.TableCount(t, db, tbl); int64(c.rows[tbl]) != n {
			t.Errorf("%s: relay holds %d inserted rows, upstream has %d", tbl, c.rows[tbl], n)
		}
	}
}

// checkFilesCopy checks that the relay files are byte copies of the upstream's binlog
// files: whole files, except the last, which is compared after its FORMAT_DESCRIPTION
// (the upstream flags its active file in use there) up to the relay's meta position.
func checkFilesCopy(t *testing.T, relayDir, dataDir string) {
	t.Helper()
	names, err := relay.ReadIndex(relayDir)
	if err != nil {
		t.Fatal(err)
	}
	meta := readMeta(t, relayDir)
	for i, n := range names {
		a, err := os.ReadFile(filepath.Join(relayDir, n))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dataDir, n))
		if err != nil {
			t.Fatal(err)
		}
		if i == len(names)-1 {
			if n != meta.File || uint32(len(a)) < meta.Pos || uint32(len(b)) < meta.Pos {
				t.Fatalf("last relay file %s has %d bytes, upstream's %d, meta %s", n, len(a), len(b), meta.Location())
			}
			from := 4 + int(binary.LittleEndian.Uint32(a[4+9:]))
			a, b = a[from:meta.Pos], b[from:meta.Pos]
		}
		if !bytes.Equal(a, b) {
			k := 0
			for k < len(a) && k < len(b) && a[k] == b[k] {
				k++
			}
			t.Errorf("relay file %s differs from the upstream's (%d vs %d bytes, first difference at %d)", n, len(a), len(b), k)
		}
	}
}
