package relay_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/relaytest"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/integration"
)

// Test 3: pausing (cancelling Run) and resuming (Run again) loses and repeats nothing.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100), n INT)")
	dir := filepath.Join(t.TempDir(), "source-pause")
	rr := relaytest.Start(t, m, dir, serverIDs.Next())

	done := make(chan error, 1)
	go func() { done <- insertWorkload(db, "app.t", 30000, 1) }()
	count := func() int64 { return integration.TableCount(t, db, "app.t") }
	var last relay.Meta
	for round := range 3 {
		last = waitProgress(t, dir, last, 15*time.Second)
		rr.Pause(t)
		paused := readMeta(t, dir)
		// While paused the upstream moves on and the relay does not.
		from := count()
		deadline := time.Now().Add(10 * time.Second)
		for count() < from+500 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if now := readMeta(t, dir); now != paused {
			t.Fatalf("round %d: the paused relay moved from %s to %s", round, paused.Location(), now.Location())
		}
		if st := rr.Status(context.Background()); st.Running || st.RelayBinlog != paused.Location().String() {
			t.Errorf("status of the paused relay: %+v", st)
		}
		rr.Resume()
		last = paused
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	end := waitAllCatchUp(t, db, 20*time.Second, dir).Location()
	st := rr.Status(context.Background())
	if !st.CatchUp || !st.Running || st.MasterBinlog != end.String() || st.RelayBinlogGTID != st.MasterBinlogGTID || st.RelayDir != dir {
		t.Errorf("status %+v, want caught up at %s", st, end)
	}
	c := readRelay(t, dir, end)
	checkGTIDs(t, c.gtids)
	checkCounts(t, db, c, "app.t")
	checkFilesCopy(t, dir, m.DataDir)
}

