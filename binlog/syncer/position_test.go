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

	s := mustNew(t, e.config(t, 2, 8))
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

	got, found, err := LoadCheckpoint(context.Background(), e.targetDB(t), "dm_meta", "t1", "src1")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, start, got)
}
