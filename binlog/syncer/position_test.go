package syncer

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/reader"
)

// A reader opened by GTID set starts its file with a ROTATE to the file's head and the file's
// GTID_LIST event, not at the position the GTID set is at. On a quiet source the checkpoint
// written then must still be the start's position: a later reader opened by position (the
// relay log once it is enabled, a source without GTID) would otherwise replay the file from
// its head, transactions the dump already holds included.
func TestGTIDStartKeepsItsPosition(t *testing.T) {
	e := newEnv(t)
	createWriterTables(t, e)
	execAll(t, e.srcDB, "INSERT INTO cr.nopk VALUES (1, 'before the start'), (2, 'before the start')")
	start := e.masterPos(t)
	require.NotEmpty(t, start.GTIDSet)
	require.Equal(t, start, quietRunFrom(t, e, "at-position", start))
	// Started at the set alone (a checkpoint of another server after a failover), the run does
	// not know the set's position in this server's file: it keeps the set alone, not the
	// position of the file's head events (which a reader opened by position would replay from).
	require.Equal(t, binlog.Location{GTIDSet: start.GTIDSet}, quietRunFrom(t, e, "gtid-only", binlog.Location{GTIDSet: start.GTIDSet}))
}

// quietRunFrom runs task from start, opening the reader by GTID, stops it once it runs, and
// returns the checkpoint it wrote.
func quietRunFrom(t *testing.T, e *env, task string, start binlog.Location) binlog.Location {
	t.Helper()
	cfg := e.config(t, 2, 8)
	cfg.Task = task
	s := mustNew(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	rd, err := reader.NewRemote(ctx, reader.RemoteConfig{
		Upstream: upCfg(e.src), Flavor: binlog.FlavorMariaDB, ServerID: nextServerID(), Start: start, UseGTID: true,
	})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, rd, start) }()
	// The source stays quiet: the stop's final flush writes where the run stands.
	deadline := time.Now().Add(20 * time.Second)
	for s.Status().SyncerLocation.IsZero() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	rd.Close()

	got, found, err := LoadCheckpoint(context.Background(), e.targetDB(t), "dm_meta", task, "src1")
	require.NoError(t, err)
	require.True(t, found)
	return got
}
