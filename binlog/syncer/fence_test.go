package syncer

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTwoRunsNeverApplyTogether starts a second run of the same (task, source) with a higher
// epoch while the first still replays under live writes, as a rebound source does while its old
// worker is frozen or cut off. The old run must stop with ErrSuperseded at its next write, a run
// with a lower epoch than the owner's must not start, and the target must end equal to the
// source: the keyless table's checksum shows any transaction applied twice.
func TestTwoRunsNeverApplyTogether(t *testing.T) {
	e := newEnv(t)
	createWriterTables(t, e)
	w := startWriter(t, e.srcDB, 3)

	runWith := func(epoch uint64) (*Syncer, *running) {
		cfg := e.config(t, 4, 16)
		cfg.Epoch = epoch
		s := mustNew(t, cfg)
		s.noAutoSafe = true // a transaction applied twice must show, not be absorbed
		return s, e.resume(t, s)
	}
	oldSyncer, oldRun := runWith(10)
	requireProgress(t, oldSyncer)

	newSyncer, newRun := runWith(20)
	requireProgress(t, newSyncer)
	select {
	case err := <-oldRun.done:
		oldRun.done <- err
		require.ErrorIs(t, err, ErrSuperseded)
	case <-time.After(30 * time.Second):
		t.Fatal("the old run kept running after a newer one claimed the source")
	}

	_, staleRun := runWith(15)
	select {
	case err := <-staleRun.done:
		staleRun.done <- err
		require.ErrorIs(t, err, ErrSuperseded)
	case <-time.After(30 * time.Second):
		t.Fatal("a run with a lower epoch than the owner's started")
	}

	txns := w.finish(t)
	e.waitSynced(t, newSyncer, newRun, 60*time.Second)
	e.sameData(t, "cr.pk", "cr.nopk", "cr.uk")
	require.NoError(t, newRun.stop())
	t.Logf("%d source transactions", txns)
}

// requireProgress waits until the run has written a checkpoint past its start.
func requireProgress(t *testing.T, s *Syncer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	first := s.Status().SyncerLocation
	for compareLoc(s.Status().SyncerLocation, first) <= 0 || s.Status().SyncerLocation.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal(errors.New("no progress in 30 s"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
