package syncer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/dm-oss/dm/binlog/upstream"
)

// The owner fence keeps two runs of one (task, source) from writing to the target at once: a
// worker frozen or cut off past its lease wakes up still holding a batch, while the masters have
// bound its source to another worker. Each run claims the source with an epoch that grows with
// every binding (Config.Epoch); the claim raises the epoch of every slot row of the
// (task, source) in <meta>.<task>_syncer_owner, and every transaction of a run first reads its
// slot's row with a locking read. The locks order the two runs on the target itself:
//
//   - a transaction of the old run that holds its slot's lock finishes first (the claim waits
//     for it), and the new run then reads the checkpoint that transaction wrote;
//   - a transaction of the old run that starts after the claim reads the new epoch and rolls
//     back with ErrSuperseded, before it changed anything.
//
// Each replay worker has its own slot (no contention between them); the control connection
// (global checkpoint, DDL) has slot -1.
//
// A run frozen in the middle of a transaction (a hung machine, a partition between it and the
// masters) holds its slot's lock until the target drops its connection. Each slot row records
// the connection that last wrote through it, so a claim that waits too long kills the older
// runs' connections (KILL needs no privilege for one's own user's connections) and tries
// again: their transactions roll back, and they find the new epoch when they retry.

// ErrSuperseded is returned (wrapped) by Run when another run claimed the (task, source) with
// a higher epoch: this run must stop writing, and nothing it held back was applied.
var ErrSuperseded = errors.New("another run took over this source (a higher binding epoch claimed it on the target)")

// controlSlot is the fence slot of the control connection.
const controlSlot = -1

// ownerTable is `<meta>`.`<task>_syncer_owner`.
func ownerTable(metaSchema, task string) string {
	return upstream.QuoteName(metaSchema) + "." + upstream.QuoteName(task+"_syncer_owner")
}

func createOwnerSQL(metaSchema, task string) string {
	return "CREATE TABLE IF NOT EXISTS " + ownerTable(metaSchema, task) + ` (
  task_name VARCHAR(128) NOT NULL,
  source_name VARCHAR(128) NOT NULL,
  slot INT NOT NULL COMMENT '-1: the control connection; else a replay worker',
  epoch BIGINT UNSIGNED NOT NULL COMMENT 'binding epoch of the run that owns the source',
  owner VARCHAR(255) NOT NULL DEFAULT '' COMMENT 'the dm-worker of that run',
  conn_id BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'the connection that last wrote through this slot',
  claimed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (task_name, source_name, slot)
)`
}

// fence is one run's claim. A nil *fence checks nothing (Config.Epoch 0).
type fence struct {
	table, task, source string
	epoch               uint64
}

func newFence(cfg Config) *fence {
	if cfg.Epoch == 0 {
		return nil
	}
	return &fence{table: ownerTable(cfg.MetaSchema, cfg.Task), task: cfg.Task, source: cfg.Source, epoch: cfg.Epoch}
}

