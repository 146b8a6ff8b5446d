package store

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/integration"
	"github.com/dm-oss/dm/internal/security"
)

// secureGroup opens a three-member group on disk whose Raft port speaks TLS with keys derived
// from secret, and returns its stores (m1, m2, m3) and their configurations.
func secureGroup(t *testing.T, secret []byte) ([]*Store, []Config) {
	t.Helper()
	ports := integration.FreePorts(t, 3)
	initial := map[string]string{}
	for i, p := range ports {
		initial["m"+strconv.Itoa(i+1)] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	var stores []*Store
	var cfgs []Config
	for i := range ports {
		id := "m" + strconv.Itoa(i+1)
		srv, cli := peerTLS(t, id, secret)
		cfg := Config{
			ID: id, Dir: t.TempDir(), BindAddr: initial[id], AdvertiseAddr: initial[id], InitialCluster: initial,
			ServerTLS: srv, ClientTLS: cli, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		s, err := Open(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		stores, cfgs = append(stores, s), append(cfgs, cfg)
	}
	return stores, cfgs
}

func peerTLS(t *testing.T, name string, secret []byte) (*tls.Config, *tls.Config) {
	t.Helper()
	m, err := security.NewMembers(security.MemberConfig{Name: name, SecretKey: secret})
	require.NoError(t, err)
	return m.PeerTLS()
}

func leaderOf(t *testing.T, stores []*Store) *Store {
	t.Helper()
	var leader *Store
	integration.Eventually(t, 20*time.Second, func() error {
		for _, s := range stores {
			if s.IsLeader() {
				leader = s
				return nil
			}
		}
		return fmt.Errorf("no leader yet")
	})
	return leader
}

// TestSecuredRaftPort: members replicate over TLS; a stranger's raw RPCs on the Raft port (an
// AppendEntries probe, a TimeoutNow) get no answer and change nothing; Probe accepts a member's
// port only.
func TestSecuredRaftPort(t *testing.T) {
	secret := bytes.Repeat([]byte{4}, 32)
	stores, cfgs := secureGroup(t, secret)
	leader := leaderOf(t, stores)
	_, err := leader.Apply(context.Background(), fsm.RegisterWorker{Name: "w1", Addr: "127.0.0.1:1", KeepaliveTTL: 5})
	require.NoError(t, err)
	for _, s := range stores {
		integration.Eventually(t, 10*time.Second, func() error {
			if _, ok := s.FSM().Worker("w1"); !ok {
				return fmt.Errorf("%s has not replicated the entry", s.ID())
			}
			return nil
		})
	}
	term := leader.raft.CurrentTerm()
	index := leader.FSM().Index()

	// A stranger speaks raw Raft RPCs to every member, as hashicorp/raft's TCP transport does.
	stranger, err := raft.NewTCPTransport("127.0.0.1:0", nil, 1, 2*time.Second, io.Discard)
	require.NoError(t, err)
	defer stranger.Close()
	for _, c := range cfgs {
		target := raft.ServerAddress(c.AdvertiseAddr)
		var ae raft.AppendEntriesResponse
		err := stranger.AppendEntries(raft.ServerID(c.ID), target, &raft.AppendEntriesRequest{
			RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte("intruder")},
			Term:      term + 100, PrevLogEntry: index, PrevLogTerm: term,
		}, &ae)
		require.Error(t, err, "AppendEntries to %s", c.ID)
		require.Zero(t, ae.Term, "nothing was learned from %s", c.ID)
		var tn raft.TimeoutNowResponse
		err = stranger.TimeoutNow(raft.ServerID(c.ID), target, &raft.TimeoutNowRequest{
			RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte("intruder")},
		}, &tn)
		require.Error(t, err, "TimeoutNow to %s", c.ID)
	}
	// A stranger with TLS but another secret fares no better.
	_, foreign := peerTLS(t, "intruder", bytes.Repeat([]byte{5}, 32))
	_, err = dialTLS(context.Background(), cfgs[0].AdvertiseAddr, foreign)
	require.Error(t, err)

	require.True(t, leader.IsLeader(), "leadership did not move")
	require.Equal(t, term, leader.raft.CurrentTerm(), "the term did not move")
	require.Equal(t, index, leader.FSM().Index())

	// Probe: a member's port passes; a dead port, a plain listener and another cluster do not.
	ctx := context.Background()
	require.NoError(t, leader.Probe(ctx, cfgs[1].AdvertiseAddr))
	dead := net.JoinHostPort("127.0.0.1", strconv.Itoa(integration.FreePort(t)))
	require.Error(t, leader.Probe(ctx, dead))
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer plain.Close()
	go func() {
		for {
			c, err := plain.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	require.Error(t, leader.Probe(short, plain.Addr().String()), "something that does not speak the cluster's TLS")
	otherStores, otherCfgs := secureGroup(t, bytes.Repeat([]byte{5}, 32))
	_ = otherStores
	require.Error(t, leader.Probe(ctx, otherCfgs[0].AdvertiseAddr), "another cluster's member")
}

// TestRecoverLostQuorum: two of three members are gone for good; the survivor, reopened with
// Recover naming itself, leads alone with the whole state.
func TestRecoverLostQuorum(t *testing.T) {
	stores, cfgs := secureGroup(t, bytes.Repeat([]byte{4}, 32))
	leader := leaderOf(t, stores)
	_, err := leader.Apply(context.Background(), fsm.RegisterWorker{Name: "w1", Addr: "127.0.0.1:1", KeepaliveTTL: 5})
	require.NoError(t, err)
	survivor := 0
	integration.Eventually(t, 10*time.Second, func() error {
		if _, ok := stores[survivor].FSM().Worker("w1"); !ok {
			return fmt.Errorf("not replicated yet")
		}
		return nil
	})
	for _, s := range stores {
		require.NoError(t, s.Close())
	}

	cfg := cfgs[survivor]
	cfg.Recover = map[string]string{cfg.ID: cfg.AdvertiseAddr}
	s, err := Open(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	waitLeads(t, s)
	_, ok := s.FSM().Worker("w1")
	require.True(t, ok, "the state is kept")
	members, err := s.Members()
	require.NoError(t, err)
	require.Equal(t, []Member{{ID: cfg.ID, Addr: cfg.AdvertiseAddr, Voter: true}}, members)
	_, err = s.Apply(context.Background(), fsm.RegisterWorker{Name: "w2", Addr: "127.0.0.1:2", KeepaliveTTL: 5})
	require.NoError(t, err, "it writes again")

	bad := cfgs[1]
	bad.Dir = t.TempDir()
	bad.Recover = map[string]string{bad.ID: bad.AdvertiseAddr}
	_, err = Open(bad)
	require.ErrorContains(t, err, "no Raft state to recover")
}
