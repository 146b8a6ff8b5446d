package syncer

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/integration"
)

func serverIdentity(m *integration.MariaDB) string { return fmt.Sprintf("mariadb:%d", m.ServerID) }

// runOn opens a reader on m at start (by GTID when start is a GTID set alone, as ResumeLocation
// gives it for a checkpoint of another server) and runs s in the background.
func runOn(t *testing.T, s *Syncer, m *integration.MariaDB, start binlog.Location) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rd, err := reader.NewRemote(ctx, reader.RemoteConfig{
		Upstream: upCfg(m), Flavor: binlog.FlavorMariaDB, ServerID: nextServerID(), Start: start,
		UseGTID: start.File == "" && start.GTIDSet != "",
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

// chaosRounds resumes a sync unit reading m again and again until the deadline, stopping it
// at random moments, mostly abruptly as a crash would, and killing its target connections;
// the last round's stop is abrupt, so the checkpoint it leaves is unclean.
func chaosRounds(t *testing.T, e *env, cfg Config, m *integration.MariaDB, rng *rand.Rand, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); ; {
		s := mustNew(t, cfg)
		// No safe mode: a replayed INSERT fails on the keyed tables, a replayed row shows in
		// the keyless one's checksum.
		s.noAutoSafe = true
		last := !time.Now().Before(deadline)
		s.abrupt = last || rng.IntN(3) != 0
		start, err := s.ResumeLocation(context.Background())
		require.NoError(t, err)
		if start.IsZero() {
			start = e.start
		}
		r := runOn(t, s, m, start)
		time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond) // chaos timing, not synchronisation
		if rng.IntN(2) == 0 {
			killTarget(t, e.tgtDB)
		}
		require.NoError(t, r.stop())
		if last {
			return
		}
	}
}

// TestFailoverToReplicaExact: the upstream fails over to its replica (log_slave_updates, GTID
// strict mode) while the sync unit is stopped uncleanly at random moments; resumed on the
// promoted replica, where every position differs, the checkpoint is matched by GTID set and
// the target ends equal to the new primary, keyless table included, without safe mode.
func TestFailoverToReplicaExact(t *testing.T) {
	e := newEnv(t)
	// The primary's binlog is three files further than the replica's: the same transaction
	// sits in another file on each, and positions compare the wrong way round.
	execAll(t, e.srcDB, "FLUSH BINARY LOGS", "FLUSH BINARY LOGS")
	e.start = e.masterPos(t)
	replica := integration.StartReplica(t, e.src)
	execAll(t, e.srcDB, "FLUSH BINARY LOGS")
	execAll(t, e.srcDB,
		"CREATE DATABASE cr",
		"CREATE TABLE cr.pk (id INT PRIMARY KEY, v INT, s VARCHAR(20))",
		"CREATE TABLE cr.nopk (a INT, b VARCHAR(20))",
		"CREATE TABLE cr.uk (id INT PRIMARY KEY, u INT NOT NULL, UNIQUE KEY (u))",
	)
	rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))

	cfg := e.config(t, 8, 16)
	cfg.UpstreamID = serverIdentity(e.src)
	w := startWriter(t, e.srcDB, 3)
	chaosRounds(t, e, cfg, e.src, rng, 3*time.Second)
	before := w.finish(t)

	replica.WaitCaughtUp(t, e.src, 30*time.Second)
	replica.Promote(t)
	newDB := replica.DB(t)
	w = startWriter(t, newDB, 3)
	cfg.UpstreamID, cfg.Upstream = serverIdentity(replica), newDB
	chaosRounds(t, e, cfg, replica, rng, 3*time.Second)
	after := w.finish(t)
	t.Logf("%d transactions on the primary, %d on the promoted replica", before, after)

	s := mustNew(t, cfg)
	start, err := s.ResumeLocation(context.Background())
	require.NoError(t, err)
	r := runOn(t, s, replica, start)
	waitSyncedOn(t, s, r, newDB, 60*time.Second)
	for _, tbl := range []string{"cr.pk", "cr.nopk", "cr.uk"} {
		integration.RequireSameTable(t, newDB, tbl, e.tgtDB, tbl)
	}
	require.NoError(t, r.stop())
}

