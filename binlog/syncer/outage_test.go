package syncer

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/rules"
)

// TestTargetDownIsVisible: while the target is down, Status reports the retry (since when,
// the last error), is not synced, and the lag and its gauge keep growing — also when the
// dispatcher is blocked (on a full worker queue, waiting for the workers, or retrying the
// checkpoint before it has read the new rows); all of it clears when the target is back.
func TestTargetDownIsVisible(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB, "CREATE DATABASE od", "CREATE TABLE od.t (id INT PRIMARY KEY, v VARCHAR(40))")
	rl, err := rules.New([]rules.MigrateRule{{SchemaPattern: "od"}}, nil, false)
	require.NoError(t, err)
	cfg := e.config(t, 2, 10)
	cfg.Rules = rl
	cfg.Registerer = prometheus.NewRegistry()
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)
	requireCaughtUp(t, s)

	// Rows while the target is down: a few small transactions, then one larger than the
	// workers' queues, so that the dispatcher blocks handing it over.
	e.tgt.Stop(t)
	for i := range 5 {
		execAll(t, e.srcDB, fmt.Sprintf("INSERT INTO od.t VALUES (%d, 'small')", i))
	}
	execAll(t, e.srcDB, "INSERT INTO od.t SELECT 100 + seq, REPEAT('x', 40) FROM od.seq_1_to_3000")
	requireGrowingOutage(t, s, "replay worker")
	e.tgt.Restart(t)
	e.waitSynced(t, s, r, 40*time.Second)
	requireCaughtUp(t, s)
	e.sameData(t, "od.t")

	// A rotation moves the position only: the dispatcher blocks writing the checkpoint and
	// never reads the rows written after it, yet the lag counts them.
	e.tgt.Stop(t)
	execAll(t, e.srcDB, "FLUSH BINARY LOGS")
	waitFor(t, 10*time.Second, func() bool { return s.Status().Retrying != nil }, "the checkpoint write is retried")
	execAll(t, e.srcDB, "UPDATE od.t SET v = 'changed' WHERE id < 50")
	requireGrowingOutage(t, s, "checkpoint")
	e.tgt.Restart(t)
	e.waitSynced(t, s, r, 40*time.Second)
	requireCaughtUp(t, s)
	e.sameData(t, "od.t")
	require.NoError(t, r.stop())
}

// requireGrowingOutage waits until Status shows the retry with an error mentioning what, is
// not synced, and reports a lag of a few seconds, then that the lag and its gauge grow.
func requireGrowingOutage(t *testing.T, s *Syncer, what string) {
	t.Helper()
	began := time.Now()
	var first Status
	waitFor(t, 20*time.Second, func() bool {
		first = s.Status()
		return first.Retrying != nil && first.SecondsBehindMaster >= 3 && metricValue(t, s.metrics.lag) >= 3
	}, "a retry and a lag of 3 s in the status")
	require.False(t, first.Synced, "synced while the target is down: %+v", first)
	rt := first.Retrying
	require.Contains(t, rt.Error, what)
	require.True(t, strings.Contains(rt.Error, "connection refused") || strings.Contains(rt.Error, "bad connection") ||
		strings.Contains(rt.Error, "invalid connection") || strings.Contains(rt.Error, "shutdown"), "the target error: %s", rt.Error)
	require.False(t, rt.Since.Before(began.Add(-10*time.Second)), "retrying since %v", rt.Since)
	require.True(t, rt.Since.Before(time.Now().Add(-time.Second)), "retrying since %v", rt.Since)
	require.Equal(t, s.cfg.RetryFor, rt.For)
	gauge := metricValue(t, s.metrics.lag)
	waitFor(t, 10*time.Second, func() bool {
		st := s.Status()
		return st.SecondsBehindMaster > first.SecondsBehindMaster && metricValue(t, s.metrics.lag) > gauge &&
			!st.Synced && st.Retrying != nil && st.Retrying.Since.Equal(rt.Since)
	}, "the lag and its gauge grow while the retry goes on")
}

// requireCaughtUp waits until Status is synced with no lag and no retry, and the gauge is 0.
func requireCaughtUp(t *testing.T, s *Syncer) {
	t.Helper()
	waitFor(t, 10*time.Second, func() bool {
		st := s.Status()
		return st.Synced && st.SecondsBehindMaster == 0 && st.Retrying == nil && metricValue(t, s.metrics.lag) == 0
	}, "synced, no lag, no retry")
}
