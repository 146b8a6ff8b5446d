package load_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/integration"
)

// TestTwoLoadsNeverWriteTogether starts a second load of the same (task, source) with a higher
// epoch while the first is midway, as a rebound source does while its old worker is frozen or
// cut off during load. The old load must stop with ErrSuperseded, a load with a lower epoch
// than the owner's must not start, and the target must end with exactly the source's rows: a
// chunk loaded twice would show in the keyless table (on_duplicate=error would fail on the
// keyed one).
func TestTwoLoadsNeverWriteTogether(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	p.src.Exec(t, `CREATE DATABASE fz;
		CREATE TABLE fz.nokey (x INT, y VARCHAR(50));
		INSERT INTO fz.nokey SELECT seq % 1000, MD5(seq % 1000) FROM mysql.seq_1_to_200000;
		CREATE TABLE fz.k (id INT PRIMARY KEY, v VARCHAR(50));
		INSERT INTO fz.k SELECT seq, MD5(seq) FROM mysql.seq_1_to_200000;`)
	meta, dir := runDump(t, p, dump.Config{Rules: mustRules(t, "fz|*"), ChunkRows: 1000})
	loadWith := func(epoch uint64) *load.Loader {
		return newLoader(t, p, load.Config{Dir: dir, Task: "fenced", Threads: 1, OnDuplicate: "error", Epoch: epoch})
	}

	old := loadWith(10)
	oldDone := make(chan error, 1)
	go func() { oldDone <- old.Run(context.Background()) }()
	waitFor(t, 30*time.Second, "the first load to be under way", func() bool {
		return old.Progress().FinishedBytes > meta.TotalBytes()/20
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, loadWith(20).Run(ctx))
	select {
	case err := <-oldDone:
		require.True(t, errors.Is(err, load.ErrSuperseded), "the older load ended with %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the older load kept running after a newer one claimed the source")
	}
	err := loadWith(15).Run(ctx)
	require.True(t, errors.Is(err, load.ErrSuperseded), "a load with a lower epoch than the owner's ended with %v", err)

	integration.RequireSameTable(t, p.srcDB, "fz.nokey", p.tgtDB, "fz.nokey")
	integration.RequireSameTable(t, p.srcDB, "fz.k", p.tgtDB, "fz.k")
}
