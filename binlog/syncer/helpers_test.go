package syncer

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/integration"
)

var serverIDs atomic.Uint32

func nextServerID() uint32 { return 900000 + uint32(os.Getpid()%10000)*10 + serverIDs.Add(1) }

func upCfg(m *integration.MariaDB) upstream.Config {
	return upstream.Config{Host: m.Host(), Port: m.Port(), User: m.User(), Password: m.Password()}
}

// env is a source and a target server.
type env struct {
	src, tgt     *integration.MariaDB
	srcDB, tgtDB *sql.DB
	start        binlog.Location
}

func newEnv(t testing.TB, extraSource ...string) *env {
	t.Helper()
	e := &env{}
	var wg sync.WaitGroup
	wg.Go(func() {
		e.src = integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true, ExtraConfig: extraSource})
	})
	wg.Go(func() { e.tgt = integration.StartMariaDB(t, integration.MariaDBOptions{}) })
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	e.srcDB, e.tgtDB = e.src.DB(t), e.tgt.DB(t)
	e.start = e.masterPos(t)
	return e
}

func (e *env) masterPos(t testing.TB) binlog.Location {
	t.Helper()
	loc, err := masterStatus(context.Background(), e.srcDB)
	require.NoError(t, err)
	return loc
}

// targetDB opens the target as a sync unit's, closed when the test ends.
func (e *env) targetDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := upstream.Open(context.Background(), upCfg(e.tgt))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func (e *env) config(t testing.TB, workers, batch int) Config {
	return Config{
		Task: "t1", Source: "src1", Worker: "w1",
		Target:  e.targetDB(t),
		Workers: workers, Batch: batch,
		Upstream: e.srcDB,
		Logger:   testLogger(t),
		RetryFor: 30 * time.Second,
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("SYNCER_TEST_LOG") == "" {
		return slog.New(slog.NewTextHandler(discard{}, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// running is a Run in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

// start opens a reader at start and runs s in the background.
func (e *env) run(t testing.TB, s *Syncer, start binlog.Location) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rd, err := reader.NewRemote(ctx, reader.RemoteConfig{
		Upstream: upCfg(e.src), Flavor: binlog.FlavorMariaDB, ServerID: nextServerID(), Start: start,
	})
	require.NoError(t, err)
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := s.Run(ctx, rd, start)
		rd.Close()
		r.done <- err
	}()
	t.Cleanup(func() { r.stop() })
	return r
}

// stop cancels the run and returns its error (nil for a plain cancellation).
func (r *running) stop() error {
	r.cancel()
	err := <-r.done
	r.done <- err // idempotent
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// resume starts s from its checkpoint (or from e.start the first time).
func (e *env) resume(t testing.TB, s *Syncer) *running {
	t.Helper()
	loc, err := s.ResumeLocation(context.Background())
	require.NoError(t, err)
	if loc.IsZero() {
		loc = e.start
	}
	return e.run(t, s, loc)
}

// waitSynced polls until the checkpoint reaches the source's current position.
func (e *env) waitSynced(t testing.TB, s *Syncer, r *running, timeout time.Duration) {
	t.Helper()
	want := e.masterPos(t)
	deadline := time.Now().Add(timeout)
	for {
		st := s.Status()
		if compareLoc(st.SyncerLocation, want) >= 0 {
			return
		}
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("sync unit stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not synced after %v: checkpoint %s, source at %s, status %+v", timeout, st.SyncerLocation, want, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sameData compares CHECKSUM TABLE and row counts of each table on both sides (target names
// default to the source names).
func (e *env) sameData(t testing.TB, tables ...string) {
	t.Helper()
	for _, tbl := range tables {
		src, tgt := tbl, tbl
		if i := strings.Index(tbl, "=>"); i >= 0 {
			src, tgt = tbl[:i], tbl[i+2:]
		}
		integration.RequireSameTable(t, e.srcDB, src, e.tgtDB, tgt)
	}
}

func execAll(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
}

func mustNew(t testing.TB, cfg Config) *Syncer {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err)
	return s
}
