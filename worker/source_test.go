package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/integration"
)

// TestStartHere: a dump position of the primary is kept on the primary, and becomes its GTID
// set alone on the promoted replica, where the same transactions sit at other positions.
func TestStartHere(t *testing.T) {
	primary := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	primary.Exec(t, "FLUSH BINARY LOGS")
	replica := integration.StartReplica(t, primary)
	primary.Exec(t, "CREATE DATABASE d")
	primary.Exec(t, "CREATE TABLE d.t (id INT PRIMARY KEY)")
	primary.Exec(t, "INSERT INTO d.t VALUES (1), (2)")
	pdb := primary.DB(t)
	var loc binlog.Location
	var doDB, ignoreDB any
	require.NoError(t, pdb.QueryRow("SHOW MASTER STATUS").Scan(&loc.File, &loc.Pos, &doDB, &ignoreDB))
	require.NoError(t, pdb.QueryRow("SELECT @@gtid_binlog_pos").Scan(&loc.GTIDSet))
	replica.WaitCaughtUp(t, primary, 30*time.Second)
	replica.Promote(t)
	ctx := context.Background()

	got, err := startHere(ctx, pdb, binlog.FlavorMariaDB, loc)
	require.NoError(t, err)
	require.Equal(t, loc, got, "a position of this server is kept")
	got, err = startHere(ctx, replica.DB(t), binlog.FlavorMariaDB, loc)
	require.NoError(t, err)
	require.Equal(t, binlog.Location{GTIDSet: loc.GTIDSet}, got, "another server's: its GTID set alone")
	got, err = startHere(ctx, replica.DB(t), binlog.FlavorMySQL, loc)
	require.NoError(t, err)
	require.Equal(t, loc, got, "MySQL cannot tell: kept")
}
