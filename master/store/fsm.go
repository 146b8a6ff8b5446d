package store

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/dm-oss/dm/fsm"
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
