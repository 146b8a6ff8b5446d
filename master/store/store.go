package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/dm-oss/dm/fsm"
)

// DefaultTimeout bounds one Raft operation (an Apply, a membership change, the new leader's
// Barrier) when the caller's context has no deadline.
const DefaultTimeout = 10 * time.Second

// ErrNotLeader says that this node cannot write: it does not lead, or it lost leadership
// before the entry committed. The error returned is a *NotLeaderError.
var ErrNotLeader = errors.New("not the leader")

// NotLeaderError is the error of a write on a node that does not lead. It matches ErrNotLeader
// (errors.Is) and names the leader this node knows of, so a caller can send the write there.
type NotLeaderError struct {
	// LeaderID and LeaderAddr (its Raft address) are empty when no leader is known.
	LeaderID, LeaderAddr string
	// Err is Raft's reason.
	Err error
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" {
		return fmt.Sprintf("%v, and no leader is known: %v", ErrNotLeader, e.Err)
	}
	return fmt.Sprintf("%v (%s at %s is): %v", ErrNotLeader, e.LeaderID, e.LeaderAddr, e.Err)
}

// Is makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

func (e *NotLeaderError) Unwrap() error { return e.Err }

// Store is one member of the Raft group and the replicated fsm.FSM it applies to.
type Store struct {
	id       string
	raft     *raft.Raft
	state    *fsm.FSM
	existing bool
	closers  []io.Closer
	probe    func(ctx context.Context, addr string) error
	onLeader func()
	logger   *slog.Logger

	// ready is true once this node leads and has applied every committed entry (a Barrier
	// after the election), so reads on it are current.
	ready atomic.Bool
	// watch is closed (and replaced) when ready changes.
	watchMu sync.Mutex
	watch   chan struct{}

	stop      chan struct{} // closed by Close: ends observeLeadership
	done      chan struct{} // closed when observeLeadership has returned
	closeOnce sync.Once
	closeErr  error
}

// parts are the Raft storage and transport a Store runs on: files and TCP in Open, memory in
// the tests.
type parts struct {
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	trans  raft.Transport
	// probe checks that a peer's Raft port answers (and, when secured, authenticates); nil
	// accepts every address (the in-memory transport of the tests).
	probe   func(ctx context.Context, addr string) error
	closers []io.Closer // released, in order, by Close once Raft has shut down
}

func (p parts) close() {
	for _, c := range p.closers {
		_ = c.Close()
	}
}

// start runs a Raft node on p with conf (LocalID is set here) and bootstraps it when p holds
// no state and cfg names an initial cluster. On failure it releases p.
func start(cfg Config, conf *raft.Config, p parts) (*Store, error) {
	conf.LocalID = raft.ServerID(cfg.ID)
	existing, err := raft.HasExistingState(p.logs, p.stable, p.snaps)
	if err != nil {
		p.close()
		return nil, fmt.Errorf("inspect raft state: %w", err)
	}
	state := fsm.New()
	rn, err := raft.NewRaft(conf, raftFSM{state}, p.logs, p.stable, p.snaps, p.trans)
	if err != nil {
		p.close()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	s := &Store{
		id: cfg.ID, raft: rn, state: state, existing: existing, closers: p.closers, probe: p.probe,
		onLeader: cfg.OnLeader, logger: loggerOf(cfg),
		watch: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go s.observeLeadership()
	if !existing && len(cfg.InitialCluster) > 0 {
		if err := rn.BootstrapCluster(initialConfiguration(cfg.InitialCluster)).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			_ = s.Close()
			return nil, fmt.Errorf("bootstrap raft cluster: %w", err)
		}
	}
	return s, nil
}

// initialConfiguration lists the members in name order, so every member bootstraps the same
// configuration.
func initialConfiguration(members map[string]string) raft.Configuration {
	ids := make([]string, 0, len(members))
	for id := range members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var cf raft.Configuration
	for _, id := range ids {
		cf.Servers = append(cf.Servers, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(members[id]), Suffrage: raft.Voter})
	}
	return cf
}

// Close shuts the node down and releases its storage and transport. It does not leave the
// Raft configuration: a stopped member is expected back. Calling it again returns the first
// call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		err := s.raft.Shutdown().Error()
		<-s.done
		for _, c := range s.closers {
			if cerr := c.Close(); err == nil {
				err = cerr
			}
		}
		s.closeErr = err
	})
	return s.closeErr
}

// ID is this node's name in the Raft configuration.
func (s *Store) ID() string { return s.id }

// ExistingState reports whether the store found Raft state (log or snapshots) when it opened.
func (s *Store) ExistingState() bool { return s.existing }

// FSM is the replicated state, for reading (the fsm views, Index, Watch). Every write goes
// through Apply.
func (s *Store) FSM() *fsm.FSM { return s.state }

// Apply replicates one command and returns its log index and the FSM's verdict: an *fsm.Error
// for a rejected command, a *NotLeaderError (ErrNotLeader) when this node does not lead or
// lost leadership on the way. ctx's deadline bounds the wait, DefaultTimeout when it has none.
func (s *Store) Apply(ctx context.Context, cmd fsm.Command) (uint64, error) {
	data, err := fsm.Encode(cmd)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", cmd.CommandType(), err)
	}
	f := s.raft.Apply(data, timeoutOf(ctx))
	if err := f.Error(); err != nil {
		return 0, fmt.Errorf("apply %s: %w", cmd.CommandType(), s.leadershipError(err))
	}
	if rerr, ok := f.Response().(error); ok && rerr != nil {
		return f.Index(), rerr
	}
	return f.Index(), nil
}

// leadershipError turns Raft's "not the leader" errors into a *NotLeaderError; other errors
// pass unchanged.
func (s *Store) leadershipError(err error) error {
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrEnqueueTimeout) {
		id, addr := s.Leader()
		return &NotLeaderError{LeaderID: id, LeaderAddr: addr, Err: err}
	}
	return err
}

// timeoutOf is what is left of ctx's deadline, DefaultTimeout without one.
func timeoutOf(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return DefaultTimeout
}
