package syncer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dm-oss/dm/binlog/internal/fence"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
)

// txnInfo is one source transaction (a DML transaction or a DDL).
type txnInfo struct {
	start binlog.Location // where its first event (GTID, BEGIN) starts
	ts    uint32          // upstream timestamp
	// skip: skipNone, skipAll (fully applied before), skipCheck (compare each job with its
	// worker's progress)
	skip       uint8
	safe       bool
	standalone bool // a DDL without BEGIN/COMMIT around it
	sawBegin   bool
	mariadb    bool   // began with a MariaDB GTID event
	eventGTID  string // its own GTID, "" without one (named in the errors of its events)
	// gtid is the GTID set at start, kept while a moved plan still matches transactions.
	gtid gmysql.GTIDSet
}

const (
	skipNone uint8 = iota
	skipAll
	skipCheck
)

// job is one row change for a replay worker, or a flush request (flush != nil).
type job struct {
	Change
	txn   *txnInfo
	idx   uint64 // index among the jobs of txn that go to this worker
	ev    uint32 // where its ROWS event starts, in txn's file
	flush chan<- error
}

// plan is what the checkpoint rows say about the stream being replayed.
type plan struct {
	// low: transactions starting before it are applied everywhere.
	low binlog.Location
	// exact: skip[w] is worker w's progress (raised to low), valid for this worker count.
	exact     bool
	skip      []progress
	skipUntil binlog.Location
	skipping  bool
	// safe mode for the transactions starting at or before safeUntil.
	safeUntil binlog.Location
	// ddlEnd: the DDL ending there may have been applied before an unclean stop.
	ddlEnd binlog.Location
	// moved: the checkpoint was written reading another upstream server; the plan's
	// locations are compared with the stream's by GTID set (moved.go). Nil otherwise.
	moved *movedPlan
}

// run is the state of one Run.
type run struct {
	s      *Syncer
	parent context.Context // Run's context: when it ends, the dispatcher stops waiting
	ctx    context.Context // cancelled on failure, or right after the final flush
	cancel context.CancelCauseFunc
	db     *sql.DB
	// control is the control connection (checkpoint, DDL, online DDL, shard lock).
	control *control
	tgt     targetInfo
	// fence is this run's claim on the (task, source); nil without Config.Epoch.
	fence *fence.Fence

	workers     []*replayWorker
	applier     Applier
	workerDirty []bool
	wg          sync.WaitGroup

	plan plan

	position // where the reader is
	txn      *txnInfo
	evPos    uint32 // where the ROWS event being dispatched starts
	// dropping: the ROWS event being dispatched is skipped or replaced by an operation; its
	// jobs are numbered, not sent.
	dropping bool
	// filtered: the ROWS event just handled was dropped by the filters (skip_binlog_duration).
	filtered bool
	// lastGlobalWrite is when the global checkpoint was last written (flush_checkpoints_time_interval).
	lastGlobalWrite time.Time
	lastTxnEnd      binlog.Location
	lastTxnTS       uint32
	txnIdx          []uint64
	touched         []int

	decoder   *tableDecoder
	conflicts map[string]int
	keyBuf    []byte
	keyBuf2   []byte

	// global checkpoint
	g          binlog.Location
	safeUntil  binlog.Location // persisted in the global row while ahead
	ddlMarker  binlog.Location
	dirty      bool
	pendingTS  uint32
	lastFlush  time.Time
	eventsTick int

	// ddls filters and renders DDL for the target
	ddls *ddlRewriter
	// online handles gh-ost's and pt-osc's DDL (Config.OnlineDDL); nil without
	online *onlineDDL

	// shard merge (Config.ShardMode); nil in a plain task
	shard *shardMerge

	// schema tracker (Config.Tracker)
	trackerAt binlog.Location // DDLs starting before it are in the restored state
	txnSnap   []byte          // state before the open transaction's first DDL
	lastSnap  []byte          // state last written to the global row
	snapCache []byte          // the current state, valid unless trackerDirty
	// trackerDirty: the tracker may have changed since snapCache
	trackerDirty bool
}

