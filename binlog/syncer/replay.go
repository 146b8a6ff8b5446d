package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/internal/backoff"

	"github.com/dm-oss/dm/binlog/internal/session"
)

// replayWorker applies the jobs of one queue through the Applier: up to Batch row changes per
// target transaction, together with its progress row.
type replayWorker struct {
	id      int
	r       *run
	ch      chan job
	changes []Change
}

// run takes jobs until the run ends. A batch is committed when it is full, when the queue is
// empty (the worker never waits for more rows while holding some), or on a flush request.
func (w *replayWorker) run() {
	ctx := w.r.ctx
	batch := make([]job, 0, w.r.s.cfg.Batch)
	for {
		var j job
		select {
		case j = <-w.ch:
		case <-ctx.Done():
			return
		}
		var flush chan<- error
		batch, flush = w.fill(batch, j)
		err := w.commit(batch)
		clear(batch)
		batch = batch[:0]
		if flush != nil {
			flush <- err
		}
		if err != nil {
			w.r.cancel(err)
			return
		}
	}
}

// fill adds j and whatever else is queued to batch, up to Batch jobs or a flush request.
func (w *replayWorker) fill(batch []job, j job) ([]job, chan<- error) {
	for {
		if j.flush != nil {
			return batch, j.flush
		}
		batch = append(batch, j)
		if len(batch) >= w.r.s.cfg.Batch {
			return batch, nil
		}
		select {
		case j = <-w.ch:
		default:
			return batch, nil
		}
	}
}

// commit applies a batch and its progress row in one target transaction. A batch the target
// rejects is applied again one binlog event at a time, to find the event it rejects.
func (w *replayWorker) commit(batch []job) error {
	if len(batch) == 0 {
		return nil
	}
	rejected, err := w.apply(batch)
	if rejected {
		return w.isolate(batch, err)
	}
	return err
}

// isolate applies a batch the target rejected one binlog event at a time, each with the
// worker's progress through it, so that the events before the one the target rejects are
// committed and Run stops with an EventError naming it.
func (w *replayWorker) isolate(batch []job, cause error) error {
	for first := true; len(batch) > 0; first = false {
		n := 1
		for n < len(batch) && batch[n].txn == batch[0].txn && batch[n].ev == batch[0].ev {
			n++
		}
		err := cause
		if !first || n < len(batch) {
			var rejected bool
			if rejected, err = w.apply(batch[:n]); !rejected {
				if err != nil {
					return err
				}
				batch = batch[n:]
				continue
			}
		}
		j := batch[0]
		return w.r.eventError(j.txn, j.ev, "", fmt.Errorf("replay worker %d: %w", w.id, err))
	}
	w.r.s.log.Warn("the target rejected a batch whose binlog events it took one by one", "queue", w.id, "error", cause)
	return nil
}

// apply applies jobs and the worker's progress through them in one target transaction.
// Transient errors are retried, after checking the progress row: if the lost COMMIT had in fact
// landed, the jobs are not applied twice. While it retries, Status says so. rejected says the
// target refused them (an error no retry cures).
func (w *replayWorker) apply(batch []job) (rejected bool, err error) {
	r := w.r
	s := r.s
	ctx := r.ctx
	last := batch[len(batch)-1]
	target := progress{Loc: last.txn.start, Rows: last.idx + 1}
	w.changes = w.changes[:0]
	for _, j := range batch {
		w.changes = append(w.changes, j.Change)
	}
	b := Batch{Worker: w.id, Changes: w.changes, Checkpoint: upsertSQL(s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source, cpRow{
		workerID: w.id, loc: target.Loc, rows: target.Rows, workerCount: s.cfg.Workers, eventTS: int64(last.txn.ts), upstream: s.cfg.UpstreamID,
	}), fence: r.fence}
	began := time.Now()
	deadline := began.Add(s.cfg.RetryFor)
	wait := backoff.Backoff{First: 50 * time.Millisecond, Max: 5 * time.Second}
	key := fmt.Sprintf("worker %d", w.id)
	defer s.retries.Done(key)
	s.metrics.txnBatch[w.id].Observe(float64(len(b.Changes)))
	for {
		attempt := time.Now()
		err := r.applier.Apply(ctx, b)
		s.metrics.queryDuration[w.id].Observe(time.Since(attempt).Seconds())
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		if errors.Is(err, ErrSuperseded) {
			return false, err // not the batch's fault: this run must stop
		}
		if !binlog.IsTransient(err) {
			return true, err
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("replay worker %d: gave up after retrying for %v: %w", w.id, s.cfg.RetryFor, err)
		}
		s.metrics.retries.Inc()
		s.retries.Failed(key, fmt.Errorf("replay worker %d: apply %d row change(s) up to the binlog transaction at %s: %w", w.id, len(batch), last.txn.start.String(), err))
		s.log.Warn("transient target error, retrying the batch", "queue", w.id, "error", err, "backoff", wait.Next())
		if err := wait.Wait(ctx); err != nil {
			return false, context.Cause(ctx)
		}
		if w.landed(ctx, target) {
			s.log.Info("the interrupted batch had been committed", "queue", w.id)
			break
		}
	}
	s.metrics.txnDuration[w.id].Observe(time.Since(began).Seconds())
	w.count(b.Changes)
	return false, nil
}

// landed reads the worker's progress row, waiting for a commit still in flight on the lost
// connection: true when the batch ending at target was committed after all.
func (w *replayWorker) landed(ctx context.Context, target progress) bool {
	s := w.r.s
	c, err := session.Open(ctx, w.r.db, targetSession)
	if err != nil {
		return false
	}
	defer session.Discard(c)
	p, err := readWorkerProgress(ctx, c, s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source, w.id)
	return err == nil && p.Loc.File == target.Loc.File && p.Loc.Pos == target.Loc.Pos && p.Rows == target.Rows
}

// count adds the applied changes to the finished-jobs metric, one Add per run of one kind
// into one table.
func (w *replayWorker) count(changes []Change) {
	for i := 0; i < len(changes); {
		c := changes[i]
		n := 1
		for i+n < len(changes) && changes[i+n].Kind == c.Kind && changes[i+n].Table == c.Table {
			n++
		}
		w.r.s.metrics.finished(c.Kind, w.id, c.Table.target.Schema, c.Table.target.Table).Add(float64(n))
		i += n
	}
}
