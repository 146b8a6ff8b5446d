package syncer

import (
	"context"
	"database/sql"

	"github.com/dm-oss/dm/binlog/internal/fence"
	"github.com/dm-oss/dm/binlog/upstream"
)

// The owner fence (binlog/internal/fence) keeps two runs of one subtask from replaying at once:
// Run claims the (task, source) with Config.Epoch before it reads the checkpoint, every replay
// worker's transaction starts with a locking read of the worker's slot, and the control
// connection checks slot fence.Control before each of its operations (the global checkpoint in
// the same transaction).

// ErrSuperseded is returned (wrapped) by Run when another run claimed the (task, source) with
// a higher epoch: this run must stop writing, and nothing it held back was applied.
var ErrSuperseded = fence.ErrSuperseded

// controlSlot is the fence slot of the control connection.
const controlSlot = fence.Control

// ownerTable is `<meta>`.`<task>_syncer_owner`.
func ownerTable(metaSchema, task string) string {
	return upstream.QuoteName(metaSchema) + "." + upstream.QuoteName(task+"_syncer_owner")
}

func newFence(cfg Config) *fence.Fence {
	return fence.New(ownerTable(cfg.MetaSchema, cfg.Task), cfg.Task, cfg.Source, cfg.Epoch)
}

// ResetOwners forgets the sync units' owner fence of the task's sources, when the task is
// created (fence.Reset says why).
func ResetOwners(ctx context.Context, target *sql.DB, metaSchema, task string, sources []string) error {
	return fence.Reset(ctx, target, ownerTable(metaSchema, task), task, sources)
}
