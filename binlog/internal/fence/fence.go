// Package fence keeps two runs of one binlog unit (sync, load) of one (task, source) from
// writing to the target at once, on the target itself. A worker frozen or cut off past its
// lease wakes up still holding a batch, while the masters have bound its source to another
// worker. Each run claims the (task, source) with an epoch that grows with every binding
// (dm-worker gives the Raft index of a desired state that binds it); the claim raises the epoch
// of every slot row of the (task, source) in the unit's owner table, and every transaction of a
// run first reads its slot's row with a locking read. The locks order the two runs on the
// target:
//
//   - a transaction of the old run that holds its slot's lock finishes first (the claim waits
//     for it), and the new run then reads the checkpoint that transaction wrote;
//   - a transaction of the old run that starts after the claim reads the new epoch and rolls
//     back with ErrSuperseded, before it changed anything.
//
// Each of a run's connections that writes in parallel has its own slot (no contention between
// them); the run's control connection has slot Control.
//
// A run frozen in the middle of a transaction holds its slot's lock until the target drops its
// connection. Each slot row records the connection registered for it, so a claim that waits too
// long kills the older runs' connections (KILL needs no privilege for one's own user's
// connections) and tries again: their transactions roll back, and they find the new epoch when
// they retry.
//
// The package never imports master/, worker/, restapi/ or fsm/.
package fence

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// ErrSuperseded is returned (wrapped) when another run claimed the (task, source) with a higher
// epoch: this run must stop writing, and nothing it held back was applied.
var ErrSuperseded = errors.New("another run took over this source (a higher binding epoch claimed it on the target)")

// Control is the slot of a run's control connection.
const Control = -1

// ClaimLockWait is how long (s) a claim waits for an older run's transaction before it kills
// that run's connections.
const ClaimLockWait = 5

// CreateSQL creates an owner table (its name quoted and qualified).
func CreateSQL(table string) string {
	return "CREATE TABLE IF NOT EXISTS " + table + ` (
  task_name VARCHAR(128) NOT NULL,
  source_name VARCHAR(128) NOT NULL,
  slot INT NOT NULL COMMENT '-1: the control connection; else a connection writing in parallel',
  epoch BIGINT UNSIGNED NOT NULL COMMENT 'binding epoch of the run that owns the source',
  owner VARCHAR(255) NOT NULL DEFAULT '' COMMENT 'the dm-worker of that run',
  conn_id BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'the connection registered for this slot',
  claimed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (task_name, source_name, slot)
)`
}

// Fence is one run's claim. A nil *Fence checks nothing (epoch 0: the caller guarantees one run
// at a time).
type Fence struct {
	table, task, source string
	epoch               uint64
	// where selects the (task, source)'s rows, its values written as literals: the per-batch
	// statements are sent as text, one round trip each, not prepared (three).
	where string
}

// New returns the fence of a run with epoch in the owner table (quoted and qualified); nil for
// epoch 0.
func New(table, task, source string, epoch uint64) *Fence {
	if epoch == 0 {
		return nil
	}
	return &Fence{table: table, task: task, source: source, epoch: epoch,
		where: " WHERE task_name = " + literal(task) + " AND source_name = " + literal(source)}
}

// literal is s as a utf8mb4 string literal that MySQL, MariaDB and TiDB read alike, whatever
// the session's sql_mode (no quote or backslash to escape).
func literal(s string) string { return "_utf8mb4 X'" + hex.EncodeToString([]byte(s)) + "'" }

