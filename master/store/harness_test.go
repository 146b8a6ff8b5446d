package store

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/integration"
)

// testNode is a Store on Raft's in-memory transport and stores, with fast timeouts. It is the
// master's one in-process Raft test harness.
type testNode struct {
	*Store
	trans *raft.InmemTransport
	snaps *raft.InmemSnapshotStore
	self  atomic.Pointer[Store] // for the OnLeader hook, which may run before start returns
	// What the OnLeader hook saw: how often it ran, whether IsLeader was already true (it must
	// not be), and the FSM's index when it ran last.
	leaderWins   atomic.Int32
	hookAsLeader atomic.Bool
	hookIndex    atomic.Uint64
}

// onLeader is the node's OnLeader hook.
func (n *testNode) onLeader() {
	n.leaderWins.Add(1)
	if s := n.self.Load(); s != nil {
		n.hookAsLeader.Store(n.hookAsLeader.Load() || s.IsLeader())
		n.hookIndex.Store(s.FSM().Index())
	}
}

// newTestNode starts a node named id (its address is its name). initial, when not nil,
// bootstraps the group with those members.
func newTestNode(t *testing.T, id string, initial map[string]string) *testNode {
	t.Helper()
	_, trans := raft.NewInmemTransport(raft.ServerAddress(id))
	n := &testNode{trans: trans, snaps: raft.NewInmemSnapshotStore()}
	conf := raft.DefaultConfig()
	conf.HeartbeatTimeout = 100 * time.Millisecond
	conf.ElectionTimeout = 100 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	// Keep almost no log behind a snapshot so a lagging follower must install one.
	conf.TrailingLogs = 2
	conf.Logger = hclog.New(&hclog.LoggerOptions{Output: io.Discard})
	mem := raft.NewInmemStore()
	s, err := start(Config{
		ID: id, InitialCluster: initial,
		OnLeader: n.onLeader,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, conf, parts{logs: mem, stable: mem, snaps: n.snaps, trans: trans, closers: []io.Closer{trans}})
	require.NoError(t, err)
	n.Store = s
	n.self.Store(s)
	t.Cleanup(func() { _ = s.Close() })
	return n
}

// startTestCluster bootstraps three connected in-memory nodes (m1, m2, m3) and waits for a
// leader that has run its Barrier.
func startTestCluster(t *testing.T) ([]*testNode, *testNode) {
	t.Helper()
	initial := map[string]string{"m1": "m1", "m2": "m2", "m3": "m3"}
	nodes := []*testNode{newTestNode(t, "m1", initial), newTestNode(t, "m2", initial), newTestNode(t, "m3", initial)}
	connectAll(nodes)
	return nodes, waitForLeader(t, nodes)
}

func connectAll(nodes []*testNode) {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
}

// isolate cuts n off from every other node (both ways).
func isolate(n *testNode, nodes []*testNode) {
	for _, o := range nodes {
		if o != n {
			o.trans.Disconnect(n.trans.LocalAddr())
			n.trans.Disconnect(o.trans.LocalAddr())
		}
	}
}

func others(n *testNode, nodes []*testNode) []*testNode {
	var out []*testNode
	for _, o := range nodes {
		if o != n {
			out = append(out, o)
		}
	}
	return out
}

// waitForLeader waits until one of nodes reports IsLeader (elected and past its Barrier).
func waitForLeader(t *testing.T, nodes []*testNode) *testNode {
	t.Helper()
	var leader *testNode
	integration.Eventually(t, 10*time.Second, func() error {
		for _, n := range nodes {
			if n.IsLeader() {
				leader = n
				return nil
			}
		}
		return fmt.Errorf("none of %d nodes leads", len(nodes))
	})
	return leader
}

// waitIndex waits until n's FSM has applied index.
func waitIndex(t *testing.T, n *testNode, index uint64) {
	t.Helper()
	integration.Eventually(t, 10*time.Second, func() error {
		if got := n.FSM().Index(); got < index {
			return fmt.Errorf("%s at index %d, want %d", n.ID(), got, index)
		}
		return nil
	})
}

// waitLeaderKnown waits until n has heard of the leader id.
func waitLeaderKnown(t *testing.T, n *testNode, id string) {
	t.Helper()
	integration.Eventually(t, 10*time.Second, func() error {
		if got, _ := n.Leader(); got != id {
			return fmt.Errorf("%s knows the leader as %q, want %q", n.ID(), got, id)
		}
		return nil
	})
}
