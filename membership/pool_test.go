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

// waitEvent polls the event stream until one matches, failing at the deadline.
func waitEvent(t *testing.T, p *Pool, typ EventType, name string) Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-p.Events():
			t.Logf("event %s %s leaving=%v", ev.Type, ev.Member.Name, ev.Member.Leaving)
			if ev.Type == typ && ev.Member.Name == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event for %s within 10s", typ, name)
		}
	}
}

func TestPoolSeesJoinFailureAndLeave(t *testing.T) {
	m := startPool(t, RoleMaster, "m1")
	w1 := startPool(t, RoleWorker, "w1")
	w2 := startPool(t, RoleWorker, "w2")
	require.NotEqual(t, m.Addr(), w1.Addr(), "OS-assigned ports must differ")

	_, err := w1.Join([]string{m.Addr()})
	require.NoError(t, err)
	_, err = w2.Join([]string{m.Addr()})
	require.NoError(t, err)
	ev := waitEvent(t, m, EventJoin, "w1")
	require.Equal(t, RoleWorker, ev.Member.Role)
	require.Equal(t, "127.0.0.1:1", ev.Member.APIAddr)
	waitEvent(t, m, EventJoin, "w2")
	_, ok := m.Alive(RoleWorker, "w1")
	require.True(t, ok)

	require.NoError(t, w1.Shutdown()) // crash: no goodbye
	waitEvent(t, m, EventFailed, "w1")
	_, ok = m.Alive(RoleWorker, "w1")
	require.False(t, ok)

	require.NoError(t, w2.Leave(time.Second))
	waitEvent(t, m, EventLeft, "w2")
}

func TestRestartedMemberRejoinsUnderSameName(t *testing.T) {
	m := startPool(t, RoleMaster, "m1")
	w := startPool(t, RoleWorker, "w1")
	_, err := w.Join([]string{m.Addr()})
	require.NoError(t, err)
	waitEvent(t, m, EventJoin, "w1")
	require.NoError(t, w.Shutdown())

	// The new run joins before the old one is declared dead; unique node names avoid a conflict.
	w2 := startPool(t, RoleWorker, "w1")
	_, err = w2.Join([]string{m.Addr()})
	require.NoError(t, err)
	ev := waitEvent(t, m, EventJoin, "w1")
	require.Equal(t, w2.NodeName(), ev.Member.NodeName)
}

func TestStartRejectsBadConfig(t *testing.T) {
	_, err := Start(Config{Meta: Meta{Role: RoleMaster}, BindAddr: "127.0.0.1:0"})
	require.Error(t, err)
	_, err = Start(Config{Meta: Meta{Role: RoleMaster, Name: "m"}, BindAddr: "nonsense"})
	require.Error(t, err)
}
