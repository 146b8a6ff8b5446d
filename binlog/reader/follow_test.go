package reader_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog/internal/relaytest"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/integration"
)

// Test 6: a relay reader started at the end of the relay log returns what the relay pulls
// later, across a rotation and a pause of the relay (woken by the relay's Hub).
func TestRelayReaderFollows(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))")
	dir := filepath.Join(t.TempDir(), "source-follow")
	rr := relaytest.Start(t, m, dir, serverIDs.Next())
	meta := relaytest.WaitCatchUp(t, dir, db, 20*time.Second)

	rd, err := reader.NewRelay(context.Background(), reader.RelayConfig{Dir: dir, Start: meta.Location(), Hub: rr.Hub})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	events := make(chan *replication.BinlogEvent, 1024)
	readErr := make(chan error, 1)
	go func() {
		for {
			ev, err := rd.Next(ctx)
			if err != nil {
				readErr <- err
				return
			}
			events <- ev
		}
	}()
	next := func() *replication.BinlogEvent {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case err := <-readErr:
			t.Fatalf("relay reader: %v", err)
		}
		return nil
	}
	// The head: a fake ROTATE naming the file and position, then the format description.
	ev := next()
	rot, ok := ev.Event.(*replication.RotateEvent)
	if !ok || string(rot.NextLogName) != meta.File || rot.Position != uint64(meta.Pos) || ev.Header.Flags&replication.LOG_EVENT_ARTIFICIAL_F == 0 {
		t.Fatalf("first event %v %+v, want a fake ROTATE to %s", ev.Header.EventType, ev.Event, meta.Location())
	}
	if ev = next(); ev.Header.EventType != replication.FORMAT_DESCRIPTION_EVENT || ev.Header.LogPos != 0 {
		t.Fatalf("second event %v (log_pos %d), want FORMAT_DESCRIPTION with log_pos 0", ev.Header.EventType, ev.Header.LogPos)
	}
	// waitRows reads until a WRITE_ROWS event with the value v, checking that nothing
	// else with data came before.
	waitRows := func(v string) {
		t.Helper()
		for {
			ev := next()
			if re, ok := ev.Event.(*replication.RowsEvent); ok {
				if got, _ := re.Rows[0][1].(string); got != v {
					t.Fatalf("got row %v, want %q", re.Rows, v)
				}
				return
			}
		}
	}

	m.Exec(t, "INSERT INTO app.t VALUES (1, 'one')")
	waitRows("one")

	m.Exec(t, "FLUSH BINARY LOGS")
	m.Exec(t, "INSERT INTO app.t VALUES (2, 'two')")
	waitRows("two")

	rr.Pause(t)
	m.Exec(t, "INSERT INTO app.t VALUES (3, 'three')")
	rr.Resume()
	waitRows("three")

	// Nothing more: Next waits until its ctx ends.
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	rd2, err := reader.NewRelay(context.Background(), reader.RelayConfig{Dir: dir, Start: relaytest.WaitCatchUp(t, dir, db, 20*time.Second).Location(), Hub: rr.Hub})
	if err != nil {
		t.Fatal(err)
	}
	defer rd2.Close()
	for range 2 { // ROTATE, FORMAT_DESCRIPTION
		if _, err := rd2.Next(short); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if ev, err := rd2.Next(short); err == nil {
		t.Fatalf("got %v at the end of the relay log", ev.Header.EventType)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Errorf("Next at the end returned after %v, before its ctx ended", time.Since(start))
	}
}
