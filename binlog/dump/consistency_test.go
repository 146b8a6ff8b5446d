package dump

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/integration"
)

// Snapshot mode under constant commits (and a monitor that reads SHOW
// STATUS all the time): every connection of a snapshot sees exactly the
// transactions up to the snapshot's GTID position. The server computes
// Binlog_snapshot_* into global variables, so reading them concurrently
// from several sessions gave positions that did not match the data.
func TestSnapshotConnectionsAgreeWithPosition(t *testing.T) {
	t.Parallel()
	src := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	src.Exec(t, "CREATE DATABASE w; CREATE TABLE w.a (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := upstream.Open(ctx, upstream.Config{Host: src.Host(), Port: src.Port(), User: src.User(), Password: src.Password()})
	require.NoError(t, err)
	defer db.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 6 {
		wg.Go(func() {
			for ctx.Err() == nil {
				db.ExecContext(ctx, "INSERT INTO w.a (v) VALUES (1)")
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			if rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS LIKE 'binlog_snapshot%'"); err == nil {
				for rows.Next() {
				}
				rows.Close()
			}
		}
	})
	cfg := Config{Threads: 4}.withDefaults()
	sizes := map[int]int{}
	for i := range 100 {
		s, err := snapshotMode(ctx, db, cfg, "mariadb", nil)
		require.NoError(t, err)
		sizes[len(s.conns)]++
		parts := strings.Split(s.loc.GTIDSet, "-")
		seq, err := strconv.ParseInt(parts[len(parts)-1], 10, 64)
		require.NoError(t, err, s.loc.GTIDSet)
		for _, c := range s.conns {
			// Two GTIDs are the CREATE DATABASE and CREATE TABLE.
			require.Equal(t, seq-2, integration.TableCount(t, c, "w.a"), "attempt %d: rows seen by a snapshot at %s", i, s.loc.GTIDSet)
		}
		s.release()
	}
	t.Logf("connections per snapshot: %v", sizes)
}
