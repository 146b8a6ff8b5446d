package syncer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dm-oss/dm/binlog/internal/session"
	"github.com/dm-oss/dm/binlog/upstream"
)

// sqlApplier is the default Applier: SQL statements on a MySQL, MariaDB or TiDB target, one
// transaction per batch with its checkpoint statement, on one connection per replay worker.
type sqlApplier struct {
	db *sql.DB

	mu        sync.Mutex
	inspected bool       // target is known
	target    targetInfo // read once, before the first batch
	workers   map[int]*sqlWorker
}

// sqlWorker is one replay worker's connection and statement buffer.
type sqlWorker struct {
	conn *sql.Conn
	buf  []byte
}

// targetInfo is what statements are shaped by.
type targetInfo struct {
	flavor       string // "mariadb", "mysql", "tidb"
	maxStatement int
}

// NewSQLApplier returns the default Applier, writing to target (the Config.Target a Syncer
// would use). It reads the target's flavour and max_allowed_packet on first use.
func NewSQLApplier(target *sql.DB) Applier {
	return &sqlApplier{db: target, workers: map[int]*sqlWorker{}}
}

// inspectTarget reads the target's flavour and the statement size it takes.
func inspectTarget(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (targetInfo, error) {
	var version string
	var maxPacket int64
	if err := q.QueryRowContext(ctx, "SELECT VERSION(), @@max_allowed_packet").Scan(&version, &maxPacket); err != nil {
		return targetInfo{}, fmt.Errorf("inspect target: %w", err)
	}
	return targetInfo{flavor: string(upstream.FlavorOf(version)), maxStatement: int(min(max(maxPacket/2, 1<<20), 16<<20))}, nil
}

// worker returns a replay worker's state, reading the target's flavour first if it is not
// known yet (a target that is away fails the batch, which is retried).
func (a *sqlApplier) worker(ctx context.Context, id int) (*sqlWorker, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.inspected {
		t, err := inspectTarget(ctx, a.db)
		if err != nil {
			return nil, err
		}
		a.target, a.inspected = t, true
	}
	w := a.workers[id]
	if w == nil {
		w = &sqlWorker{}
		a.workers[id] = w
	}
	return w, nil
}

// Apply runs the batch's statements and its checkpoint in one transaction. After an error
// the worker's connection is dropped: the next Apply starts on a new one.
func (a *sqlApplier) Apply(ctx context.Context, b Batch) error {
	w, err := a.worker(ctx, b.Worker)
	if err != nil {
		return err
	}
	stmts, groups := a.build(w, b.Changes)
	failed, err := w.exec(ctx, a.db, b, stmts)
	if err == nil {
		return nil
	}
	session.Discard(w.conn)
	w.conn = nil
	if errors.Is(err, ErrSuperseded) {
		return err
	}
	if failed >= len(groups) {
		return fmt.Errorf("write progress: %w", err)
	}
	g := groups[failed]
	return fmt.Errorf("%s %d row(s) into %s: %w", g.kind, g.rows, g.table.qTarget, &StatementError{Statement: stmts[failed], Err: err})
}

func (a *sqlApplier) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range a.workers {
		session.Discard(w.conn)
		w.conn = nil
	}
}

// exec runs one batch, its fence check first; failed is the index of the statement that failed
// (len(stmts) for the fence, the checkpoint or the transaction control).
func (w *sqlWorker) exec(ctx context.Context, db *sql.DB, b Batch, stmts []string) (failed int, err error) {
	if w.conn == nil {
		c, err := session.Open(ctx, db, targetSession)
		if err != nil {
			return len(stmts), err
		}
		if err := b.fence.Register(ctx, c, b.Worker); err != nil {
			session.Discard(c)
			return len(stmts), err
		}
		w.conn = c
	}
	c := w.conn
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		return len(stmts), err
	}
	if err := b.CheckFence(ctx, c); err != nil {
		c.ExecContext(ctx, "ROLLBACK")
		return len(stmts), err
	}
	for i, q := range stmts {
		if _, err := c.ExecContext(ctx, q); err != nil {
			c.ExecContext(ctx, "ROLLBACK")
			return i, err
		}
	}
	if _, err := c.ExecContext(ctx, b.Checkpoint); err != nil {
		c.ExecContext(ctx, "ROLLBACK")
		return len(stmts), err
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return len(stmts), err
	}
	return 0, nil
}

// group is a run of changes one statement (or statement pair) applies.
type group struct {
	kind  ChangeKind
	table *Table
	rows  int
}

// build turns a batch into statements: consecutive INSERTs into one table become one
// multi-row INSERT (REPLACE in safe mode), consecutive DELETEs by key one DELETE, UPDATEs one
// statement each (DELETE + REPLACE in safe mode). Keyless tables: UPDATE/DELETE with a
// NULL-safe full-row WHERE and LIMIT 1.
func (a *sqlApplier) build(w *sqlWorker, batch []Change) ([]string, []group) {
	// The batch commits as one transaction, so changes to different target tables may be
	// applied in any order: group them by table (keeping each table's order) so that the
	// INSERTs of interleaved source transactions become multi-row statements.
	slices.SortStableFunc(batch, func(x, y Change) int { return strings.Compare(x.Table.qTarget, y.Table.qTarget) })
	var stmts []string
	var groups []group
	for i := 0; i < len(batch); {
		c := batch[i]
		var n int
		switch {
		case c.Kind == ChangeInsert:
			n = a.insert(w, batch[i:])
		case c.Kind == ChangeDelete && c.Table.key != nil:
			n = a.deleteByKey(w, batch[i:])
		case c.Kind == ChangeDelete:
			w.buf = a.deleteRow(w.buf[:0], c)
			n = 1
		case c.Safe: // update in safe mode, keyed table: two statements, one group
			w.buf = a.deleteRow(w.buf[:0], Change{Kind: ChangeDelete, Table: c.Table, Before: c.Before})
			stmts = append(stmts, string(w.buf))
			w.buf = a.row(append(w.buf[:0], "REPLACE INTO "...), c.Table, c.After)
			groups = append(groups, group{kind: c.Kind, table: c.Table})
			n = 1
		default:
			w.buf = a.update(w.buf[:0], c)
			n = 1
		}
		stmts = append(stmts, string(w.buf))
		groups = append(groups, group{kind: c.Kind, table: c.Table, rows: n})
		i += n
	}
	return stmts, groups
}

