package store

import (
	"time"

	"github.com/hashicorp/raft"
)

// leadershipPoll is how often observeLeadership re-checks the Raft role between Raft's own
// notifications (one can be missed while a Barrier runs).
const leadershipPoll = time.Second

// observeLeadership follows this node's Raft role. On winning an election it waits for a
// Barrier, so the FSM holds every committed entry before the node answers as the leader, runs
// the OnLeader hook, then reports IsLeader; on losing it, IsLeader turns false at once.
func (s *Store) observeLeadership() {
	defer close(s.done)
	tick := time.NewTicker(leadershipPoll)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.raft.LeaderCh():
		case <-tick.C:
		}
		if s.raft.State() != raft.Leader {
			if s.ready.Swap(false) {
				s.logger.Info("no longer the leader")
				s.notifyLeadership()
			}
			continue
		}
		if s.ready.Load() {
			continue
		}
		if err := s.raft.Barrier(DefaultTimeout).Error(); err != nil {
			s.logger.Warn("leader barrier failed", "err", err)
			continue
		}
		if s.onLeader != nil {
			s.onLeader()
		}
		s.ready.Store(true)
		s.logger.Info("became the leader", "index", s.state.Index())
		s.notifyLeadership()
	}
}

// notifyLeadership wakes the LeaderWatch waiters.
func (s *Store) notifyLeadership() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	close(s.watch)
	s.watch = make(chan struct{})
}

// IsLeader reports whether this node leads and has caught up with the log (its Barrier after
// the election has completed), so its reads are current and its writes may succeed.
func (s *Store) IsLeader() bool {
	return s.ready.Load() && s.raft.State() == raft.Leader
}

// LeaderWatch returns a channel closed at the next change of IsLeader. Take it before reading
// IsLeader so no change is missed.
func (s *Store) LeaderWatch() <-chan struct{} {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	return s.watch
}

// Leader is the leader as Raft knows it on this node: its ID and Raft address, both empty
// while none is known. Unlike IsLeader it does not wait for the Barrier.
func (s *Store) Leader() (id, addr string) {
	a, i := s.raft.LeaderWithID()
	return string(i), string(a)
}

// RaftState is this node's Raft role ("Leader", "Follower", "Candidate", "Shutdown").
func (s *Store) RaftState() string { return s.raft.State().String() }
