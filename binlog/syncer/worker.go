package syncer

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dm-oss/dm/binlog/internal/retry"
	"github.com/dm-oss/dm/binlog/internal/session"
)

// worker applies the jobs of one queue: up to Batch row changes per target transaction,
// together with its progress row.
type worker struct {
	id   int
	r    *run
	ch   chan job
	conn *sql.Conn
	buf  []byte
}

// run takes jobs until the run ends. A batch is committed when it is full, when the queue is
// empty (the worker never waits for more rows while holding some), or on a flush request.
func (w *worker) run() {
	ctx := w.r.ctx
	batch := make([]job, 0, w.r.s.cfg.Batch)
	for {
		var j job
		select {
		case j = <-w.ch:
		case <-ctx.Done():
			return
		}
	fill:
		for {
			if j.flush != nil {
				err := w.commit(batch)
				clear(batch)
				batch = batch[:0]
				j.flush <- err
				if err != nil {
					w.r.cancel(err)
					return
				}
				break fill
			}
			batch = append(batch, j)
			if len(batch) >= w.r.s.cfg.Batch {
				break fill
			}
			select {
			case j = <-w.ch:
				continue
			default:
				break fill
			}
		}
		if len(batch) > 0 {
			if err := w.commit(batch); err != nil {
				w.r.cancel(err)
				return
			}
			clear(batch)
			batch = batch[:0]
		}
	}
}

// commit applies a batch and its progress row in one target transaction. Transient errors
// are retried on a new connection, after checking the progress row: if the lost COMMIT had in
// fact landed, the batch is not applied twice. While it retries, Status says so.
func (w *worker) commit(batch []job) error {
	if len(batch) == 0 {
		return nil
	}
	r := w.r
	s := r.s
	ctx := r.ctx
	last := batch[len(batch)-1]
	target := progress{Loc: last.txn.start, Rows: last.idx + 1}
	stmts, groups := w.build(batch)
	cp := upsertSQL(s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source, cpRow{
		workerID: w.id, loc: target.Loc, rows: target.Rows, workerCount: s.cfg.Workers, eventTS: int64(last.txn.ts),
	})
	began := time.Now()
	deadline := began.Add(s.cfg.RetryFor)
	backoff := retry.Backoff{First: 50 * time.Millisecond, Max: 5 * time.Second}
	retryKey := ""
	defer func() {
		if retryKey != "" {
			s.retries.Done(retryKey)
		}
	}()
	for {
		failed, err := w.exec(ctx, stmts, cp)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if !isTransient(err) {
			what := "write progress"
			if failed < len(groups) {
				g := groups[failed]
				what = fmt.Sprintf("%s %d row(s) into %s", jobTypeNames[g.kind], g.rows, g.ti.qTarget)
			}
			return fmt.Errorf("replay worker %d: %s (binlog transaction at %s): %w", w.id, what, last.txn.start.String(), err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replay worker %d: gave up after retrying for %v: %w", w.id, s.cfg.RetryFor, err)
		}
		retryKey = fmt.Sprintf("worker %d", w.id)
		s.retries.Failed(retryKey, fmt.Errorf("replay worker %d: apply %d row change(s) up to the binlog transaction at %s: %w", w.id, len(batch), last.txn.start.String(), err))
		s.log.Warn("transient target error, retrying the batch", "queue", w.id, "error", err, "backoff", backoff.Next())
		if err := backoff.Wait(ctx); err != nil {
			return context.Cause(ctx)
		}
		session.Discard(w.conn)
		w.conn = nil
		c, err := session.Open(ctx, r.db, targetSession)
		if err != nil {
			continue
		}
		w.conn = c
		p, err := readWorkerProgress(ctx, c, s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source, w.id)
		if err == nil && p.Loc.File == target.Loc.File && p.Loc.Pos == target.Loc.Pos && p.Rows == target.Rows {
			s.log.Info("the interrupted batch had been committed", "queue", w.id)
			break
		}
	}
	s.metrics.txnDuration[w.id].Observe(time.Since(began).Seconds())
	for _, g := range groups {
		s.metrics.finished(jobTypeNames[g.kind], w.id, g.ti.target.Schema, g.ti.target.Table).Add(float64(g.rows))
	}
	return nil
}

// exec runs one batch; failed is the index of the statement that failed (len(stmts) for the
// progress row or the transaction control).
func (w *worker) exec(ctx context.Context, stmts []string, cp string) (failed int, err error) {
	if w.conn == nil {
		c, err := session.Open(ctx, w.r.db, targetSession)
		if err != nil {
			return len(stmts), err
		}
		w.conn = c
	}
	c := w.conn
	if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
		return len(stmts), err
	}
	for i, q := range stmts {
		if _, err := c.ExecContext(ctx, q); err != nil {
			c.ExecContext(ctx, "ROLLBACK")
			return i, err
		}
	}
	if _, err := c.ExecContext(ctx, cp); err != nil {
		c.ExecContext(ctx, "ROLLBACK")
		return len(stmts), err
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return len(stmts), err
	}
	return 0, nil
}

// group is a run of jobs one statement (or statement pair) applies.
type group struct {
	kind uint8
	ti   *tableInfo
	rows int
}

