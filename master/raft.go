package master

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/membership"
)

// raftFSM is the thin adapter between hashicorp/raft and our pure fsm package.
type raftFSM struct{ state *fsm.FSM }

func (a raftFSM) Apply(l *raft.Log) any {
	// fsm.Apply panics on an entry it cannot decode: a replica must never silently diverge.
	return a.state.Apply(l.Index, l.Data)
}

func (a raftFSM) Snapshot() (raft.FSMSnapshot, error) { return fsmSnapshot{a.state.Snapshot()}, nil }

func (a raftFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := a.state.Restore(rc); err != nil {
		return fmt.Errorf("restore fsm snapshot: %w", err)
	}
	return nil
}

type fsmSnapshot struct{ snap *fsm.Snapshot }

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.snap.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist fsm snapshot: %w", err)
	}
	return sink.Close()
}

func (s fsmSnapshot) Release() {}

// raftNode bundles the Raft instance with the stores it owns, so Close releases all of them.
type raftNode struct {
	raft      *raft.Raft
	transport *raft.NetworkTransport
	store     *raftboltdb.BoltStore
}

// openRaft opens (or creates) the Raft log, stable store and snapshots under dataDir and starts
// the node. bootstrap is called only when there is no existing state.
func openRaft(name string, r resolved, state *fsm.FSM, logger *slog.Logger) (*raftNode, bool, error) {
	dir := filepath.Join(r.dataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create raft dir: %w", err)
	}
	hlog := hclog.New(&hclog.LoggerOptions{
		Name:   "raft",
		Level:  hclog.Info,
		Output: membership.NewLogWriter(logger.With("component", "raft")),
	})
	store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
	if err != nil {
		return nil, false, fmt.Errorf("open raft store: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 3, hlog)
	if err != nil {
		store.Close()
		return nil, false, fmt.Errorf("open snapshot store: %w", err)
	}
	advAddr, err := net.ResolveTCPAddr("tcp", r.raftAdvertise)
	if err != nil {
		store.Close()
		return nil, false, fmt.Errorf("advertise-peer-urls %s: %w", r.raftAdvertise, err)
	}
	trans, err := raft.NewTCPTransportWithLogger(r.raftBind, advAddr, 3, 10*time.Second, hlog)
	if err != nil {
		store.Close()
		return nil, false, fmt.Errorf("listen for raft on %s: %w", r.raftBind, err)
	}
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(name)
	conf.Logger = hlog
	conf.SnapshotThreshold = 1024
	conf.SnapshotInterval = 30 * time.Second

	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		trans.Close()
		store.Close()
		return nil, false, fmt.Errorf("inspect raft state: %w", err)
	}
	rn, err := raft.NewRaft(conf, raftFSM{state}, store, store, snaps, trans)
	if err != nil {
		trans.Close()
		store.Close()
		return nil, false, fmt.Errorf("start raft: %w", err)
	}
	node := &raftNode{raft: rn, transport: trans, store: store}
	if !existing && r.initial != nil {
		var servers []raft.Server
		for _, n := range sortedNames(r.initial) {
			servers = append(servers, raft.Server{ID: raft.ServerID(n), Address: raft.ServerAddress(r.initial[n]), Suffrage: raft.Voter})
		}
		if err := rn.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && err != raft.ErrCantBootstrap {
			node.close()
			return nil, false, fmt.Errorf("bootstrap raft cluster: %w", err)
		}
	}
	return node, existing, nil
}

func (n *raftNode) close() error {
	err := n.raft.Shutdown().Error()
	if cerr := n.transport.Close(); err == nil {
		err = cerr
	}
	if cerr := n.store.Close(); err == nil {
		err = cerr
	}
	return err
}
