package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// TestAddAndRemoveVoter: a node started without an initial cluster joins when the leader adds
// it, catches up with the FSM and votes; removing it takes it out of the configuration.
func TestAddAndRemoveVoter(t *testing.T) {
	nodes, leader := startTestCluster(t)
	before, err := leader.Apply(context.Background(), fsm.RegisterWorker{Name: "w1", Addr: "127.0.0.1:1", KeepaliveTTL: 5})
	require.NoError(t, err)

	joiner := newTestNode(t, "m4", nil)
	require.False(t, joiner.ExistingState())
	all := append(nodes, joiner)
	connectAll(all)
	require.NoError(t, leader.AddVoter(context.Background(), "m4", "m4"))
	members, err := leader.Members()
	require.NoError(t, err)
	require.Contains(t, members, Member{ID: "m4", Addr: "m4", Voter: true})
	require.Len(t, members, 4)

	waitIndex(t, joiner, before)
	_, ok := joiner.FSM().Worker("w1")
	require.True(t, ok, "the new voter has the entries written before it joined")
	after, err := leader.Apply(context.Background(), fsm.RegisterWorker{Name: "w2", Addr: "127.0.0.1:2", KeepaliveTTL: 5})
	require.NoError(t, err)
	waitIndex(t, joiner, after)
	jm, err := joiner.Members()
	require.NoError(t, err)
	require.ElementsMatch(t, members, jm, "the new voter has the configuration")

	require.NoError(t, leader.RemoveServer(context.Background(), "m4"))
	members, err = leader.Members()
	require.NoError(t, err)
	require.Len(t, members, 3)
	for _, m := range members {
		require.NotEqual(t, "m4", m.ID)
		require.True(t, m.Voter)
	}
}
