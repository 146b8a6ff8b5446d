package membership

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func startPool(t *testing.T, role Role, name string) *Pool {
	t.Helper()
	p, err := Start(Config{Meta: Meta{Role: role, Name: name, APIAddr: "127.0.0.1:1"}, BindAddr: "127.0.0.1:0", ProbeInterval: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

// events remembers what a pool reported, so a test can wait for events in any order.
type events struct {
	p    *Pool
	seen []Event
}

// wait returns the first reported event matching typ and name, consuming it; it fails at the
// deadline.
func (e *events) wait(t *testing.T, typ EventType, name string) Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for i, ev := range e.seen {
			if ev.Type == typ && ev.Member.Name == name {
				e.seen = append(e.seen[:i], e.seen[i+1:]...)
				return ev
			}
		}
		select {
		case ev := <-e.p.Events():
			e.seen = append(e.seen, ev)
		case <-deadline:
			t.Fatalf("no %s event for %s within 10s (seen %v)", typ, name, e.seen)
		}
	}
}

func TestPoolSeesJoinFailureAndLeave(t *testing.T) {
	m := startPool(t, RoleMaster, "m1")
	ev := &events{p: m}
	w1 := startPool(t, RoleWorker, "w1")
	w2 := startPool(t, RoleWorker, "w2")
	require.NotEqual(t, m.Addr(), w1.Addr(), "OS-assigned ports must differ")

	_, err := w1.Join([]string{m.Addr()})
	require.NoError(t, err)
	_, err = w2.Join([]string{m.Addr()})
	require.NoError(t, err)
	joined := ev.wait(t, EventJoin, "w1")
	require.Equal(t, RoleWorker, joined.Member.Role)
	require.Equal(t, "127.0.0.1:1", joined.Member.APIAddr)
	ev.wait(t, EventJoin, "w2")
	_, ok := m.Alive(RoleWorker, "w1")
	require.True(t, ok)

	require.NoError(t, w1.Shutdown()) // crash: no goodbye
	ev.wait(t, EventFailed, "w1")
	_, ok = m.Alive(RoleWorker, "w1")
	require.False(t, ok)

	require.NoError(t, w2.Leave(time.Second))
	ev.wait(t, EventLeft, "w2")
}

func TestRestartedMemberRejoinsUnderSameName(t *testing.T) {
	m := startPool(t, RoleMaster, "m1")
	ev := &events{p: m}
	w := startPool(t, RoleWorker, "w1")
	_, err := w.Join([]string{m.Addr()})
	require.NoError(t, err)
	ev.wait(t, EventJoin, "w1")
	require.NoError(t, w.Shutdown())

	// The new run joins before the old one is declared dead; unique node names avoid a conflict.
	w2 := startPool(t, RoleWorker, "w1")
	_, err = w2.Join([]string{m.Addr()})
	require.NoError(t, err)
	rejoined := ev.wait(t, EventJoin, "w1")
	require.Equal(t, w2.NodeName(), rejoined.Member.NodeName)
}

func TestStartRejectsBadConfig(t *testing.T) {
	_, err := Start(Config{Meta: Meta{Role: RoleMaster}, BindAddr: "127.0.0.1:0"})
	require.Error(t, err)
	_, err = Start(Config{Meta: Meta{Role: RoleMaster, Name: "m"}, BindAddr: "nonsense"})
	require.Error(t, err)
}