// Querier is a connection or a transaction.
type Querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Claim takes the (task, source) over for slots Control..slots-1: it raises every slot row's
// epoch to this run's (waiting for the transactions of older runs that hold them, and killing
// their connections when they do not finish within ClaimLockWait: the error returned then is a
// lock wait timeout, to be retried), creating the rows this run needs, with conn as the control
// slot's connection. It fails with ErrSuperseded when a newer run has claimed already.
func (f *Fence) Claim(ctx context.Context, conn *sql.Conn, slots int, owner string) error {
	if f == nil {
		return nil
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION innodb_lock_wait_timeout = %d", ClaimLockWait)); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	defer conn.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = DEFAULT")
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	if err := f.claimInTxn(ctx, conn, slots, owner); err != nil {
		conn.ExecContext(ctx, "ROLLBACK")
		if errorCode(err) == 1205 {
			return f.killOlder(ctx, conn, err)
		}
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	return nil
}

func (f *Fence) claimInTxn(ctx context.Context, conn *sql.Conn, slots int, owner string) error {
	if _, err := conn.ExecContext(ctx, "UPDATE "+f.table+" SET epoch = ?, owner = ?, conn_id = 0, claimed_at = CURRENT_TIMESTAMP(3) "+
		"WHERE task_name = ? AND source_name = ? AND epoch < ?", f.epoch, owner, f.task, f.source, f.epoch); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	values := make([]string, 0, slots+1)
	args := make([]any, 0, 5*(slots+1))
	for slot := Control; slot < slots; slot++ {
		values = append(values, "(?, ?, ?, ?, ?)")
		args = append(args, f.task, f.source, slot, f.epoch, owner)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+f.table+" (task_name, source_name, slot, epoch, owner) VALUES "+
		strings.Join(values, ", ")+" ON DUPLICATE KEY UPDATE epoch = epoch", args...); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	var top uint64
	var by string
	if err := conn.QueryRowContext(ctx, "SELECT epoch, owner FROM "+f.table+" WHERE task_name = ? AND source_name = ? "+
		"ORDER BY epoch DESC LIMIT 1 FOR UPDATE", f.task, f.source).Scan(&top, &by); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	if top > f.epoch {
		return fmt.Errorf("%w: epoch %d of %s is above this run's %d", ErrSuperseded, top, by, f.epoch)
	}
	if _, err := conn.ExecContext(ctx, "UPDATE "+f.table+" SET conn_id = CONNECTION_ID() WHERE task_name = ? AND source_name = ? AND slot = ?",
		f.task, f.source, Control); err != nil {
		return fmt.Errorf("claim the source on the target: %w", err)
	}
	return nil
}

// killOlder kills the connections registered for the slots of older runs, after a claim waited
// for them in vain; it returns the wait's error, which the caller retries (transient).
func (f *Fence) killOlder(ctx context.Context, conn *sql.Conn, waited error) error {
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
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("KILL %d", id)); err != nil && errorCode(err) != 1094 {
			return fmt.Errorf("claim the source on the target: %w (and killing connection %d of the older run: %v)", waited, id, err)
		}
	}
	return fmt.Errorf("claim the source on the target: an older run held it, %d of its connections killed: %w", len(ids), waited)
}

// Check is the locking read a transaction of this run starts with, on its slot's row. It must
// run inside the transaction whose writes it guards.
func (f *Fence) Check(ctx context.Context, q Querier, slot int) error {
	if f == nil {
		return nil
	}
	var epoch uint64
	var by string
	err := q.QueryRowContext(ctx, "SELECT epoch, owner FROM "+f.table+f.where+" AND slot = "+strconv.Itoa(slot)+" FOR UPDATE").Scan(&epoch, &by)
	if errors.Is(err, sql.ErrNoRows) {
		// The claim made every slot's row; only the task's creation or deletion removes them.
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

// Register records a new connection of this run as its slot's, committed at once (outside any
// transaction), so that a later claim can kill it should this run freeze in a transaction.
func (f *Fence) Register(ctx context.Context, conn *sql.Conn, slot int) error {
	if f == nil {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "UPDATE "+f.table+" SET conn_id = CONNECTION_ID()"+f.where+" AND slot = "+strconv.Itoa(slot)+
		" AND epoch = "+strconv.FormatUint(f.epoch, 10)); err != nil {
		return fmt.Errorf("register the connection with the owner fence: %w", err)
	}
	return nil
}

// InTxn runs write in a transaction that starts with the check of slot. Without a fence it runs
// write alone.
func (f *Fence) InTxn(ctx context.Context, conn *sql.Conn, slot int, write func() error) error {
	if f == nil {
		return write()
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	if err := f.Check(ctx, conn, slot); err != nil {
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

// CheckNow is Check in a transaction of its own, before a statement that cannot run in one (a
// DDL commits implicitly): it narrows the window to that statement, it does not close it.
func (f *Fence) CheckNow(ctx context.Context, conn *sql.Conn, slot int) error {
	return f.InTxn(ctx, conn, slot, func() error { return nil })
}

// Reset forgets the owner rows of the task's sources in an owner table, when the task is
// created: the epochs there may come from another cluster (one rebuilt with the checkpoints
// kept), whose Raft indexes say nothing about this one's, and no run of a task being created can
// exist in this cluster yet. A run of an older task of the same name that is still alive finds
// its row gone and stops (ErrSuperseded).
func Reset(ctx context.Context, target *sql.DB, table, task string, sources []string) error {
	if len(sources) == 0 {
		return nil
	}
	args := []any{task}
	marks := make([]string, 0, len(sources))
	for _, s := range sources {
		args = append(args, s)
		marks = append(marks, "?")
	}
	_, err := target.ExecContext(ctx, "DELETE FROM "+table+" WHERE task_name = ? AND source_name IN ("+strings.Join(marks, ", ")+")", args...)
	if err == nil || errorCode(err) == 1049 || errorCode(err) == 1146 { // or no meta schema or owner table yet
		return nil
	}
	return fmt.Errorf("reset the owner fence of task %q: %w", task, err)
}

// errorCode is the MySQL error number in err, 0 when there is none.
func errorCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}