// TestMovedCheckpointNeedsGTID: a checkpoint without GTID sets cannot be carried to another
// server, and a moved checkpoint must be resumed by GTID.
func TestMovedCheckpointNeedsGTID(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cfg := e.config(t, 2, 8)
	cfg.UpstreamID = "mariadb:1"
	require.NoError(t, SaveStart(ctx, cfg.Target, "dm_meta", "t1", "src1", binlog.Location{File: "mysql-bin.000001", Pos: 4}))
	_, err := cfg.Target.Exec("UPDATE dm_meta.t1_syncer_checkpoint SET upstream_id = 'mariadb:2'")
	require.NoError(t, err)
	_, err = mustNew(t, cfg).ResumeLocation(ctx)
	require.ErrorContains(t, err, "has no GTID set")

	_, err = cfg.Target.Exec("UPDATE dm_meta.t1_syncer_checkpoint SET binlog_gtid = '0-2-5'")
	require.NoError(t, err)
	s := mustNew(t, cfg)
	loc, err := s.ResumeLocation(ctx)
	require.NoError(t, err)
	require.Equal(t, binlog.Location{GTIDSet: "0-2-5"}, loc, "a moved checkpoint resumes at its GTID set alone")

	r := e.run(t, s, e.start) // by position: refused
	err = <-r.done
	r.done <- err
	require.ErrorContains(t, err, "open the reader by GTID")
}

// TestMovedOrder: GTID sets order transactions across servers of one history; what the new
// server adds of its own (another domain, another UUID) is left out of the comparison.
func TestMovedOrder(t *testing.T) {
	parse := func(flavor, s string) gmysql.GTIDSet {
		set, err := gmysql.ParseGTIDSet(flavor, s)
		require.NoError(t, err)
		return set
	}
	maria := func(stream, plan string) (int, error) {
		p := parse(gmysql.MariaDBFlavor, plan)
		return compareSets(restrictTo(parse(gmysql.MariaDBFlavor, stream), p), p)
	}
	for _, c := range []struct {
		stream, plan string
		want         int
	}{
		{"0-1-10", "0-1-10", 0},
		{"0-1-9", "0-1-10", -1},
		{"0-2-11", "0-1-10", 1},             // written on the promoted replica
		{"0-1-9,9-2-3", "0-1-10", -1},       // the replica's own domain orders nothing
		{"0-1-10,9-2-3", "0-1-10", 0},       // ...
		{"0-1-10,1-1-5", "0-1-10,1-1-4", 1}, // two domains of the history
	} {
		got, err := maria(c.stream, c.plan)
		require.NoError(t, err, "%s vs %s", c.stream, c.plan)
		require.Equal(t, c.want, got, "%s vs %s", c.stream, c.plan)
	}
	_, err := maria("0-1-11,1-1-3", "0-1-10,1-1-4")
	require.ErrorContains(t, err, "not of one replication history")

	const u1, u2 = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "4e11fa47-71ca-11e1-9e33-c80aa9429563"
	p := parse(gmysql.MySQLFlavor, u1+":1-10")
	got, err := compareSets(restrictTo(parse(gmysql.MySQLFlavor, u1+":1-10,"+u2+":1-4"), p), p)
	require.NoError(t, err)
	require.Equal(t, 0, got, "the replica's own UUID orders nothing")
	got, err = compareSets(restrictTo(parse(gmysql.MySQLFlavor, u1+":1-11"), p), p)
	require.NoError(t, err)
	require.Equal(t, 1, got)
}

// waitSyncedOn polls until the checkpoint reaches db's current binlog position.
func waitSyncedOn(t *testing.T, s *Syncer, r *running, db *sql.DB, timeout time.Duration) {
	t.Helper()
	want, err := masterStatus(context.Background(), db)
	require.NoError(t, err)
	integration.Eventually(t, timeout, func() error {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("sync unit stopped: %v", err)
		default:
		}
		if st := s.Status(); st.SyncerLocation.File != want.File || st.SyncerLocation.Pos < want.Pos {
			return fmt.Errorf("checkpoint %s, upstream at %s", st.SyncerLocation, want)
		}
		return nil
	})
}
