package store

import (
	"context"
	"fmt"

	"github.com/hashicorp/raft"
)

// Member is one server of the Raft configuration.
type Member struct {
	ID   string
	Addr string // Raft address
	// Voter is false for a non-voting member (none is added today).
	Voter bool
}

// Members lists the Raft configuration as this node knows it, in configuration order.
func (s *Store) Members() ([]Member, error) {
	cf := s.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return nil, fmt.Errorf("read raft configuration: %w", err)
	}
	var out []Member
	for _, srv := range cf.Configuration().Servers {
		out = append(out, Member{ID: string(srv.ID), Addr: string(srv.Address), Voter: srv.Suffrage == raft.Voter})
	}
	return out, nil
}

// AddVoter adds (or re-addresses) a voting member. Only the leader can; elsewhere it fails
// with ErrNotLeader. ctx's deadline bounds the wait, DefaultTimeout when it has none.
func (s *Store) AddVoter(ctx context.Context, id, addr string) error {
	if err := s.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, timeoutOf(ctx)).Error(); err != nil {
		return fmt.Errorf("add member %q (%s) to the raft configuration: %w", id, addr, s.leadershipError(err))
	}
	return nil
}

// RemoveServer removes a member from the Raft configuration. Only the leader can; elsewhere it
// fails with ErrNotLeader. ctx's deadline bounds the wait, DefaultTimeout when it has none.
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, timeoutOf(ctx)).Error(); err != nil {
		return fmt.Errorf("remove member %q from the raft configuration: %w", id, s.leadershipError(err))
	}
	return nil
}

// Probe checks that addr is the Raft port of a member: it answers and, in a secured cluster,
// completes the mutual TLS handshake with this node's credentials. The leader probes a joining
// master before adding it, so that a join naming a dead or foreign address cannot add a voter
// that would cost the group its quorum.
func (s *Store) Probe(ctx context.Context, addr string) error {
	if s.probe == nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	if err := s.probe(ctx, addr); err != nil {
		return fmt.Errorf("probe the raft port of the new member: %w", err)
	}
	return nil
}
