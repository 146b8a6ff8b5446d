// Package fsm owns the replicated cluster state of the dm-master Raft group: the masters and
// workers that registered, the sources with their worker bindings and relay assignments, the
// tasks with the expected stage of each of their subtasks, and the shard-merge DDL coordination of
// those tasks (pessimistic shard locks and optimistic column claims).
//
// Sources and tasks carry their settings as typed, versioned specs (SourceSpec, TaskSpec): plain
// data that the snapshot writes as records and the desired-state feed hands to workers. The FSM
// keeps the invariants of the model (a spec it can read, a task's spec is its own, a new task's
// spec covers every source of its subtasks, the sources of a task exist) and nothing else of
// them: secrets stay encrypted, and turning a spec into the settings of the binlog library is
// worker/settings' job. Logs and snapshots written before specs were typed (version 1, configs
// as opaque bytes) are still read: see legacy.go.
//
// The state also holds the cluster key (SetClusterKey): random bytes that a leader generates once,
// with which a cluster without secret-key-path encrypts its secrets. The FSM only keeps it; the
// masters generate it and hand it to authenticated members. RekeySecrets replaces secrets by the
// same secrets under another key (an upgraded cluster leaving a former key behind).
//
// Every replica applies the same log entries in the same order and must reach the same state, so
// the package is pure state: no clock, no randomness, no I/O, no goroutines, and no knowledge of
// Raft (the master package adapts FSM to hashicorp/raft). Log entries are Commands wrapped by
// Encode in a versioned envelope.
//
// A command is validated in full before anything changes. A rejected command leaves the state
// untouched and returns an *Error carrying DM's numeric error code, identically on every replica.
// Those codes, and the ones the masters, workers and REST layer answer with, are one table here
// (codes.go), the innermost package, so that every package can use it.
// An entry that cannot be decoded panics instead: applying it any other way would let one replica
// silently diverge from the rest.
package fsm
