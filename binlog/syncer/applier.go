package syncer

import (
	"context"
	"database/sql"

	"github.com/dm-oss/dm/binlog/internal/fence"
)

// ChangeKind is what a row change does.
type ChangeKind uint8

// Change kinds; also the index of Table.skip.
const (
	ChangeInsert ChangeKind = iota
	ChangeUpdate
	ChangeDelete
)

var changeKindNames = [3]string{"insert", "update", "delete"}

// String is the kind's name: insert, update or delete.
func (k ChangeKind) String() string { return changeKindNames[k] }

// Change is one row change of the upstream, decoded with the table's definition at its
// position and routed.
type Change struct {
	Kind  ChangeKind
	Table *Table
	// Before and After are the row images in Table's column order (see the package doc for the
	// Go types of the values); Before is nil for an insert, After for a delete.
	Before, After []any
	// Safe: the change may already be in the target (a replay after an unclean stop, or the
	// window of Config.SafeModeUntil): write it so that applying it twice does no harm.
	Safe bool
}

// Batch is what a replay worker applies in one target transaction.
type Batch struct {
	// Worker is the replay worker (0 ≤ Worker < Config.Workers); each worker's batches
	// come one after the other, never concurrently.
	Worker int
	// Changes are the row changes, in the order the worker received them (every change of
	// one row goes to one worker, in binlog order).
	Changes []Change
	// Checkpoint is the statement that records the worker's progress in the target's
	// checkpoint table. It must commit in the same transaction as the changes: the sync unit
	// resumes from it, and after a lost connection reads it to learn whether the batch landed.
	Checkpoint string
	// fence is the run's claim on the source (Config.Epoch); CheckFence reads it.
	fence *fence.Fence
}

// CheckFence is the locking read an Applier runs first in the batch's transaction, on the
// connection of that transaction: when another run has claimed the source since (Config.Epoch)
// it returns an error wrapping ErrSuperseded, and the batch must be rolled back. Without an
// epoch it returns nil at once. An Applier that does not call it gives up the fence.
func (b Batch) CheckFence(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}) error {
	return b.fence.Check(ctx, q, b.Worker)
}

// Applier applies batches to the target. The default (NewSQLApplier) writes multi-row
// INSERTs, DELETEs by key and UPDATEs, in one transaction with the checkpoint statement. A
// tool may wrap it (to filter or transform changes) or write its own, as long as it keeps the
// one promise exact resume rests on: the changes and the checkpoint commit together, or
// neither does. Errors that binlog.IsTransient accepts are retried; others stop the sync unit.
type Applier interface {
	Apply(ctx context.Context, b Batch) error
	// Close releases what the Applier holds; Run calls it when it ends.
	Close()
}