// insert writes one multi-row INSERT (or REPLACE) of the leading inserts of batch into one
// table, up to the statement size; it returns how many it took.
func (a *sqlApplier) insert(w *sqlWorker, batch []Change) int {
	c := batch[0]
	verb := "INSERT INTO "
	if c.Safe {
		verb = "REPLACE INTO "
	}
	b := a.row(append(w.buf[:0], verb...), c.Table, c.After)
	n := 1
	for n < len(batch) && len(b) < a.target.maxStatement {
		k := batch[n]
		if k.Kind != ChangeInsert || k.Table != c.Table || k.Safe != c.Safe {
			break
		}
		b = appendRow(append(b, ','), k.Table, k.After)
		n++
	}
	w.buf = b
	return n
}

// row writes `db`.`t` (cols) VALUES (row) after the verb in b.
func (a *sqlApplier) row(b []byte, t *Table, row []any) []byte {
	b = append(b, t.qTarget...)
	b = append(b, ' ')
	b = append(b, t.colList...)
	b = append(b, " VALUES "...)
	return appendRow(b, t, row)
}

// deleteByKey writes one DELETE of the leading deletes of batch from one keyed table.
func (a *sqlApplier) deleteByKey(w *sqlWorker, batch []Change) int {
	c := batch[0]
	t := c.Table
	b := append(w.buf[:0], "DELETE FROM "...)
	b = append(b, t.qTarget...)
	b = append(b, " WHERE "...)
	single := len(t.key) == 1
	if single {
		b = append(b, t.cols[t.key[0]].quoted...)
		b = append(b, " IN ("...)
		b = t.cols[t.key[0]].appendLiteral(b, c.Before[t.key[0]])
	} else {
		b = appendKeyCond(b, t, c.Before)
	}
	n := 1
	for n < len(batch) && len(b) < a.target.maxStatement {
		k := batch[n]
		if k.Kind != ChangeDelete || k.Table != t {
			break
		}
		if single {
			b = t.cols[t.key[0]].appendLiteral(append(b, ','), k.Before[t.key[0]])
		} else {
			b = appendKeyCond(append(b, " OR "...), t, k.Before)
		}
		n++
	}
	if single {
		b = append(b, ')')
	}
	w.buf = b
	return n
}

// deleteRow writes the DELETE of one row: by key, or by the whole row (LIMIT 1) for a keyless
// table.
func (a *sqlApplier) deleteRow(b []byte, c Change) []byte {
	b = append(b, "DELETE FROM "...)
	b = append(b, c.Table.qTarget...)
	b = append(b, " WHERE "...)
	if c.Table.key != nil {
		return appendKeyCond(b, c.Table, c.Before)
	}
	b = a.appendRowCond(b, c.Table, c.Before)
	return append(b, " LIMIT 1"...)
}

// update writes the UPDATE of one row.
func (a *sqlApplier) update(b []byte, c Change) []byte {
	t := c.Table
	b = append(b, "UPDATE "...)
	b = append(b, t.qTarget...)
	b = append(b, " SET "...)
	for k, col := range t.writable {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, t.cols[col].quoted...)
		b = append(b, '=')
		b = t.cols[col].appendLiteral(b, c.After[col])
	}
	b = append(b, " WHERE "...)
	if t.key != nil {
		return appendKeyCond(b, t, c.Before)
	}
	b = a.appendRowCond(b, t, c.Before)
	return append(b, " LIMIT 1"...)
}

func appendRow(b []byte, t *Table, row []any) []byte {
	b = append(b, '(')
	for k, c := range t.writable {
		if k > 0 {
			b = append(b, ',')
		}
		b = t.cols[c].appendLiteral(b, row[c])
	}
	return append(b, ')')
}

// appendKeyCond writes (k1 = v1 AND k2 = v2) for the identity key.
func appendKeyCond(b []byte, t *Table, row []any) []byte {
	b = append(b, '(')
	for k, c := range t.key {
		if k > 0 {
			b = append(b, " AND "...)
		}
		b = append(b, t.cols[c].quoted...)
		b = append(b, " = "...)
		b = t.cols[c].appendLiteral(b, row[c])
	}
	return append(b, ')')
}

// appendRowCond writes a NULL-safe comparison of every written column.
func (a *sqlApplier) appendRowCond(b []byte, t *Table, row []any) []byte {
	for k, c := range t.writable {
		if k > 0 {
			b = append(b, " AND "...)
		}
		col := &t.cols[c]
		b = append(b, col.quoted...)
		b = append(b, " <=> "...)
		if col.kind == kJSON && a.target.flavor != "mariadb" && row[c] != nil {
			b = append(b, "CAST("...)
			b = col.appendLiteral(b, row[c])
			b = append(b, " AS JSON)"...)
			continue
		}
		b = col.appendLiteral(b, row[c])
	}
	return b
}