// Test 4: two relays of one source, in two directories with their own server_ids, both
// complete and hold the same.
func TestTwoRelays(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100), n INT)")
	base := t.TempDir()
	dirs := []string{filepath.Join(base, "a", "source"), filepath.Join(base, "b", "source")}
	reg := prometheus.NewRegistry()
	for i, dir := range dirs {
		r, err := relay.New(relay.Config{
			Dir: dir, Upstream: relaytest.UpstreamConfig(m), ServerID: serverIDs.Next(), Logger: relaytest.Logger(t),
			Registerer: reg, // the same source twice: the metrics are shared, not a conflict
		})
		if err != nil {
			t.Fatal(i, err)
		}
		relaytest.Run(t, r)
	}
	for range 3 {
		if err := insertWorkload(db, "app.t", 3000, 2); err != nil {
			t.Fatal(err)
		}
		m.Exec(t, "FLUSH BINARY LOGS")
	}
	if err := insertWorkload(db, "app.t", 1000, 3); err != nil {
		t.Fatal(err)
	}
	meta := waitAllCatchUp(t, db, 20*time.Second, dirs...)
	end := meta.Location()
	n0, _ := relay.ReadIndex(dirs[0])
	n1, _ := relay.ReadIndex(dirs[1])
	if !slices.Equal(n0, n1) || len(n0) != 4 {
		t.Fatalf("indexes %v and %v, want the same 4 files", n0, n1)
	}
	for _, n := range n0 {
		a, _ := os.ReadFile(filepath.Join(dirs[0], n))
		b, _ := os.ReadFile(filepath.Join(dirs[1], n))
		if !bytes.Equal(a, b) || len(a) == 0 {
			t.Errorf("%s differs between the relays (%d vs %d bytes)", n, len(a), len(b))
		}
	}
	for _, dir := range dirs {
		c := readRelay(t, dir, end)
		checkGTIDs(t, c.gtids)
		checkCounts(t, db, c, "app.t")
		checkFilesCopy(t, dir, m.DataDir)
	}
	if got := gaugeValue(t, reg, "dm_relay_binlog_pos", "relay"); got != float64(end.Pos) {
		t.Errorf("dm_relay_binlog_pos{node=relay} = %v, want %d", got, end.Pos)
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name, node string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "node" && l.GetValue() == node {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{node=%q} not found", name, node)
	return 0
}

// Test 5: Purge removes old files before the oldest location a reader needs, never that
// file nor the active one.
func TestPurge(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100), n INT)")
	dir := filepath.Join(t.TempDir(), "source-purge")
	relaytest.Start(t, m, dir, serverIDs.Next())
	for range 4 {
		if err := insertWorkload(db, "app.t", 200, 4); err != nil {
			t.Fatal(err)
		}
		m.Exec(t, "FLUSH BINARY LOGS")
	}
	relaytest.WaitCatchUp(t, dir, db, 20*time.Second)
	names, _ := relay.ReadIndex(dir)
	if len(names) != 5 {
		t.Fatalf("relay files %v, want 5", names)
	}
	now := time.Now()
	for i, n := range names {
		mt := now
		if i < 3 {
			mt = now.Add(-48 * time.Hour)
		}
		if err := os.Chtimes(filepath.Join(dir, n), mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(n string) bool {
		_, err := os.Stat(filepath.Join(dir, n))
		return err == nil
	}

	// Nothing is old enough for 72 hours, and neither condition means no purge at all.
	if got, err := relay.Purge(dir, binlog.Location{}, 72, 0, now); err != nil || len(got) != 0 {
		t.Fatalf("purge 72h: %v %v", got, err)
	}
	if got, err := relay.Purge(dir, binlog.Location{}, 0, 0, now); err != nil || len(got) != 0 {
		t.Fatalf("purge without conditions: %v %v", got, err)
	}
	// A reader needs names[1]: only names[0] may go, though names[0..2] are old.
	got, err := relay.Purge(dir, binlog.Location{File: names[1], Pos: 4}, 24, 0, now)
	if err != nil || !slices.Equal(got, names[:1]) {
		t.Fatalf("purge keeping %s: %v %v, want %v", names[1], got, err, names[:1])
	}
	// The reader moved on to names[4]: names[1] and names[2] are old, names[3] is not.
	got, err = relay.Purge(dir, binlog.Location{File: names[4], Pos: 4}, 24, 0, now)
	if err != nil || !slices.Equal(got, names[1:3]) {
		t.Fatalf("purge keeping %s: %v %v, want %v", names[4], got, err, names[1:3])
	}
	if idx, _ := relay.ReadIndex(dir); !slices.Equal(idx, names[3:]) || exists(names[2]) || !exists(names[3]) {
		t.Fatalf("after purge: index %v, want %v", idx, names[3:])
	}
	// A reader of a purged file is told so.
	rd, err := reader.NewRelay(context.Background(), reader.RelayConfig{Dir: dir, Start: binlog.Location{File: names[0], Pos: 4}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := rd.Next(ctx); err == nil || !strings.Contains(err.Error(), "purged") {
		t.Errorf("reading a purged file: %v", err)
	}
	rd.Close()
	// Short of space (more free space wanted than any disk has): everything but the
	// active file goes, whatever its age, when no reader needs it.
	got, err = relay.Purge(dir, binlog.Location{}, 0, 1<<40, now)
	if err != nil || !slices.Equal(got, names[3:4]) || !exists(names[4]) {
		t.Fatalf("purge for space: %v %v, want %v", got, err, names[3:4])
	}
	// The relay goes on after purges.
	m.Exec(t, "INSERT INTO app.t (v, n) VALUES ('after purge', 1)")
	end := relaytest.MasterPos(t, db)
	relaytest.WaitCatchUp(t, dir, db, 20*time.Second)
	rd2, err := reader.NewRelay(context.Background(), reader.RelayConfig{Dir: dir, Start: binlog.Location{}})
	if err != nil {
		t.Fatal(err)
	}
	defer rd2.Close()
	found := false
	for !found {
		ev, err := rd2.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found = ev.Header.LogPos == end.Pos
	}
}

// A relay refuses a directory whose relay log comes from another server.
func TestRefusesAnotherServer(t *testing.T) {
	t.Parallel()
	ms := integration.StartMariaDBs(t, 2, integration.MariaDBOptions{Binlog: true})
	dir := filepath.Join(t.TempDir(), "source-x")
	rr := relaytest.Start(t, ms[0], dir, serverIDs.Next())
	relaytest.WaitCatchUp(t, dir, ms[0].DB(t), 20*time.Second)
	rr.Pause(t)

	r := relaytest.NewRelay(t, ms[1], dir, serverIDs.Next(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := r.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "another server") {
		t.Fatalf("relay on another server: %v", err)
	}
	if st := r.Status(context.Background()); !strings.Contains(st.LastError, "another server") {
		t.Errorf("status LastError %q", st.LastError)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("Run retried a permanent error until the deadline")
	}
}

// A relay refuses to go on when the upstream's binlog was reset under it.
func TestRefusesResetMaster(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	dir := filepath.Join(t.TempDir(), "source-reset")
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100), n INT)")
	rr := relaytest.Start(t, m, dir, serverIDs.Next())
	meta := relaytest.WaitCatchUp(t, dir, db, 20*time.Second)
	rr.Pause(t)
	// The new first file must not be created in the same second as the old one, or its
	// format description would be identical.
	head, err := os.ReadFile(filepath.Join(dir, meta.File))
	if err != nil {
		t.Fatal(err)
	}
	created := int64(binary.LittleEndian.Uint32(head[4:]))
	for deadline := time.Now().Add(5 * time.Second); time.Now().Unix() <= created && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	m.Exec(t, "RESET MASTER")
	if err := insertWorkload(db, "app.t", 300, 5); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Either the relay sees that the file differs, or the server cannot serve the old
	// position in the new file; both stop the relay for good.
	err = rr.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "RESET MASTER") && !strings.Contains(err.Error(), "ERROR 1236") || ctx.Err() != nil {
		t.Fatalf("relay after RESET MASTER: %v", err)
	}
}

// A new relay begins at the head of the file that holds its start: Start.File, or the file
// the upstream serves a GTID set from. Readers by GTID (remote and relay) begin right after
// the set.
func TestStartPositions(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100), n INT)")
	m.Exec(t, "FLUSH BINARY LOGS")
	if err := insertWorkload(db, "app.t", 100, 6); err != nil {
		t.Fatal(err)
	}
	mid := relaytest.MasterPos(t, db) // in mysql-bin.000002
	m.Exec(t, "FLUSH BINARY LOGS")
	m.Exec(t, "INSERT INTO app.t (v, n) VALUES ('after', 1)")
	var seq uint64
	if _, err := fmt.Sscanf(mid.GTIDSet[strings.LastIndexByte(mid.GTIDSet, '-')+1:], "%d", &seq); err != nil {
		t.Fatal(mid.GTIDSet, err)
	}
	next := fmt.Sprintf("%s%d", mid.GTIDSet[:strings.LastIndexByte(mid.GTIDSet, '-')+1], seq+1)

	base := t.TempDir()
	byFile := filepath.Join(base, "by-file")
	byGTID := filepath.Join(base, "by-gtid")
	for _, c := range []relay.Config{
		{Dir: byFile, Start: binlog.Location{File: "mysql-bin.000002", Pos: 1234}},
		{Dir: byGTID, Start: binlog.Location{GTIDSet: mid.GTIDSet}, EnableGTID: true},
	} {
		c.Upstream, c.ServerID, c.Logger = relaytest.UpstreamConfig(m), serverIDs.Next(), relaytest.Logger(t)
		r, err := relay.New(c)
		if err != nil {
			t.Fatal(err)
		}
		relaytest.Run(t, r)
		relaytest.WaitCatchUp(t, c.Dir, db, 20*time.Second)
	}
	if names, _ := relay.ReadIndex(byFile); len(names) == 0 || names[0] != "mysql-bin.000002" {
		t.Errorf("relay started at mysql-bin.000002 holds %v", names)
	}
	if names, _ := relay.ReadIndex(byGTID); len(names) == 0 || names[0] == "mysql-bin.000001" {
		t.Errorf("relay started after GTID %s holds %v", mid.GTIDSet, names)
	}

	firstGTID := func(rd binlog.Reader) string {
		t.Helper()
		defer rd.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for {
			ev, err := rd.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if g, ok := ev.Event.(*replication.MariadbGTIDEvent); ok {
				return g.GTID.String()
			}
		}
	}
	for _, dir := range []string{byFile, byGTID} {
		rd, err := reader.NewRelay(context.Background(), reader.RelayConfig{Dir: dir, Start: binlog.Location{GTIDSet: mid.GTIDSet}})
		if err != nil {
			t.Fatal(err)
		}
		if g := firstGTID(rd); g != next {
			t.Errorf("relay reader of %s after %s starts with %s, want %s", dir, mid.GTIDSet, g, next)
		}
	}
	rm, err := reader.NewRemote(context.Background(), reader.RemoteConfig{
		Upstream: relaytest.UpstreamConfig(m), Flavor: binlog.FlavorMariaDB, ServerID: serverIDs.Next(),
		Start: binlog.Location{GTIDSet: mid.GTIDSet}, UseGTID: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if g := firstGTID(rm); g != next {
		t.Errorf("remote reader after %s starts with %s, want %s", mid.GTIDSet, g, next)
	}
	// A relay reader at a file/pos returns what follows it.
	rd, err := reader.NewRelay(context.Background(), reader.RelayConfig{Dir: byFile, Start: mid})
	if err != nil {
		t.Fatal(err)
	}
	if g := firstGTID(rd); g != next {
		t.Errorf("relay reader at %s starts with %s, want %s", mid, g, next)
	}
}
