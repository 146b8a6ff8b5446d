// Package relaytest holds the test helpers that the relay and reader tests share: running a
// relay against a harness MariaDB, pausing and resuming it, and waiting until it caught up.
package relaytest

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/integration"
)

// ServerIDs hands out replica server_ids, unique within a test binary, from base up.
type ServerIDs struct {
	base uint32
	n    atomic.Uint32
}

func NewServerIDs(base uint32) *ServerIDs { return &ServerIDs{base: base} }

func (s *ServerIDs) Next() uint32 { return s.base + s.n.Add(1) }

// UpstreamConfig connects to the harness server as its administrative user.
func UpstreamConfig(m *integration.MariaDB) upstream.Config {
	return upstream.Config{Host: m.Host(), Port: m.Port(), User: m.User(), Password: m.Password()}
}

// Logger writes to the test's log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// NewRelay is a GTID relay of m into dir that wakes the readers of hub (nil: none).
func NewRelay(t *testing.T, m *integration.MariaDB, dir string, serverID uint32, hub *relay.Hub) *relay.Relay {
	t.Helper()
	r, err := relay.New(relay.Config{
		Dir: dir, Upstream: UpstreamConfig(m), Flavor: binlog.FlavorMariaDB, ServerID: serverID,
		EnableGTID: true, Hub: hub, Logger: Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Running is a Relay whose Run goes on in a goroutine.
type Running struct {
	*relay.Relay
	// Hub is the relay's Hub when Start created it (nil after Run).
	Hub    *relay.Hub
	cancel context.CancelFunc
	done   chan error
}

// Start runs NewRelay, with a Hub of its own, until Pause or the end of the test.
func Start(t *testing.T, m *integration.MariaDB, dir string, serverID uint32) *Running {
	t.Helper()
	hub := relay.NewHub()
	rr := Run(t, NewRelay(t, m, dir, serverID, hub))
	rr.Hub = hub
	return rr
}

// Run runs r until Pause or the end of the test.
func Run(t *testing.T, r *relay.Relay) *Running {
	rr := &Running{Relay: r}
	rr.Resume()
	t.Cleanup(func() { rr.Pause(t) })
	return rr
}

// Resume runs the relay again after Pause.
func (rr *Running) Resume() {
	ctx, cancel := context.WithCancel(context.Background())
	rr.cancel = cancel
	rr.done = make(chan error, 1)
	done := rr.done
	go func() { done <- rr.Relay.Run(ctx) }()
}

// Pause cancels Run's context and waits for Run to return.
func (rr *Running) Pause(t *testing.T) {
	t.Helper()
	if rr.cancel == nil {
		return
	}
	rr.cancel()
	select {
	case err := <-rr.done:
		if err != nil {
			t.Errorf("relay Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("relay Run did not return within 20s of cancel")
	}
	rr.cancel = nil
}

// MasterPos is the upstream's current binlog position.
func MasterPos(t *testing.T, db *sql.DB) binlog.Location {
	t.Helper()
	info, err := upstream.Inspect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return binlog.Location{File: info.BinlogFile, Pos: info.BinlogPos, GTIDSet: info.GTIDExecuted}
}

// WaitCatchUp polls until the relay's durable meta reaches the upstream's position.
func WaitCatchUp(t *testing.T, dir string, db *sql.DB, timeout time.Duration) relay.Meta {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		want := MasterPos(t, db)
		meta, ok, err := relay.ReadMeta(dir)
		if err != nil {
			t.Fatal(err)
		}
		if ok && meta.File == want.File && meta.Pos == want.Pos {
			return meta
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay %s did not catch up within %v: relay at %s, upstream at %s", dir, timeout, meta.Location(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
