package syncer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/tracker"
)

// recorder is a Handler that keeps what it is given, as text.
type recorder struct {
	mu      sync.Mutex
	lines   []string
	commits []binlog.Location
	snap    []byte // the tracker at the last commit
	tr      *tracker.Tracker
}

func (h *recorder) OnRows(_ context.Context, e RowsEvent) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range e.Changes {
		sch, tbl := c.Table.Target()
		h.lines = append(h.lines, fmt.Sprintf("%s %s.%s %v %v %v", c.Kind, sch, tbl, c.Table.Columns(), c.Before, c.After))
	}
	return nil
}

func (h *recorder) OnDDL(_ context.Context, e DDLEvent) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, "ddl "+string(e.Statement.Kind)+" "+e.Statement.Text)
	return nil
}

func (h *recorder) OnCommit(_ context.Context, next binlog.Location) error {
	snap, err := h.tr.Snapshot()
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.commits = append(h.commits, next)
	h.snap = snap
	return nil
}

func (h *recorder) take() ([]string, []binlog.Location, []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string{}, h.lines...), append([]binlog.Location{}, h.commits...), h.snap
}

// runStream runs a Stream from start until the upstream's current position is committed.
func runStream(t *testing.T, e *env, rl *rules.Rules, tr *tracker.Tracker, start binlog.Location) *recorder {
	t.Helper()
	h := &recorder{tr: tr}
	s, err := NewStream(StreamConfig{Upstream: e.srcDB, Rules: rl, Tracker: tr, Logger: testLogger(t)}, h)
	require.NoError(t, err)
	h.tr = s.Tracker()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rd, err := reader.NewRemote(ctx, reader.RemoteConfig{Upstream: upCfg(e.src), Flavor: binlog.FlavorMariaDB, ServerID: nextServerID(), Start: start})
	require.NoError(t, err)
	defer rd.Close()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, rd, start) }()
	want := e.masterPos(t)
	waitFor(t, 20*time.Second, func() bool {
		_, commits, _ := h.take()
		return len(commits) > 0 && compareLoc(commits[len(commits)-1], want) >= 0
	}, "the stream commits up to the source's position")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	return h
}

// TestStreamDecodesWithTheTrackedSchema: rows written before a DDL come with the columns they
// were written with, also when the upstream table has changed since; routing and the rules
// apply; DDLs of other schemas are not handed over; and a second Stream started at a commit
// with the tracker saved there goes on without repeating or missing a change.
func TestStreamDecodesWithTheTrackedSchema(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB, "CREATE DATABASE st", "CREATE DATABASE other",
		"CREATE TABLE st.t (id INT PRIMARY KEY, v VARCHAR(10))", "CREATE TABLE other.o (id INT PRIMARY KEY)")
	start := e.masterPos(t)
	execAll(t, e.srcDB,
		"INSERT INTO st.t VALUES (1, 'a'), (2, 'b')",
		"INSERT INTO other.o VALUES (1)",
		"UPDATE st.t SET v = 'bb' WHERE id = 2",
		"ALTER TABLE st.t ADD COLUMN n INT",
		"INSERT INTO st.t VALUES (3, 'c', 30)",
		"DELETE FROM st.t WHERE id = 1",
	)
	rl, err := rules.New([]rules.MigrateRule{{SchemaPattern: "st", TablePattern: "*", TargetSchema: "routed"}}, nil, false)
	require.NoError(t, err)
	first := runStream(t, e, rl, nil, start)
	lines, commits, snap := first.take()
	require.Equal(t, []string{
		"insert routed.t [id v] [] [1 a]",
		"insert routed.t [id v] [] [2 b]",
		"update routed.t [id v] [2 b] [2 bb]",
		"ddl alter table ALTER TABLE st.t ADD COLUMN n INT",
		"insert routed.t [id v n] [] [3 c 30]",
		"delete routed.t [id v n] [1 a <nil>] []",
	}, lines)

	// Resume at the last commit with the tracker as it was there.
	execAll(t, e.srcDB, "ALTER TABLE st.t DROP COLUMN v", "INSERT INTO st.t VALUES (4, 40)")
	tr := tracker.New(nil)
	require.NoError(t, tr.Restore(snap))
	second := runStream(t, e, rl, tr, commits[len(commits)-1])
	lines, _, _ = second.take()
	require.Equal(t, []string{
		"ddl alter table ALTER TABLE st.t DROP COLUMN v",
		"insert routed.t [id n] [] [4 40]",
	}, lines)
	require.True(t, strings.HasPrefix(commits[0].File, "mysql-bin."), "commits are binlog positions: %v", commits[0])
}
