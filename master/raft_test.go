package master

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// inmemNode is a Raft node on raft's in-memory transport, wired to our FSM adapter.
type inmemNode struct {
	id    raft.ServerID
	raft  *raft.Raft
	state *fsm.FSM
	trans *raft.InmemTransport
	snaps *raft.InmemSnapshotStore
	store *raft.InmemStore
}

func newInmemNode(t *testing.T, id string) *inmemNode {
	t.Helper()
	_, trans := raft.NewInmemTransport(raft.ServerAddress(id))
	n := &inmemNode{id: raft.ServerID(id), state: fsm.New(), trans: trans, snaps: raft.NewInmemSnapshotStore(), store: raft.NewInmemStore()}
	n.start(t)
	return n
}

func (n *inmemNode) start(t *testing.T) {
	t.Helper()
	conf := raft.DefaultConfig()
	conf.LocalID = n.id
	conf.HeartbeatTimeout = 100 * time.Millisecond
	conf.ElectionTimeout = 100 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	// Keep almost no log behind a snapshot so a lagging follower must install one.
	conf.TrailingLogs = 2
	conf.Logger = hclog.New(&hclog.LoggerOptions{Output: io.Discard})
	r, err := raft.NewRaft(conf, raftFSM{n.state}, n.store, n.store, n.snaps, n.trans)
	require.NoError(t, err)
	n.raft = r
	t.Cleanup(func() { _ = r.Shutdown().Error() })
}

func connectAll(nodes []*inmemNode) {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
}