// Run replays the events of r, which the caller opened at start (normally ResumeLocation,
// or the task's start position the first time), until ctx ends or an error stops it. When
// ctx ends, the workers commit what they hold and the checkpoint is flushed before Run
// returns ctx.Err(). Other errors are either the reader's, or a target error that is not
// transient (or stayed for Config.RetryFor): the subtask should pause; running again
// resumes from the checkpoint.
func (s *Syncer) Run(ctx context.Context, rd binlog.Reader, start binlog.Location) (err error) {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("syncer: Run is already running")
	}
	defer s.running.Store(false)
	defer func() {
		s.retries.Clear()
		if err != nil && ctx.Err() == nil {
			s.metrics.exitErrors.Inc()
			s.log.Error("sync unit stopped", "error", err)
		}
		s.mu.Lock()
		s.st.running = false
		s.st.stopped = time.Now()
		s.mu.Unlock()
	}()

	db := s.cfg.Target
	db.SetMaxIdleConns(s.cfg.Workers + 4)

	r := &run{
		s: s, db: db,
		workerDirty: make([]bool, s.cfg.Workers),
		txnIdx:      make([]uint64, s.cfg.Workers),
		decoder:     newTableDecoder(s, db),
		conflicts:   map[string]int{},
		control:     &control{db: db, retries: &s.retries, retryFor: s.cfg.RetryFor, log: s.log},
		applier:     s.cfg.Applier,
		fence:       newFence(s.cfg),
	}
	if r.applier == nil {
		r.applier = NewSQLApplier(db)
	}
	r.parent = ctx
	r.ctx, r.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	defer r.cancel(nil)
	defer r.control.close()
	if err := r.setup(ctx, start); err != nil {
		return err
	}

	stopWorkers := r.startWorkers()
	defer stopWorkers()
	evCh, readErr, stopReader := r.startReader(ctx, rd)
	defer stopReader()
	defer goUntil(ctx, s.watch)()
	if s.cfg.Upstream != nil {
		defer goUntil(ctx, s.pollMaster)()
	}
	return r.loop(ctx, evCh, readErr)
}

var errStopped = errors.New("sync unit stopped")

// startWorkers starts the replay workers; the function it returns stops them and closes the
// Applier.
func (r *run) startWorkers() func() {
	for i := 0; i < r.s.cfg.Workers; i++ {
		r.workers = append(r.workers, &replayWorker{id: i, r: r, ch: make(chan job, max(4*r.s.cfg.Batch, 256))})
	}
	for _, w := range r.workers {
		r.wg.Go(w.run)
	}
	return func() {
		r.cancel(errStopped)
		r.wg.Wait()
		r.applier.Close()
	}
}

// startReader reads events in a goroutine of their own, so that parsing overlaps
// dispatching; the function it returns stops it.
func (r *run) startReader(ctx context.Context, rd binlog.Reader) (<-chan *replication.BinlogEvent, <-chan error, func()) {
	readCtx, stopRead := context.WithCancel(ctx)
	evCh := make(chan *replication.BinlogEvent, 1024)
	readErr := make(chan error, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			began := time.Now()
			ev, err := rd.Next(readCtx)
			r.s.metrics.readBinlog.Observe(time.Since(began).Seconds())
			if err != nil {
				readErr <- err
				return
			}
			select {
			case evCh <- ev:
			case <-readCtx.Done():
				return
			}
		}
	}()
	return evCh, readErr, func() {
		stopRead()
		select {
		case <-readDone:
		case <-time.After(5 * time.Second):
			r.s.log.Warn("the binlog reader did not return after its context ended")
		}
	}
}

// goUntil runs f in a goroutine with a context of its own; the function it returns cancels
// that context and waits for f to return.
func goUntil(ctx context.Context, f func(context.Context)) func() {
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(fctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// loop dispatches events until ctx ends or something fails.
func (r *run) loop(ctx context.Context, evCh <-chan *replication.BinlogEvent, readErr <-chan error) error {
	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return r.stop(ctx)
		case <-r.ctx.Done():
			return context.Cause(r.ctx)
		case err := <-readErr:
			if ctx.Err() != nil {
				return r.stop(ctx)
			}
			return fmt.Errorf("read binlog: %w", err)
		case ev := <-evCh:
			r.eventsTick++
			if err := r.handleTimed(ev); err != nil {
				if ctx.Err() != nil && errors.Is(err, errStopped) {
					return r.stop(ctx)
				}
				return err
			}
		case now := <-ticker.C:
			if err := r.tick(now); err != nil {
				return err
			}
		}
	}
}

// stop ends a Run whose context ended: unless abrupt, the workers commit what they hold and
// the global checkpoint is written, within stopGrace.
func (r *run) stop(ctx context.Context) error {
	if r.s.abrupt {
		r.cancel(errStopped)
		return ctx.Err()
	}
	timer := time.AfterFunc(stopGrace, func() { r.cancel(errors.New("final flush took too long")) })
	defer timer.Stop()
	if err := r.flush(); err != nil {
		r.s.log.Warn("final checkpoint flush failed", "error", err)
	}
	r.publish()
	return ctx.Err()
}
