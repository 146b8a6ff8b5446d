package membership

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func startKeyedPool(t *testing.T, name string, key []byte, sealed bool) *Pool {
	t.Helper()
	p, err := Start(Config{Meta: Meta{Role: RoleWorker, Name: name}, BindAddr: "127.0.0.1:0",
		ProbeInterval: 200 * time.Millisecond, Key: key, Sealed: sealed})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

// TestGossipKey: with a key, only members with the same key join and are seen; a plain node or
// one with another key is refused and sees nobody. A sealed pool joins once it gets the key.
func TestGossipKey(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	m := startKeyedPool(t, "m", key, false)
	w := startKeyedPool(t, "w", key, false)
	_, err := w.Join([]string{m.Addr()})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, ok := m.Alive(RoleWorker, "w"); return ok }, 5*time.Second, 20*time.Millisecond)

	plain := startKeyedPool(t, "plain", nil, false)
	_, err = plain.Join([]string{m.Addr()})
	require.Error(t, err, "a node without the key cannot join")
	other := startKeyedPool(t, "other", bytes.Repeat([]byte{2}, 32), false)
	_, err = other.Join([]string{m.Addr()})
	require.Error(t, err, "a node with another key cannot join")

	sealed := startKeyedPool(t, "late", nil, true)
	_, err = sealed.Join([]string{m.Addr()})
	require.Error(t, err, "a sealed node talks with nobody")
	require.False(t, sealed.HasKey(key))
	require.NoError(t, sealed.InstallKey(key))
	require.NoError(t, sealed.InstallKey(key), "installing the key in use again is harmless")
	require.True(t, sealed.HasKey(key))
	_, err = sealed.Join([]string{m.Addr()})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, ok := m.Alive(RoleWorker, "late"); return ok }, 5*time.Second, 20*time.Millisecond)

	// Strangers stayed out of everyone's view, and saw nobody.
	for _, p := range []*Pool{m, w, sealed} {
		for _, name := range []string{"plain", "other"} {
			_, ok := p.Alive(RoleWorker, name)
			require.False(t, ok, "%s is not seen", name)
		}
	}
	require.Len(t, plain.Members(), 1)
	require.Len(t, other.Members(), 1)
	require.Error(t, plain.InstallKey(key), "a plain pool cannot start encrypting")
}