func waitForLeader(t *testing.T, nodes []*inmemNode) *inmemNode {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if n.raft.State() == raft.Leader {
				return n
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no leader within 10s")
	return nil
}

func waitIndex(t *testing.T, n *inmemNode, index uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n.state.Index() < index {
		if time.Now().After(deadline) {
			t.Fatalf("%s stuck at index %d, want %d", n.id, n.state.Index(), index)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func applyCmd(t *testing.T, leader *inmemNode, cmd fsm.Command) (uint64, error) {
	t.Helper()
	data, err := fsm.Encode(cmd)
	require.NoError(t, err)
	f := leader.raft.Apply(data, 5*time.Second)
	require.NoError(t, f.Error())
	if err, ok := f.Response().(error); ok {
		return f.Index(), err
	}
	return f.Index(), nil
}

func snapshotBytes(t *testing.T, f *fsm.FSM) string {
	t.Helper()
	var sb stringsBuilder
	_, err := f.Snapshot().WriteTo(&sb)
	require.NoError(t, err)
	return sb.String()
}

type stringsBuilder struct{ b []byte }

func (s *stringsBuilder) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }
func (s *stringsBuilder) String() string              { return string(s.b) }

// startInmemCluster bootstraps three connected in-memory nodes and waits for a leader.
func startInmemCluster(t *testing.T) ([]*inmemNode, *inmemNode) {
	t.Helper()
	nodes := []*inmemNode{newInmemNode(t, "m1"), newInmemNode(t, "m2"), newInmemNode(t, "m3")}
	connectAll(nodes)
	var servers []raft.Server
	for _, n := range nodes {
		servers = append(servers, raft.Server{ID: n.id, Address: n.trans.LocalAddr()})
	}
	require.NoError(t, nodes[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error())
	return nodes, waitForLeader(t, nodes)
}

// TestRaftReplicatesFSM runs three real Raft nodes in process: commands applied on the leader
// reach every FSM identically, rejections come back to the caller, and a node that falls
// behind a snapshot catches up by restoring it.
func TestRaftReplicatesFSM(t *testing.T) {
	nodes, leader := startInmemCluster(t)

	_, err := applyCmd(t, leader, fsm.RegisterWorker{Name: "w1", Addr: "127.0.0.1:8262", KeepaliveTTL: 60})
	require.NoError(t, err)
	_, err = applyCmd(t, leader, fsm.AddSource{Source: testSource("s1")})
	require.NoError(t, err)
	idx, err := applyCmd(t, leader, fsm.AddSource{Source: fsm.Source{Name: "s1"}})
	code, ok := fsm.CodeOf(err)
	require.True(t, ok, "a rejected command reaches the caller as *fsm.Error: %v", err)
	require.Equal(t, fsm.CodeSourceExist, code)
	last, err := applyCmd(t, leader, fsm.BindSource{Source: "s1", Worker: "w1"})
	require.NoError(t, err)
	require.Greater(t, last, idx)

	for _, n := range nodes {
		waitIndex(t, n, last)
	}
	want := snapshotBytes(t, leader.state)
	for _, n := range nodes {
		require.Equal(t, want, snapshotBytes(t, n.state), "replica %s diverged", n.id)
	}

	// Partition one follower, compact the leader's log behind a snapshot, then heal: the
	// follower must catch up through InstallSnapshot → Restore.
	var lagger *inmemNode
	for _, n := range nodes {
		if n != leader {
			lagger = n
			break
		}
	}
	for _, n := range nodes {
		if n != lagger {
			n.trans.Disconnect(lagger.trans.LocalAddr())
			lagger.trans.Disconnect(n.trans.LocalAddr())
		}
	}
	for i := range 20 {
		last, err = applyCmd(t, leader, fsm.RegisterWorker{Name: fmt.Sprintf("w%d", i+2), Addr: "127.0.0.1:1", KeepaliveTTL: 5})
		require.NoError(t, err)
	}
	require.NoError(t, leader.raft.Snapshot().Error())
	connectAll(nodes)
	waitIndex(t, lagger, last)
	require.Equal(t, snapshotBytes(t, leader.state), snapshotBytes(t, lagger.state))
	require.Len(t, lagger.state.Workers(), 21)
	installed, err := lagger.snaps.List()
	require.NoError(t, err)
	require.NotEmpty(t, installed, "the follower caught up by restoring a snapshot")
}

// TestShardLockSurvivesLeaderChange: a pessimistic shard-DDL lock half reported on one leader
// is on the next leader as it was, and finishes there.
func TestShardLockSurvivesLeaderChange(t *testing.T) {
	nodes, leader := startInmemCluster(t)
	for _, s := range []string{"s1", "s2"} {
		_, err := applyCmd(t, leader, fsm.AddSource{Source: testSource(s)})
		require.NoError(t, err)
	}
	_, err := applyCmd(t, leader, fsm.AddTask{Task: testTask("t", map[string]*fsm.Subtask{"s1": {}, "s2": {}})})
	require.NoError(t, err)
	ddls := []string{"ALTER TABLE `db`.`t` ADD COLUMN c INT"}
	_, err = applyCmd(t, leader, fsm.ReportShardDDL{Task: "t", Source: "s1", Target: "`db`.`t`", DDLs: ddls})
	require.NoError(t, err)
	id := fsm.ShardLockID("t", "`db`.`t`")
	before, ok := leader.state.ShardLock(id)
	require.True(t, ok)
	require.False(t, before.Resolved)

	// The leader goes away; the two others elect a new one.
	for _, n := range nodes {
		if n != leader {
			n.trans.Disconnect(leader.trans.LocalAddr())
			leader.trans.Disconnect(n.trans.LocalAddr())
		}
	}
	var rest []*inmemNode
	for _, n := range nodes {
		if n != leader {
			rest = append(rest, n)
		}
	}
	next := waitForLeader(t, rest)
	require.NotEqual(t, leader.id, next.id)
	after, ok := next.state.ShardLock(id)
	require.True(t, ok, "the new leader has the lock")
	require.Equal(t, before, after)

	_, err = applyCmd(t, next, fsm.ReportShardDDL{Task: "t", Source: "s2", Target: "`db`.`t`", DDLs: ddls})
	require.NoError(t, err)
	l, _ := next.state.ShardLock(id)
	require.True(t, l.Resolved)
	require.Equal(t, "s1", l.Owner, "the owner is still the first source to report")
	_, err = applyCmd(t, next, fsm.ShardDDLDone{ID: id, Source: "s1"})
	require.NoError(t, err)
	last, err := applyCmd(t, next, fsm.ShardDDLDone{ID: id, Source: "s2"})
	require.NoError(t, err)
	for _, n := range rest {
		waitIndex(t, n, last)
		_, ok := n.state.ShardLock(id)
		require.False(t, ok, "%s still has the lock after every source acked", n.id)
	}
}
