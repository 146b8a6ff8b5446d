package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// TestWriteOnAFollowerIsNotLeader: Apply and membership changes on a follower fail with
// ErrNotLeader naming the leader, and nothing is written.
func TestWriteOnAFollowerIsNotLeader(t *testing.T) {
	nodes, leader := startTestCluster(t)
	follower := others(leader, nodes)[0]
	require.False(t, follower.IsLeader())
	leaderID, leaderAddr := leader.Leader()
	require.Equal(t, leader.ID(), leaderID)
	waitLeaderKnown(t, follower, leaderID)

	_, err := follower.Apply(context.Background(), fsm.RegisterWorker{Name: "w1", Addr: "127.0.0.1:1", KeepaliveTTL: 5})
	require.ErrorIs(t, err, ErrNotLeader)
	var nle *NotLeaderError
	require.True(t, errors.As(err, &nle), "%v", err)
	require.Equal(t, leaderID, nle.LeaderID)
	require.Equal(t, leaderAddr, nle.LeaderAddr)
	require.Contains(t, err.Error(), "apply RegisterWorker")

	require.ErrorIs(t, follower.AddVoter(context.Background(), "m4", "m4"), ErrNotLeader)
	require.ErrorIs(t, follower.RemoveServer(context.Background(), "m3"), ErrNotLeader)

	// A command the leader writes is there; the refused one is nowhere.
	last, err := leader.Apply(context.Background(), fsm.RegisterWorker{Name: "w2", Addr: "127.0.0.1:2", KeepaliveTTL: 5})
	require.NoError(t, err)
	for _, n := range nodes {
		waitIndex(t, n, last)
		_, ok := n.FSM().Worker("w1")
		require.False(t, ok, "%s has the worker a follower refused", n.ID())
		_, ok = n.FSM().Worker("w2")
		require.True(t, ok)
	}
	members, err := leader.Members()
	require.NoError(t, err)
	require.Len(t, members, 3)
}

// TestLeadershipChange: a leader cut off from the others stops being the leader (its
// LeaderWatch fires, its writes fail with ErrNotLeader); the next leader runs its Barrier and
// the OnLeader hook, which sees every entry the first one committed, before IsLeader turns
// true.
func TestLeadershipChange(t *testing.T) {
	nodes, first := startTestCluster(t)
	require.GreaterOrEqual(t, first.leaderWins.Load(), int32(1))
	require.False(t, first.hookAsLeader.Load(), "OnLeader ran after IsLeader turned true")
	for _, n := range others(first, nodes) {
		require.False(t, n.IsLeader())
	}
	var last uint64
	for _, w := range []string{"w1", "w2", "w3"} {
		var err error
		last, err = first.Apply(context.Background(), fsm.RegisterWorker{Name: w, Addr: "127.0.0.1:1", KeepaliveTTL: 5})
		require.NoError(t, err)
	}

	lost := first.LeaderWatch()
	isolate(first, nodes)
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the isolated leader's LeaderWatch did not fire within 10s")
	}
	require.False(t, first.IsLeader())
	_, err := first.Apply(context.Background(), fsm.RegisterWorker{Name: "w4", Addr: "127.0.0.1:1", KeepaliveTTL: 5})
	require.ErrorIs(t, err, ErrNotLeader)

	rest := others(first, nodes)
	next := waitForLeader(t, rest)
	require.NotEqual(t, first.ID(), next.ID())
	require.GreaterOrEqual(t, next.leaderWins.Load(), int32(1))
	require.False(t, next.hookAsLeader.Load(), "OnLeader ran after IsLeader turned true")
	require.GreaterOrEqual(t, next.hookIndex.Load(), last, "the hook ran before the Barrier applied the first leader's entries")
	require.Len(t, next.FSM().Workers(), 3)
	for _, n := range rest {
		waitLeaderKnown(t, n, next.ID())
	}
}
