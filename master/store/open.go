package store

import (
	"crypto/tls"
	"errors"
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

// Config says where a Store keeps its data and how it reaches its peers.
type Config struct {
	// ID names this node in the Raft configuration (the master's name).
	ID string
	// Dir holds the Raft log and stable store (raft.db) and the snapshots.
	Dir string
	// BindAddr is where the Raft transport listens; AdvertiseAddr is how peers reach it.
	BindAddr, AdvertiseAddr string
	// InitialCluster bootstraps a new group: every first member, this one included (ID →
	// Raft address). It is ignored when Dir already holds state; a store opened without it
	// waits until a leader adds it (AddVoter).
	InitialCluster map[string]string
	// OnLeader, when set, runs each time this node wins leadership, after the Barrier and
	// before IsLeader reports true, so whatever it resets is reset before the node acts as
	// the leader.
	OnLeader func()
	// Logger receives the store's and Raft's logs; nil means slog.Default().
	Logger *slog.Logger
	// ServerTLS and ClientTLS secure the Raft port (security.Members.PeerTLS): every connection
	// completes a mutual TLS handshake first. Both nil: plain TCP, an open cluster.
	ServerTLS, ClientTLS *tls.Config
	// Recover, when set, replaces the Raft configuration kept in Dir with these members (ID →
	// Raft address) before the node starts: the way back for a group that lost its quorum for
	// good (raft.RecoverCluster). Dir must hold state.
	Recover map[string]string
}

// Open opens (or creates) the Raft state under cfg.Dir, listens for peers and starts the node,
// bootstrapping the group from cfg.InitialCluster when there is no state yet. It returns once
// the node runs; an election may still be under way.
func Open(cfg Config) (*Store, error) {
	logger := loggerOf(cfg)
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create raft dir: %w", err)
	}
	hlog := raftLogger(logger)
	bolt, err := raftboltdb.NewBoltStore(filepath.Join(cfg.Dir, "raft.db"))
	if err != nil {
		return nil, fmt.Errorf("open raft store: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 3, hlog)
	if err != nil {
		bolt.Close()
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	advAddr, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr)
	if err != nil {
		bolt.Close()
		return nil, fmt.Errorf("advertise-peer-urls %s: %w", cfg.AdvertiseAddr, err)
	}
	trans, probe, err := newTransport(cfg, advAddr, hlog)
	if err != nil {
		bolt.Close()
		return nil, err
	}
	conf := raft.DefaultConfig()
	conf.Logger = hlog
	conf.SnapshotThreshold = 1024
	conf.SnapshotInterval = 30 * time.Second
	p := parts{logs: bolt, stable: bolt, snaps: snaps, trans: trans, probe: probe, closers: []io.Closer{trans, bolt}}
	if len(cfg.Recover) > 0 {
		if err := recoverCluster(cfg, conf, p, logger); err != nil {
			p.close()
			return nil, err
		}
	}
	return start(cfg, conf, p)
}

// recoverCluster rewrites the Raft configuration kept in p to cfg.Recover (raft.RecoverCluster),
// so that the surviving masters of a group that lost its quorum form a group of their own.
func recoverCluster(cfg Config, conf *raft.Config, p parts, logger *slog.Logger) error {
	existing, err := raft.HasExistingState(p.logs, p.stable, p.snaps)
	if err != nil {
		return fmt.Errorf("inspect raft state: %w", err)
	}
	if !existing {
		return errors.New("recover: the data directory holds no Raft state to recover")
	}
	if _, ok := cfg.Recover[cfg.ID]; !ok {
		return fmt.Errorf("recover: the new configuration must name this master %q", cfg.ID)
	}
	rc := *conf
	rc.LocalID = raft.ServerID(cfg.ID)
	members := initialConfiguration(cfg.Recover)
	if err := raft.RecoverCluster(&rc, raftFSM{fsm.New()}, p.logs, p.stable, p.snaps, p.trans, members); err != nil {
		return fmt.Errorf("recover the raft configuration: %w", err)
	}
	logger.Warn("raft configuration replaced by --recover-from: the other former members must never start again with their old data", "members", cfg.Recover)
	return nil
}

func loggerOf(cfg Config) *slog.Logger {
	if cfg.Logger == nil {
		return slog.Default()
	}
	return cfg.Logger
}

// raftLogger routes hashicorp/raft's logs into ours.
func raftLogger(logger *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "raft",
		Level:  hclog.Info,
		Output: membership.NewLogWriter(logger.With("component", "raft")),
	})
}
