package master

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/membership"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func startTestPool(t *testing.T, role membership.Role, name string) *membership.Pool {
	t.Helper()
	p, err := membership.Start(membership.Config{Meta: membership.Meta{Role: role, Name: name, APIAddr: "127.0.0.1:1"},
		BindAddr: "127.0.0.1:0", ProbeInterval: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

// TestWorkerAliveInGossipButSilentGoesOffline: a worker that gossip (real memberlist) keeps
// alive but that has not reached the master itself for its keepalive-ttl is offline; its next
// poll brings it back. A worker never heard from has its TTL from when the master started
// watching.
func TestWorkerAliveInGossipButSilentGoesOffline(t *testing.T) {
	m := startTestPool(t, membership.RoleMaster, "m1")
	w := startTestPool(t, membership.RoleWorker, "w1")
	_, err := w.Join([]string{m.Addr()})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, ok := m.Alive(membership.RoleWorker, "w1"); return ok }, 10*time.Second, 50*time.Millisecond)

	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	live := newLiveness(m, clock.now)
	rec := fsm.Worker{Name: "w1", KeepaliveTTL: 3}
	require.True(t, live.online(rec), "within the TTL from the start of watching")
	clock.add(3 * time.Second)
	require.False(t, live.online(rec), "never heard from for its TTL, although alive in gossip")

	live.heardFrom("w1")
	clock.add(2900 * time.Millisecond)
	require.True(t, live.online(rec), "heard from 2.9 s ago")
	clock.add(100 * time.Millisecond)
	require.False(t, live.online(rec), "silent for its TTL, although alive in gossip")
	_, inGossip := m.Alive(membership.RoleWorker, "w1")
	require.True(t, inGossip)

	live.heardFrom("w1")
	require.True(t, live.online(rec))
	live.resetClock()
	require.True(t, live.online(rec), "a new term gives every worker its TTL again")

	// Heard from, but gone from gossip: offline once gossip has lost it for the TTL.
	require.NoError(t, w.Shutdown())
	require.Eventually(t, func() bool { _, ok := m.Alive(membership.RoleWorker, "w1"); return !ok }, 20*time.Second, 50*time.Millisecond)
	live.observe(membership.Event{Type: membership.EventFailed, Member: membership.Member{Meta: membership.Meta{Role: membership.RoleWorker, Name: "w1"}}})
	live.heardFrom("w1")
	clock.add(2 * time.Second)
	require.True(t, live.online(rec))
	live.heardFrom("w1")
	clock.add(time.Second)
	require.False(t, live.online(rec), "lost by gossip 3 s ago")
}
