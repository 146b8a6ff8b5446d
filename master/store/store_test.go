package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

func applyCmd(t *testing.T, n *testNode, cmd fsm.Command) (uint64, error) {
	t.Helper()
	return n.Apply(context.Background(), cmd)
}

// testSource is the least a source needs to be in the state: a spec of the current version.
func testSource(name string) fsm.Source {
	return fsm.Source{Name: name, Spec: fsm.SourceSpec{Version: fsm.SourceSpecVersion}}
}

// testTask is a pessimistic shard-merging task with a subtask on each source, and a spec with
// (empty) settings for each.
func testTask(name string, sources ...string) fsm.Task {
	t := fsm.Task{Name: name, Spec: fsm.TaskSpec{Version: fsm.TaskSpecVersion, Name: name, ShardMode: "pessimistic", Sources: map[string]fsm.SubtaskSpec{}}, Subtasks: map[string]*fsm.Subtask{}}
	for _, s := range sources {
		t.Spec.Sources[s] = fsm.SubtaskSpec{}
		t.Subtasks[s] = &fsm.Subtask{}
	}
	return t
}

func snapshotBytes(t *testing.T, f *fsm.FSM) string {
	t.Helper()
	var sb strings.Builder
	_, err := f.Snapshot().WriteTo(&sb)
	require.NoError(t, err)
	return sb.String()
}

// TestRaftReplicatesFSM runs three real Raft nodes in process: commands applied on the leader
// reach every FSM identically, rejections come back to the caller, and a node that falls
// behind a snapshot catches up by restoring it.
func TestRaftReplicatesFSM(t *testing.T) {
	nodes, leader := startTestCluster(t)

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
	want := snapshotBytes(t, leader.FSM())
	for _, n := range nodes {
		require.Equal(t, want, snapshotBytes(t, n.FSM()), "replica %s diverged", n.id)
	}

	// Partition one follower, compact the leader's log behind a snapshot, then heal: the
	// follower must catch up through InstallSnapshot → Restore.
	lagger := others(leader, nodes)[0]
	isolate(lagger, nodes)
	for i := range 20 {
		last, err = applyCmd(t, leader, fsm.RegisterWorker{Name: fmt.Sprintf("w%d", i+2), Addr: "127.0.0.1:1", KeepaliveTTL: 5})
		require.NoError(t, err)
	}
	require.NoError(t, leader.raft.Snapshot().Error())
	connectAll(nodes)
	waitIndex(t, lagger, last)
	require.Equal(t, snapshotBytes(t, leader.FSM()), snapshotBytes(t, lagger.FSM()))
	require.Len(t, lagger.FSM().Workers(), 21)
	installed, err := lagger.snaps.List()
	require.NoError(t, err)
	require.NotEmpty(t, installed, "the follower caught up by restoring a snapshot")
}

// TestShardLockSurvivesLeaderChange: a pessimistic shard-DDL lock half reported on one leader
// is on the next leader as it was, and finishes there.
func TestShardLockSurvivesLeaderChange(t *testing.T) {
	nodes, leader := startTestCluster(t)
	for _, s := range []string{"s1", "s2"} {
		_, err := applyCmd(t, leader, fsm.AddSource{Source: testSource(s)})
		require.NoError(t, err)
	}
	_, err := applyCmd(t, leader, fsm.AddTask{Task: testTask("t", "s1", "s2")})
	require.NoError(t, err)
	ddls := []string{"ALTER TABLE `db`.`t` ADD COLUMN c INT"}
	_, err = applyCmd(t, leader, fsm.ReportShardDDL{Task: "t", Source: "s1", Target: "`db`.`t`", DDLs: ddls})
	require.NoError(t, err)
	id := fsm.ShardLockID("t", "`db`.`t`")
	before, ok := leader.FSM().ShardLock(id)
	require.True(t, ok)
	require.False(t, before.Resolved)

	// The leader goes away; the two others elect a new one.
	isolate(leader, nodes)
	rest := others(leader, nodes)
	next := waitForLeader(t, rest)
	require.NotEqual(t, leader.id, next.id)
	after, ok := next.FSM().ShardLock(id)
	require.True(t, ok, "the new leader has the lock")
	require.Equal(t, before, after)

	_, err = applyCmd(t, next, fsm.ReportShardDDL{Task: "t", Source: "s2", Target: "`db`.`t`", DDLs: ddls})
	require.NoError(t, err)
	l, _ := next.FSM().ShardLock(id)
	require.True(t, l.Resolved)
	require.Equal(t, "s1", l.Owner, "the owner is still the first source to report")
	_, err = applyCmd(t, next, fsm.ShardDDLDone{ID: id, Source: "s1"})
	require.NoError(t, err)
	last, err := applyCmd(t, next, fsm.ShardDDLDone{ID: id, Source: "s2"})
	require.NoError(t, err)
	for _, n := range rest {
		waitIndex(t, n, last)
		_, ok := n.FSM().ShardLock(id)
		require.False(t, ok, "%s still has the lock after every source acked", n.id)
	}
}
