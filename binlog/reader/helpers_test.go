package reader_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	_ "github.com/go-sql-driver/mysql"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/relaytest"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/binlog/relay"
)

var serverIDs = relaytest.NewServerIDs(50000)

// waitSettled waits until the relay holds the upstream's binlog up to its current position
// and that position stays put meanwhile (MariaDB writes binlog checkpoint events on its
// own after a rotation).
func waitSettled(t *testing.T, dir string, db *sql.DB, timeout time.Duration) relay.Meta {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		before := relaytest.MasterPos(t, db)
		meta := relaytest.WaitCatchUp(t, dir, db, time.Until(deadline))
		if after := relaytest.MasterPos(t, db); after.File == before.File && after.Pos == before.Pos && meta.Pos == after.Pos && meta.File == after.File {
			return meta
		}
	}
}

// posTracker follows a reader's position from the events it returns.
type posTracker struct {
	file string
	pos  uint32
}

func (p *posTracker) observe(ev *replication.BinlogEvent) {
	if rot, ok := ev.Event.(*replication.RotateEvent); ok {
		p.file, p.pos = string(rot.NextLogName), uint32(rot.Position)
		return
	}
	if ev.Header.LogPos > 0 && ev.Header.Flags&replication.LOG_EVENT_ARTIFICIAL_F == 0 {
		p.pos = ev.Header.LogPos
	}
}

func (p *posTracker) reached(loc binlog.Location) bool {
	return relay.CompareFileNames(p.file, loc.File) > 0 || p.file == loc.File && p.pos >= loc.Pos
}

// readUntil reads events from r until its position reaches end, applying f to each.
func readUntil(t *testing.T, r binlog.Reader, end binlog.Location, timeout time.Duration, f func(*replication.BinlogEvent)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var pt posTracker
	for !pt.reached(end) {
		ev, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("read until %s: at (%s, %d): %v", end, pt.file, pt.pos, err)
		}
		pt.observe(ev)
		f(ev)
	}
}

// signature describes the data an event carries, or "" for events that are not data
// (rotations, format descriptions, GTID lists, checkpoints, annotations, stops).
func signature(ev *replication.BinlogEvent) string {
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent:
		return fmt.Sprintf("GTID %s flags=%d", e.GTID.String(), e.Flags)
	case *replication.QueryEvent:
		if relay.IsDummy(ev) {
			return ""
		}
		return fmt.Sprintf("QUERY [%s] %s", e.Schema, e.Query)
	case *replication.TableMapEvent:
		return fmt.Sprintf("TABLE %s.%s", e.Schema, e.Table)
	case *replication.RowsEvent:
		return fmt.Sprintf("%v %s.%s %v", ev.Header.EventType, e.Table.Schema, e.Table.Table, e.Rows)
	case *replication.XIDEvent:
		return "XID"
	}
	return ""
}

// sameFiles checks that relay files equal the upstream's binlog files (whole files, or
// up to limit for the named one).
func sameFiles(t *testing.T, relayDir, dataDir string, names []string) {
	t.Helper()
	for _, n := range names {
		a, err := os.ReadFile(filepath.Join(relayDir, n))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dataDir, n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			i := 0
			for i < len(a) && i < len(b) && a[i] == b[i] {
				i++
			}
			t.Errorf("relay file %s differs from the upstream's (%d vs %d bytes, first difference at %d)", n, len(a), len(b), i)
		}
	}
}

// newRelayReader opens a relay reader and closes it at cleanup.
func newRelayReader(t *testing.T, dir string, start binlog.Location) binlog.Reader {
	t.Helper()
	r, err := reader.NewRelay(context.Background(), reader.RelayConfig{Dir: dir, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