// build turns a batch into statements: consecutive INSERTs into one table become one
// multi-row INSERT (REPLACE in safe mode), consecutive DELETEs by key one DELETE, UPDATEs one
// statement each (DELETE + REPLACE in safe mode). Keyless tables: UPDATE/DELETE with a
// NULL-safe full-row WHERE and LIMIT 1.
func (w *worker) build(batch []job) ([]string, []group) {
	// The batch commits as one transaction, so changes to different target tables may be
	// applied in any order: group them by table (keeping each table's order) so that the
	// INSERTs of interleaved source transactions become multi-row statements.
	slices.SortStableFunc(batch, func(a, b job) int { return strings.Compare(a.ti.qTarget, b.ti.qTarget) })
	var stmts []string
	var groups []group
	maxLen := w.r.tgt.maxStatement
	for i := 0; i < len(batch); {
		j := batch[i]
		ti := j.ti
		b := w.buf[:0]
		n := 1
		switch {
		case j.kind == jobInsert:
			if j.safe {
				b = append(b, "REPLACE INTO "...)
			} else {
				b = append(b, "INSERT INTO "...)
			}
			b = append(b, ti.qTarget...)
			b = append(b, ' ')
			b = append(b, ti.colList...)
			b = append(b, " VALUES "...)
			b = w.appendRow(b, ti, j.after)
			for i+n < len(batch) && len(b) < maxLen {
				k := batch[i+n]
				if k.kind != jobInsert || k.ti != ti || k.safe != j.safe {
					break
				}
				b = append(b, ',')
				b = w.appendRow(b, ti, k.after)
				n++
			}
			stmts = append(stmts, string(b))
		case j.kind == jobDelete && ti.key != nil:
			b = append(b, "DELETE FROM "...)
			b = append(b, ti.qTarget...)
			b = append(b, " WHERE "...)
			single := len(ti.key) == 1
			if single {
				b = append(b, ti.cols[ti.key[0]].quoted...)
				b = append(b, " IN ("...)
				b = ti.cols[ti.key[0]].appendLiteral(b, j.before[ti.key[0]])
			} else {
				b = w.appendKeyCond(b, ti, j.before)
			}
			for i+n < len(batch) && len(b) < maxLen {
				k := batch[i+n]
				if k.kind != jobDelete || k.ti != ti {
					break
				}
				if single {
					b = append(b, ',')
					b = ti.cols[ti.key[0]].appendLiteral(b, k.before[ti.key[0]])
				} else {
					b = append(b, " OR "...)
					b = w.appendKeyCond(b, ti, k.before)
				}
				n++
			}
			if single {
				b = append(b, ')')
			}
			stmts = append(stmts, string(b))
		case j.kind == jobDelete:
			b = append(b, "DELETE FROM "...)
			b = append(b, ti.qTarget...)
			b = append(b, " WHERE "...)
			b = w.appendRowCond(b, ti, j.before)
			b = append(b, " LIMIT 1"...)
			stmts = append(stmts, string(b))
		case j.safe: // update in safe mode, keyed table
			b = append(b, "DELETE FROM "...)
			b = append(b, ti.qTarget...)
			b = append(b, " WHERE "...)
			b = w.appendKeyCond(b, ti, j.before)
			stmts = append(stmts, string(b))
			b = b[:0]
			b = append(b, "REPLACE INTO "...)
			b = append(b, ti.qTarget...)
			b = append(b, ' ')
			b = append(b, ti.colList...)
			b = append(b, " VALUES "...)
			b = w.appendRow(b, ti, j.after)
			stmts = append(stmts, string(b))
			// one group, two statements: keep the indexes of groups and statements aligned
			groups = append(groups, group{kind: j.kind, ti: ti, rows: 0})
		default: // update
			b = append(b, "UPDATE "...)
			b = append(b, ti.qTarget...)
			b = append(b, " SET "...)
			for k, c := range ti.writable {
				if k > 0 {
					b = append(b, ',')
				}
				b = append(b, ti.cols[c].quoted...)
				b = append(b, '=')
				b = ti.cols[c].appendLiteral(b, j.after[c])
			}
			b = append(b, " WHERE "...)
			if ti.key != nil {
				b = w.appendKeyCond(b, ti, j.before)
			} else {
				b = w.appendRowCond(b, ti, j.before)
				b = append(b, " LIMIT 1"...)
			}
			stmts = append(stmts, string(b))
		}
		w.buf = b
		groups = append(groups, group{kind: j.kind, ti: ti, rows: n})
		i += n
	}
	return stmts, groups
}

func (w *worker) appendRow(b []byte, ti *tableInfo, row []any) []byte {
	b = append(b, '(')
	for k, c := range ti.writable {
		if k > 0 {
			b = append(b, ',')
		}
		b = ti.cols[c].appendLiteral(b, row[c])
	}
	return append(b, ')')
}

// appendKeyCond writes (k1 = v1 AND k2 = v2) for the identity key.
func (w *worker) appendKeyCond(b []byte, ti *tableInfo, row []any) []byte {
	b = append(b, '(')
	for k, c := range ti.key {
		if k > 0 {
			b = append(b, " AND "...)
		}
		b = append(b, ti.cols[c].quoted...)
		b = append(b, " = "...)
		b = ti.cols[c].appendLiteral(b, row[c])
	}
	return append(b, ')')
}

// appendRowCond writes a NULL-safe comparison of every written column.
func (w *worker) appendRowCond(b []byte, ti *tableInfo, row []any) []byte {
	for k, c := range ti.writable {
		if k > 0 {
			b = append(b, " AND "...)
		}
		col := &ti.cols[c]
		b = append(b, col.quoted...)
		b = append(b, " <=> "...)
		if col.kind == kJSON && w.r.tgt.flavor != "mariadb" && row[c] != nil {
			b = append(b, "CAST("...)
			b = col.appendLiteral(b, row[c])
			b = append(b, " AS JSON)"...)
			continue
		}
		b = col.appendLiteral(b, row[c])
	}
	return b
}