// claim takes the (task, source) over for slots -1..workers-1: it raises every slot row's
// epoch to this run's (waiting for the transactions of older runs that hold them), creating
// the rows this run needs. It fails with ErrSuperseded when a newer run has claimed already.
func (f *fence) claim(ctx context.Context, conn *sql.Conn, workers int, owner string) error {
	if f == nil {
		return nil
	}
	// Wait for the older runs' transactions a little, not the server's 50 s: a run that
	// does not finish its transaction by then is stuck, and its connections are killed.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION innodb_lock_wait_timeout = %d", claimLockWait)); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	defer conn.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = DEFAULT")
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	err := f.claimInTxn(ctx, conn, workers, owner)
	if err != nil {
		conn.ExecContext(ctx, "ROLLBACK")
		if mysqlCode(err) == 1205 {
			return f.killOlder(ctx, conn, err)
		}
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	return nil
}

// claimLockWait is how long (s) a claim waits for an older run's transaction.
const claimLockWait = 5

// killOlder kills the connections the slots of older runs last wrote through, after a claim
// waited for them in vain; it returns the wait's error, which the caller retries (transient).
func (f *fence) killOlder(ctx context.Context, conn *sql.Conn, waited error) error {
	rows, err := conn.QueryContext(ctx, "SELECT conn_id FROM "+f.table+" WHERE task_name = ? AND source_name = ? AND epoch < ? AND conn_id > 0",
		f.task, f.source, f.epoch)
	if err != nil {
		return fmt.Errorf("claim the source on the target: %w (and reading the older run's connections: %v)", waited, err)
	}
	var ids []uint64
	for rows.Next() {
		var id uint64
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	for _, id := range ids {
		// 1094: unknown thread, it is gone already.
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("KILL %d", id)); err != nil && mysqlCode(err) != 1094 {
			return fmt.Errorf("claim the source on the target: %w (and killing connection %d of the older run: %v)", waited, id, err)
		}
	}
	return fmt.Errorf("claim the source on the target: an older run held it, %d of its connections killed: %w", len(ids), waited)
}

func (f *fence) claimInTxn(ctx context.Context, conn *sql.Conn, workers int, owner string) error {
	if _, err := conn.ExecContext(ctx, "UPDATE "+f.table+" SET epoch = ?, owner = ?, claimed_at = CURRENT_TIMESTAMP(3) "+
		"WHERE task_name = ? AND source_name = ? AND epoch < ?", f.epoch, owner, f.task, f.source, f.epoch); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	values := make([]string, 0, workers+1)
	args := make([]any, 0, 4*(workers+1))
	for slot := controlSlot; slot < workers; slot++ {
		values = append(values, "(?, ?, ?, ?, ?, 0)")
		args = append(args, f.task, f.source, slot, f.epoch, owner)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+f.table+" (task_name, source_name, slot, epoch, owner, conn_id) VALUES "+
		strings.Join(values, ", ")+" ON DUPLICATE KEY UPDATE epoch = epoch", args...); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	var top uint64
	var by string
	err := conn.QueryRowContext(ctx, "SELECT epoch, owner FROM "+f.table+" WHERE task_name = ? AND source_name = ? "+
		"ORDER BY epoch DESC LIMIT 1 FOR UPDATE", f.task, f.source).Scan(&top, &by)
	if err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	if top > f.epoch {
		return fmt.Errorf("%w: epoch %d of %s is above this run's %d", ErrSuperseded, top, by, f.epoch)
	}
	// The claim's rows now say "this run, no connection yet"; the control connection is one.
	if _, err := conn.ExecContext(ctx, "UPDATE "+f.table+" SET conn_id = IF(slot = ?, CONNECTION_ID(), 0) WHERE task_name = ? AND source_name = ?",
		controlSlot, f.task, f.source); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	return nil
}

// check is the locking read a transaction of this run starts with, on its slot's row. It must
// run inside the transaction whose writes it guards.
func (f *fence) check(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, slot int) error {
	if f == nil {
		return nil
	}
	var epoch uint64
	var by string
	err := q.QueryRowContext(ctx, "SELECT epoch, owner FROM "+f.table+" WHERE task_name = ? AND source_name = ? AND slot = ? FOR UPDATE",
		f.task, f.source, slot).Scan(&epoch, &by)
	if errors.Is(err, sql.ErrNoRows) {
		// The claim made every slot's row; only a deleted task's cleanup removes them.
		return fmt.Errorf("%w: the owner row of slot %d is gone", ErrSuperseded, slot)
	}
	if err != nil {
		return fmt.Errorf("check the owner fence: %w", err)
	}
	if epoch != f.epoch {
		return fmt.Errorf("%w: epoch %d of %s, this run's is %d", ErrSuperseded, epoch, by, f.epoch)
	}
	return nil
}

// register records a new connection of this run as its slot's, committed at once (outside any
// transaction), so that a later claim can kill it should this run freeze in a transaction.
func (f *fence) register(ctx context.Context, conn *sql.Conn, slot int) error {
	if f == nil {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "UPDATE "+f.table+" SET conn_id = CONNECTION_ID() WHERE task_name = ? AND source_name = ? AND slot = ? AND epoch = ?",
		f.task, f.source, slot, f.epoch); err != nil {
		return fmt.Errorf("register the connection with the owner fence: %w", err)
	}
	return nil
}

// inTxn runs write in a transaction that starts with the fence check of slot: the guarded
// write of the control connection (the global checkpoint). Without a fence it runs write alone.
func (f *fence) inTxn(ctx context.Context, conn *sql.Conn, slot int, write func() error) error {
	if f == nil {
		return write()
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	if err := f.check(ctx, conn, slot); err != nil {
		conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	if err := write(); err != nil {
		conn.ExecContext(ctx, "ROLLBACK")
		return err
	}
	_, err := conn.ExecContext(ctx, "COMMIT")
	return err
}

// checkNow is check in a transaction of its own, before a statement that cannot run in one
// (a DDL commits implicitly): it narrows the window to that statement, it does not close it.
func (f *fence) checkNow(ctx context.Context, conn *sql.Conn, slot int) error {
	return f.inTxn(ctx, conn, slot, func() error { return nil })
}

// ResetOwners forgets the owner fence of the task's sources on the target, when the task is
// created: the epochs there may come from another cluster (one rebuilt with the checkpoints
// kept), whose Raft indexes say nothing about this one's, and no run of a task being created
// can exist in this cluster yet. A run of an older task of the same name that is still alive
// finds its row gone and stops (ErrSuperseded).
func ResetOwners(ctx context.Context, target *sql.DB, metaSchema, task string, sources []string) error {
	if len(sources) == 0 {
		return nil
	}
	args := []any{task}
	marks := make([]string, 0, len(sources))
	for _, s := range sources {
		args = append(args, s)
		marks = append(marks, "?")
	}
	_, err := target.ExecContext(ctx, "DELETE FROM "+ownerTable(metaSchema, task)+" WHERE task_name = ? AND source_name IN ("+
		strings.Join(marks, ", ")+")", args...)
	switch mysqlCode(err) {
	case 0, 1049, 1146: // done, or no meta schema or owner table yet
		return nil
	}
	return fmt.Errorf("reset the owner fence of task %q: %w", task, err)
}
