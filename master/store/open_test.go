package store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/integration"
)

// TestOpenOnDiskAndReopen runs a one-member group on files and TCP: it bootstraps, leads and
// applies; reopened on the same directory it finds its state, leads again (the initial
// cluster is not bootstrapped twice) and has every entry.
func TestOpenOnDiskAndReopen(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(integration.FreePort(t)))
	cfg := Config{
		ID: "m1", Dir: t.TempDir(), BindAddr: addr, AdvertiseAddr: addr,
		InitialCluster: map[string]string{"m1": addr},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	s, err := Open(cfg)
	require.NoError(t, err)
	require.False(t, s.ExistingState())
	waitLeads(t, s)
	index, err := s.Apply(context.Background(), fsm.RegisterWorker{Name: "w1", Addr: "127.0.0.1:1", KeepaliveTTL: 5})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "a second Close returns the first one's result")

	s, err = Open(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.True(t, s.ExistingState())
	waitLeads(t, s)
	require.GreaterOrEqual(t, s.FSM().Index(), index)
	_, ok := s.FSM().Worker("w1")
	require.True(t, ok, "the entry written before the restart is back")
	members, err := s.Members()
	require.NoError(t, err)
	require.Equal(t, []Member{{ID: "m1", Addr: addr, Voter: true}}, members)
}

// TestOpenFailsCleanly: a bad address is a clear error, and a failed Open releases the data
// directory (raft.db is locked while open) and the port, so the next Open works.
func TestOpenFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(integration.FreePort(t)))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := Open(Config{ID: "m1", Dir: dir, BindAddr: addr, AdvertiseAddr: "nowhere", Logger: logger})
	require.ErrorContains(t, err, "advertise-peer-urls nowhere")

	taken, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	_, err = Open(Config{ID: "m1", Dir: dir, BindAddr: addr, AdvertiseAddr: addr, Logger: logger})
	require.ErrorContains(t, err, "listen for raft on "+addr)
	require.NoError(t, taken.Close())

	opened := make(chan error, 1)
	go func() {
		s, err := Open(Config{ID: "m1", Dir: dir, BindAddr: addr, AdvertiseAddr: addr, InitialCluster: map[string]string{"m1": addr}, Logger: logger})
		if err == nil {
			err = s.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Open after failed Opens did not return within 10s: raft.db is still locked")
	}
}

func waitLeads(t *testing.T, s *Store) {
	t.Helper()
	integration.Eventually(t, 15*time.Second, func() error {
		if !s.IsLeader() {
			return fmt.Errorf("%s is %s, not the leader yet", s.ID(), s.RaftState())
		}
		return nil
	})
}
