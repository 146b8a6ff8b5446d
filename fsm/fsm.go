package fsm

import (
	"fmt"
	"sync"
)

// applyFunc applies one decoded command to the state. It validates everything before its first
// change, so a rejection leaves the state as it was.
type applyFunc func(s *state, c Command) *Error

// FSM is the replicated state machine. It is safe for concurrent use by one writer (Apply,
// Restore) and many readers.
type FSM struct {
	mu       sync.RWMutex
	st       *state
	index    uint64
	watch    chan struct{}
	handlers map[CommandType]applyFunc
}

// New returns an empty FSM at index 0.
func New() *FSM {
	return &FSM{
		st:    newState(),
		watch: make(chan struct{}),
		handlers: map[CommandType]applyFunc{
			TypeRegisterMaster:  handler(applyRegisterMaster),
			TypeRemoveMaster:    handler(applyRemoveMaster),
			TypeRegisterWorker:  handler(applyRegisterWorker),
			TypeDeleteWorker:    handler(applyDeleteWorker),
			TypeAddSource:       handler(applyAddSource),
			TypeDeleteSource:    handler(applyDeleteSource),
			TypeBindSource:      handler(applyBindSource),
			TypeUnbindSource:    handler(applyUnbindSource),
			TypeStartRelay:      handler(applyStartRelay),
			TypeStopRelay:       handler(applyStopRelay),
			TypeSetRelayStage:   handler(applySetRelayStage),
			TypeAddTask:         handler(applyAddTask),
			TypeDeleteSubtasks:  handler(applyDeleteSubtasks),
			TypeSetSubtaskStage: handler(applySetSubtaskStage),
			TypeSetLoadWorker:   handler(applySetLoadWorker),

			TypeReportShardDDL:    handler(applyReportShardDDL),
			TypeShardDDLDone:      handler(applyShardDDLDone),
			TypeUnlockShardDDL:    handler(applyUnlockShardDDL),
			TypeClaimShardColumns: handler(applyClaimShardColumns),

			TypeSetClusterKey: handler(applySetClusterKey),
			TypeRekeySecrets:  handler(applyRekeySecrets),

			TypeSetBinlogOps:    handler(applySetBinlogOps),
			TypeRevertBinlogOps: handler(applyRevertBinlogOps),
			TypeBinlogOpDone:    handler(applyBinlogOpDone),
			TypeUpdateSource:    handler(applyUpdateSource),
			TypeUpdateTask:      handler(applyUpdateTask),
		},
	}
}

// handler adapts a typed apply function to the dispatcher. Decode hands out pointers, so the
// assertion only fails if New registers a function under the wrong type, which the tests catch.
func handler[P Command](fn func(*state, P) *Error) applyFunc {
	return func(s *state, c Command) *Error { return fn(s, c.(P)) }
}

// Apply decodes and applies the log entry at index. It returns nil, or the *Error that rejected
// the command; either way the FSM moves to index and wakes its watchers.
//
// It panics on an entry it cannot decode (unknown envelope version or command type, bad JSON): a
// replica that skipped it would silently diverge from one that understood it, so it must stop.
func (f *FSM) Apply(index uint64, data []byte) error {
	c, err := Decode(data)
	if err != nil {
		panic(fmt.Errorf("fsm: log entry %d cannot be applied: %w", index, err))
	}
	apply, ok := f.handlers[c.CommandType()]
	if !ok {
		panic(fmt.Errorf("fsm: log entry %d: no handler for %s", index, c.CommandType()))
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	rejected := apply(f.st, c)
	f.advanceLocked(index)
	if rejected != nil {
		return rejected
	}
	return nil
}

// advanceLocked moves the FSM to index and wakes everyone waiting on Watch.
func (f *FSM) advanceLocked(index uint64) {
	f.index = index
	close(f.watch)
	f.watch = make(chan struct{})
}

// Index is the index of the last applied log entry or restored snapshot.
func (f *FSM) Index() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.index
}

// Watch returns a channel that is closed at the next Apply or Restore. For a blocking query,
// read Index, take Watch, re-check the state, then wait: a change between the first read and
// Watch is then never missed.
func (f *FSM) Watch() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.watch
}
