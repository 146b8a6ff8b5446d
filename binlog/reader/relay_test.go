package reader_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/relaytest"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/integration"
)

// workload runs one batch of assorted changes.
func workload(t *testing.T, m *integration.MariaDB, batch int) {
	t.Helper()
	base := batch * 1000
	var values []string
	for i := range 50 {
		values = append(values, fmt.Sprintf("(%d, 'v%d', %d.%02d, '2024-01-02 03:04:05.123456', NULL)", base+i, base+i, i, i))
	}
	m.Exec(t, "INSERT INTO app.t (id, s, d, ts, j) VALUES "+strings.Join(values, ","))
	m.Exec(t, fmt.Sprintf("UPDATE app.t SET s = CONCAT(s, '-u'), j = '{\"k\": %d}' WHERE id BETWEEN %d AND %d", batch, base, base+9))
	m.Exec(t, fmt.Sprintf("DELETE FROM app.t WHERE id BETWEEN %d AND %d", base+10, base+14))
	m.Exec(t, fmt.Sprintf("BEGIN; INSERT INTO app.t (id, s) VALUES (%d, 'tx'); UPDATE app.t SET d = 1.5 WHERE id = %d; COMMIT", base+900, base+900))
	m.Exec(t, fmt.Sprintf("ALTER TABLE app.t ADD COLUMN c%d INT DEFAULT %d", batch, batch))
	m.Exec(t, fmt.Sprintf("CREATE TABLE app.x%d (a INT PRIMARY KEY) ENGINE=Aria", batch))
	m.Exec(t, fmt.Sprintf("INSERT INTO app.x%d VALUES (1),(2)", batch))
}

// Test 1: what the relay stores reads back exactly as what the upstream sends, across
// rotations and an upstream restart; the relay files are byte copies of the upstream's.
func TestRelayMatchesRemote(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, s VARCHAR(64), d DECIMAL(10,2), ts DATETIME(6), j JSON)")
	first := relaytest.MasterPos(t, db).File
	if first != "mysql-bin.000001" {
		t.Fatalf("unexpected first binlog file %s", first)
	}

	dir := filepath.Join(t.TempDir(), "source-1")
	rr := relaytest.Start(t, m, dir, serverIDs.Next())

	// The remote reader runs live through the whole workload, restart included.
	remote, err := reader.NewRemote(context.Background(), reader.RemoteConfig{
		Upstream: relaytest.UpstreamConfig(m), Flavor: binlog.FlavorMariaDB, ServerID: serverIDs.Next(),
		Start: binlog.Location{File: first, Pos: 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	var (
		mu         sync.Mutex
		remoteSigs []string
		remotePos  posTracker
	)
	rctx, rcancel := context.WithCancel(context.Background())
	remoteDone := make(chan error, 1)
	go func() {
		for {
			ev, err := remote.Next(rctx)
			if err != nil {
				remoteDone <- err
				return
			}
			mu.Lock()
			remotePos.observe(ev)
			if s := signature(ev); s != "" {
				remoteSigs = append(remoteSigs, s)
			}
			mu.Unlock()
		}
	}()

	for batch := 1; batch <= 4; batch++ {
		workload(t, m, batch)
		m.Exec(t, "FLUSH BINARY LOGS")
		if batch == 2 {
			m.Restart(t)
			db = m.DB(t)
		}
	}
	workload(t, m, 5)
	meta := waitSettled(t, dir, db, 20*time.Second)
	end := relaytest.MasterPos(t, db)
	if meta.GTIDSet != end.GTIDSet || meta.Pos != end.Pos {
		t.Errorf("relay at %s GTID set %q, upstream at %s %q", meta.Location(), meta.GTIDSet, end, end.GTIDSet)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		done := remotePos.reached(end)
		mu.Unlock()
		if done {
			break
		}
		select {
		case err := <-remoteDone:
			t.Fatalf("remote reader: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote reader did not reach %s", end)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rcancel()

	st := rr.Status(context.Background())
	if !st.CatchUp || st.RelayBinlog != end.String() || st.MasterBinlog != end.String() {
		t.Errorf("status %+v, want caught up at %s", st, end)
	}

	var relaySigs []string
	rd := newRelayReader(t, dir, binlog.Location{File: first, Pos: 4})
	var types []replication.EventType
	readUntil(t, rd, end, 20*time.Second, func(ev *replication.BinlogEvent) {
		if len(types) < 2 {
			types = append(types, ev.Header.EventType)
		}
		if s := signature(ev); s != "" {
			relaySigs = append(relaySigs, s)
		}
	})
	if !slices.Equal(types, []replication.EventType{replication.ROTATE_EVENT, replication.FORMAT_DESCRIPTION_EVENT}) {
		t.Errorf("relay reader starts with %v, want ROTATE, FORMAT_DESCRIPTION", types)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(relaySigs) < 100 {
		t.Fatalf("only %d data events read back", len(relaySigs))
	}
	if !slices.Equal(relaySigs, remoteSigs) {
		n := 0
		for n < len(relaySigs) && n < len(remoteSigs) && relaySigs[n] == remoteSigs[n] {
			n++
		}
		t.Fatalf("relay events differ from the upstream's at #%d (relay %d events, remote %d):\nrelay:  %v\nremote: %v",
			n, len(relaySigs), len(remoteSigs), at(relaySigs, n), at(remoteSigs, n))
	}
	t.Logf("%d data events equal", len(relaySigs))

	// The relay files are copies of the upstream's binlog files.
	names, err := relay.ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 6 { // the first file, 4 flushes, 1 restart
		t.Errorf("relay files %v, want 6", names)
	}
	sameFiles(t, dir, m.DataDir, names[:len(names)-1])

	// A GTID start skips exactly the transactions in the set.
	var gtids []string
	for _, s := range relaySigs {
		if strings.HasPrefix(s, "GTID ") {
			gtids = append(gtids, strings.Fields(s)[1])
		}
	}
	mid := gtids[len(gtids)/2]
	rg := newRelayReader(t, dir, binlog.Location{GTIDSet: mid})
	var afterGTID []string
	readUntil(t, rg, end, 20*time.Second, func(ev *replication.BinlogEvent) {
		if s := signature(ev); s != "" {
			afterGTID = append(afterGTID, s)
		}
	})
	i := -1
	for j, s := range relaySigs {
		if strings.HasPrefix(s, "GTID "+mid+" ") {
			i = j
		}
	}
	// the group of mid ends before the next GTID event
	k := i + 1
	for k < len(relaySigs) && !strings.HasPrefix(relaySigs[k], "GTID ") {
		k++
	}
	if !slices.Equal(afterGTID, relaySigs[k:]) {
		t.Errorf("GTID start after %s: got %d events starting %v, want %d starting %v", mid, len(afterGTID), at(afterGTID, 0), len(relaySigs[k:]), at(relaySigs, k))
	}
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<end>"
}
