package syncer

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
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
	mariadb    bool // began with a MariaDB GTID event
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

	workers     []*replayWorker
	applier     Applier
	workerDirty []bool
	wg          sync.WaitGroup

	plan plan

	// position
	file       string
	pos        uint32
	gtid       gmysql.GTIDSet
	gtidStr    string
	txn        *txnInfo
	lastTxnEnd binlog.Location
	lastTxnTS  uint32
	txnIdx     []uint64
	touched    []int

	tables    map[uint64]*Table
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
		tables:      map[uint64]*Table{},
		conflicts:   map[string]int{},
		control:     &control{db: db, retries: &s.retries, retryFor: s.cfg.RetryFor, log: s.log},
		applier:     s.cfg.Applier,
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

	for i := 0; i < s.cfg.Workers; i++ {
		w := &replayWorker{id: i, r: r, ch: make(chan job, max(4*s.cfg.Batch, 256))}
		r.workers = append(r.workers, w)
	}
	for _, w := range r.workers {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			w.run()
		}()
	}
	defer func() {
		r.cancel(errStopped)
		r.wg.Wait()
		r.applier.Close()
	}()

	// The reader runs ahead in its own goroutine, so that parsing overlaps dispatching.
	readCtx, stopRead := context.WithCancel(ctx)
	evCh := make(chan *replication.BinlogEvent, 1024)
	readErr := make(chan error, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			ev, err := rd.Next(readCtx)
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
	defer func() {
		stopRead()
		select {
		case <-readDone:
		case <-time.After(5 * time.Second):
			s.log.Warn("the binlog reader did not return after its context ended")
		}
	}()

	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		s.watch(watchCtx)
	}()
	defer func() {
		stopWatch()
		<-watchDone
	}()

	if s.cfg.Upstream != nil {
		pollCtx, stopPoll := context.WithCancel(ctx)
		pollDone := make(chan struct{})
		go func() {
			defer close(pollDone)
			s.pollMaster(pollCtx)
		}()
		defer func() {
			stopPoll()
			<-pollDone
		}()
	}

	return r.loop(ctx, evCh, readErr)
}

var errStopped = errors.New("sync unit stopped")

// setup connects, reads the checkpoint and decides how to replay.
func (r *run) setup(ctx context.Context, start binlog.Location) error {
	s := r.s
	var err error
	if err = r.control.open(ctx); err != nil {
		return fmt.Errorf("connect to target: %w", err)
	}
	if r.tgt, err = inspectTarget(ctx, r.control.conn); err != nil {
		return err
	}
	r.ddls = newDDLRewriter(s, r.tgt.flavor, newUpstreamCharsets(s.cfg.Tracker, s.cfg.Upstream))
	if s.cfg.OnlineDDL {
		r.online = &onlineDDL{store: newOnlineStore(r.control, s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source), ddls: r.ddls, log: s.log}
	}

	if err := ensureCheckpointTable(ctx, r.control.conn, s.cfg.MetaSchema, s.cfg.Task); err != nil {
		return err
	}
	if s.cfg.OnlineDDL {
		if err := ensureOnlineDDLTable(ctx, r.control.conn, s.cfg.MetaSchema, s.cfg.Task); err != nil {
			return err
		}
	}
	st, err := loadState(ctx, r.control.conn, s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source, true)
	if err != nil {
		return fmt.Errorf("load checkpoint: %w", err)
	}
	p := plan{}
	g := start
	deleteWorkers := false
	if st.found() {
		if st.global != nil {
			g = st.global.loc
			p.safeUntil = st.global.safe
			p.ddlEnd = st.global.ddl
		}
		n := st.oldWorkerCount()
		var maxP binlog.Location
		for _, row := range st.workers {
			maxP = maxLoc(maxP, row.loc)
		}
		switch {
		case n == s.cfg.Workers:
			// Same workers, same hashing: each worker skips exactly what it committed.
			p.exact = true
			p.skip = make([]progress, n)
			for w := range p.skip {
				p.skip[w] = progress{Loc: g}
				if row, ok := st.workers[w]; ok && (compareLoc(row.loc, g) > 0 || (compareLoc(row.loc, g) == 0 && row.rows > 0)) {
					p.skip[w] = progress{Loc: row.loc, Rows: row.rows}
				}
				p.skipUntil = maxLoc(p.skipUntil, p.skip[w].Loc)
			}
			p.low = g
			if compareLoc(maxP, g) >= 0 && len(st.workers) > 0 && !s.noAutoSafe {
				// Unclean stop: workers went beyond the global checkpoint. Exact for
				// transactional targets; safe mode covers targets that are not.
				p.safeUntil = maxLoc(p.safeUntil, maxP)
			}
		case n == 0:
			p.low = g
		default:
			// Another worker count: the old progress rows mean nothing for the new hashing.
			// Resume from the lowest complete point, safe mode up to the highest.
			p.low = st.resume()
			g = p.low
			p.safeUntil = maxLoc(p.safeUntil, maxP)
			deleteWorkers = true
			s.log.Info("worker count changed since the last run: safe mode until the old workers' highest progress",
				"old", n, "new", s.cfg.Workers, "safe_until", maxP.String())
		}
	} else {
		p.low = g
	}
	if !s.cfg.SafeModeUntil.IsZero() {
		p.safeUntil = maxLoc(p.safeUntil, s.cfg.SafeModeUntil)
	}
	p.skipping = true
	r.plan = p
	r.safeUntil = p.safeUntil
	r.ddlMarker = p.ddlEnd
	r.g = g
	r.lastTxnEnd = g
	if st.global != nil {
		r.lastTxnTS = uint32(st.global.eventTS)
	}
	trackerAt := start
	if st.global != nil {
		trackerAt = st.global.loc
	}
	if err := r.restoreTracker(ctx, trackerAt); err != nil {
		return err
	}
	if s.cfg.ShardMode != "" {
		stored, _, err := loadStateColumn(ctx, r.control.conn, s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source, "shard_state")
		if err != nil {
			return fmt.Errorf("load shard state: %w", err)
		}
		if r.shard, err = newShardMerge(ctx, r, stored); err != nil {
			return err
		}
	}
	if err := r.writeGlobal(ctx, g, r.lastTxnTS); err != nil {
		return err
	}
	if deleteWorkers {
		if _, err := r.control.conn.ExecContext(ctx, "DELETE FROM "+checkpointTable(s.cfg.MetaSchema, s.cfg.Task)+
			" WHERE task_name = ? AND source_name = ? AND worker_id >= 0", s.cfg.Task, s.cfg.Source); err != nil {
			return fmt.Errorf("reset worker checkpoints: %w", err)
		}
	}

	// Position tracking starts at the reader's start.
	r.file, r.pos = start.File, start.Pos
	if start.GTIDSet != "" {
		flavor := gmysql.MariaDBFlavor
		if strings.Contains(start.GTIDSet, ":") {
			flavor = gmysql.MySQLFlavor
		}
		set, err := gmysql.ParseGTIDSet(flavor, start.GTIDSet)
		if err != nil {
			return fmt.Errorf("start GTID set %q: %w", start.GTIDSet, err)
		}
		r.gtid, r.gtidStr = set, set.String()
	}
	s.log.Info("sync unit starting", "start", start.String(), "checkpoint", g.String(), "exact_resume", p.exact,
		"safe_until", p.safeUntil.String(), "workers", s.cfg.Workers, "batch", s.cfg.Batch)

	now := time.Now()
	s.mu.Lock()
	s.st.running = true
	s.st.started = now
	s.st.stopped = time.Time{}
	s.st.samples = nil
	s.st.seen = g
	s.st.pendingTS = 0
	s.mu.Unlock()
	s.totalEvents.Store(0)
	r.lastFlush = now
	return nil
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
			if err := r.handle(ev); err != nil {
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

func (r *run) curLoc() binlog.Location {
	if r.file == "" {
		return r.g
	}
	return binlog.Location{File: r.file, Pos: r.pos, GTIDSet: r.gtidStr}
}

func (r *run) handle(ev *replication.BinlogEvent) error {
	h := ev.Header
	switch h.EventType {
	case replication.HEARTBEAT_EVENT, replication.HEARTBEAT_LOG_EVENT_V2:
		return nil
	case replication.FORMAT_DESCRIPTION_EVENT:
		return nil
	}
	r.s.totalEvents.Add(1)
	if e, ok := ev.Event.(*replication.RotateEvent); ok {
		r.file, r.pos = string(e.NextLogName), uint32(e.Position)
		return nil
	}
	if h.LogPos > 0 && h.Flags&replication.LOG_EVENT_ARTIFICIAL_F == 0 && h.LogPos > r.pos {
		r.pos = h.LogPos
	}
	var startPos uint32
	if h.LogPos >= h.EventSize {
		startPos = h.LogPos - h.EventSize
	}
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent:
		r.beginTxn(startPos, h.Timestamp)
		r.txn.standalone = e.IsStandalone()
		r.txn.mariadb = true
		if r.gtid == nil {
			r.gtid, _ = gmysql.ParseMariadbGTIDSet("")
		}
		if set, ok := r.gtid.(*gmysql.MariadbGTIDSet); ok {
			gtid := e.GTID
			if err := set.AddSet(&gtid); err != nil {
				return fmt.Errorf("track GTID %s: %w", gtid.String(), err)
			}
			r.gtidStr = set.String()
		}
	case *replication.GTIDEvent:
		r.beginTxn(startPos, h.Timestamp)
		next, err := e.GTIDNext()
		if err != nil {
			return fmt.Errorf("track GTID: %w", err)
		}
		if r.gtid == nil {
			r.gtid, _ = gmysql.ParseMysqlGTIDSet("")
		}
		if err := r.gtid.Update(next.String()); err != nil {
			return fmt.Errorf("track GTID %s: %w", next.String(), err)
		}
		r.gtidStr = r.gtid.String()
	case *replication.QueryEvent:
		return r.handleQuery(ev, e, startPos)
	case *replication.RowsEvent:
		return r.handleRows(ev, e, startPos)
	case *replication.XIDEvent:
		r.endTxn(h)
	}
	return nil
}

func (r *run) beginTxn(startPos uint32, ts uint32) {
	txn := &txnInfo{start: binlog.Location{File: r.file, Pos: startPos, GTIDSet: r.gtidStr}, ts: ts}
	p := &r.plan
	if p.skipping {
		switch {
		case compareLoc(txn.start, p.low) < 0:
			txn.skip = skipAll
		case p.exact && compareLoc(txn.start, p.skipUntil) <= 0:
			txn.skip = skipCheck
		default:
			p.skipping = false
		}
	}
	if !r.safeUntil.IsZero() && compareLoc(txn.start, r.safeUntil) <= 0 {
		txn.safe = true
	}
	for _, w := range r.touched {
		r.txnIdx[w] = 0
	}
	r.touched = r.touched[:0]
	r.txn = txn
	if r.pendingTS == 0 {
		r.pendingTS = max(ts, 1)
		r.s.notePending(int64(r.pendingTS))
	}
}

func (r *run) endTxn(h *replication.EventHeader) {
	if r.txn == nil {
		return
	}
	r.lastTxnEnd = binlog.Location{File: r.file, Pos: h.LogPos, GTIDSet: r.gtidStr}
	r.lastTxnTS = r.txn.ts
	r.txn = nil
	r.txnSnap = nil
}

func (r *run) handleQuery(ev *replication.BinlogEvent, e *replication.QueryEvent, startPos uint32) error {
	q := string(e.Query)
	begin, end, control := ddl.TxnControl(q)
	switch {
	case begin:
		if r.txn == nil {
			r.beginTxn(startPos, ev.Header.Timestamp)
		}
		r.txn.sawBegin = true
		return nil
	case end:
		r.endTxn(ev.Header)
		return nil
	case control:
		return nil
	}
	return r.handleDDL(ev, e, startPos)
}

// table returns the Table of a row event's table, building it on first use.
func (r *run) table(tm *replication.TableMapEvent) (*Table, error) {
	if ti := r.tables[tm.TableID]; ti != nil && ti.columnCount == int(tm.ColumnCount) &&
		ti.srcTable == string(tm.Table) && ti.srcSchema == string(tm.Schema) {
		return ti, nil
	}
	if r.s.cfg.Tracker != nil {
		r.trackerDirty = true // a table the tracker did not know is read from the upstream
	}
	ti, err := r.buildTable(r.ctx, tm)
	if err != nil {
		return nil, err
	}
	r.tables[tm.TableID] = ti
	return ti, nil
}

func (r *run) handleRows(ev *replication.BinlogEvent, e *replication.RowsEvent, startPos uint32) error {
	if r.txn == nil {
		r.beginTxn(startPos, ev.Header.Timestamp)
	}
	if r.txn.skip == skipAll || e.Table == nil {
		return nil
	}
	var kind ChangeKind
	switch e.Type() {
	case replication.EnumRowsEventTypeInsert:
		kind = ChangeInsert
	case replication.EnumRowsEventTypeUpdate:
		kind = ChangeUpdate
	case replication.EnumRowsEventTypeDelete:
		kind = ChangeDelete
	default:
		if ev.Header.EventType == replication.PARTIAL_UPDATE_ROWS_EVENT {
			return fmt.Errorf("`%s`.`%s`: partial JSON updates (binlog_row_value_options=PARTIAL_JSON) cannot be replayed: turn the option off upstream", e.Table.Schema, e.Table.Table)
		}
		return nil
	}
	ti, err := r.table(e.Table)
	if err != nil {
		return err
	}
	if ti.ignored || ti.skip[kind] || r.shard.holds(ti, binlog.Location{File: r.file, Pos: startPos}) {
		return nil
	}
	for i := range e.SkippedColumns {
		if len(e.SkippedColumns[i]) > 0 {
			return fmt.Errorf("`%s`.`%s`: the row image lacks columns: set binlog_row_image=FULL upstream", ti.srcSchema, ti.srcTable)
		}
	}
	if kind == ChangeUpdate {
		for i := 0; i+1 < len(e.Rows); i += 2 {
			before, err := ti.convertRow(e.Rows[i])
			if err != nil {
				return err
			}
			after, err := ti.convertRow(e.Rows[i+1])
			if err != nil {
				return err
			}
			if err := r.dispatchRow(ti, kind, before, after); err != nil {
				return err
			}
		}
		return nil
	}
	for _, row := range e.Rows {
		vals, err := ti.convertRow(row)
		if err != nil {
			return err
		}
		var before, after []any
		if kind == ChangeInsert {
			after = vals
		} else {
			before = vals
		}
		if err := r.dispatchRow(ti, kind, before, after); err != nil {
			return err
		}
	}
	return nil
}

// workerOf hashes a row's identity key; ok is false when the key has a NULL.
func (r *run) workerOf(ti *Table, buf []byte, row []any) (int, []byte, bool) {
	kb, ok := ti.keyOf(buf[:0], ti.key, row)
	if !ok {
		return int(ti.tableHash % uint64(len(r.workers))), kb, false
	}
	return int(ti.hashKey(kb) % uint64(len(r.workers))), kb, true
}

// dispatchRow turns one row change into jobs. A row goes to the worker its identity key
// hashes to (a keyless table: one worker per table). An UPDATE that moves the row to another
// worker's key becomes a DELETE there and an INSERT here, so every key's changes stay in one
// worker, in order.
func (r *run) dispatchRow(ti *Table, kind ChangeKind, before, after []any) error {
	n := uint64(len(r.workers))
	if ti.key == nil {
		return r.send(int(ti.tableHash%n), job{Change: Change{Kind: kind, Table: ti, Before: before, After: after}})
	}
	switch kind {
	case ChangeInsert:
		w, kb, _ := r.workerOf(ti, r.keyBuf, after)
		r.keyBuf = kb
		return r.send(w, job{Change: Change{Kind: kind, Table: ti, After: after}})
	case ChangeDelete:
		w, kb, _ := r.workerOf(ti, r.keyBuf, before)
		r.keyBuf = kb
		return r.send(w, job{Change: Change{Kind: kind, Table: ti, Before: before}})
	}
	wb, kb, okb := r.workerOf(ti, r.keyBuf, before)
	r.keyBuf = kb
	wa, ka, oka := r.workerOf(ti, r.keyBuf2, after)
	r.keyBuf2 = ka
	if wb == wa || (okb && oka && bytes.Equal(kb, ka)) {
		return r.send(wb, job{Change: Change{Kind: ChangeUpdate, Table: ti, Before: before, After: after}})
	}
	if err := r.send(wb, job{Change: Change{Kind: ChangeDelete, Table: ti, Before: before}}); err != nil {
		return err
	}
	return r.send(wa, job{Change: Change{Kind: ChangeInsert, Table: ti, After: after}})
}

// send numbers the job within its transaction for its worker, drops it if that worker
// committed it before a restart, detects conflicts, and queues it.
func (r *run) send(w int, j job) error {
	txn := r.txn
	j.txn = txn
	j.idx = r.txnIdx[w]
	if j.idx == 0 {
		r.touched = append(r.touched, w)
	}
	r.txnIdx[w]++
	if txn.skip == skipCheck && r.plan.skip[w].covers(txn.start, j.idx) {
		return nil
	}
	j.Safe = txn.safe && j.Table.key != nil
	if len(j.Table.uniques) > 0 {
		if err := r.checkConflicts(w, j); err != nil {
			return err
		}
	}
	r.dirty = true
	r.workerDirty[w] = true
	select {
	case r.workers[w].ch <- j:
		return nil
	case <-r.ctx.Done():
		return context.Cause(r.ctx)
	case <-r.parent.Done():
		return errStopped
	}
}

// checkConflicts: a row change whose other unique keys were last touched by another worker
// since the last flush must wait until those changes are committed: flush everything first.
func (r *run) checkConflicts(w int, j job) error {
	var keys []string
	add := func(row []any) {
		if row == nil {
			return
		}
		for i, uk := range j.Table.uniques {
			b := append(r.keyBuf[:0], j.Table.qTarget...)
			b = append(b, 0)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, 0)
			b, ok := j.Table.keyOf(b, uk, row)
			r.keyBuf = b
			if ok {
				keys = append(keys, string(b))
			}
		}
	}
	add(j.Before)
	add(j.After)
	for _, k := range keys {
		if owner, ok := r.conflicts[k]; ok && owner != w {
			if err := r.barrier(); err != nil {
				return err
			}
			break
		}
	}
	for _, k := range keys {
		r.conflicts[k] = w
	}
	return nil
}

// barrier waits until every worker has committed all the jobs it was sent.
func (r *run) barrier() error {
	clear(r.conflicts)
	if !r.dirty {
		return nil
	}
	ack := make(chan error, len(r.workers))
	sent := 0
	for w, dirty := range r.workerDirty {
		if !dirty {
			continue
		}
		select {
		case r.workers[w].ch <- job{flush: ack}:
			sent++
		case <-r.ctx.Done():
			return context.Cause(r.ctx)
		}
	}
	for ; sent > 0; sent-- {
		select {
		case err := <-ack:
			if err != nil {
				return err
			}
		case <-r.ctx.Done():
			return context.Cause(r.ctx)
		}
	}
	clear(r.workerDirty)
	r.dirty = false
	return nil
}

// flush: barrier, then write the global checkpoint at the end of the last complete
// transaction (or at the last event read, between transactions).
func (r *run) flush() error {
	if err := r.barrier(); err != nil {
		return err
	}
	loc := r.lastTxnEnd
	if r.txn == nil {
		loc = r.curLoc()
	}
	if !r.ddlMarker.IsZero() && compareLoc(loc, r.ddlMarker) >= 0 {
		r.ddlMarker = binlog.Location{}
	}
	if r.txn == nil {
		r.pendingTS = 0
	} else {
		r.pendingTS = max(r.txn.ts, 1)
	}
	if loc == r.g && r.ddlMarker.IsZero() {
		r.publish()
		return nil
	}
	return r.writeGlobal(r.ctx, loc, r.lastTxnTS)
}

// writeGlobal writes the global checkpoint row (retrying transient errors).
func (r *run) writeGlobal(ctx context.Context, loc binlog.Location, ts uint32) error {
	s := r.s
	if !r.safeUntil.IsZero() && compareLoc(loc, r.safeUntil) > 0 {
		r.safeUntil = binlog.Location{}
	}
	row := cpRow{loc: loc, workerCount: s.cfg.Workers, safe: r.safeUntil, ddl: r.ddlMarker, eventTS: int64(ts)}
	snap, err := r.trackerSnapshot()
	if err != nil {
		return fmt.Errorf("write checkpoint: snapshot of the schema tracker: %w", err)
	}
	if snap != nil && !bytes.Equal(snap, r.lastSnap) {
		row.trackerState = snap
	}
	if r.shard != nil {
		if row.shardState, err = r.shard.snapshot(); err != nil {
			return fmt.Errorf("write checkpoint: shard state: %w", err)
		}
	}
	q := globalRowSQL(s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source, row)
	if err := r.control.exec(ctx, "checkpoint", q); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if row.trackerState != nil {
		r.lastSnap = snap
	}
	if row.shardState != nil {
		r.shard.lastSave = row.shardState
	}
	r.g = loc
	s.metrics.posSyncer.Set(float64(loc.Pos))
	s.metrics.fileSyncer.Set(fileIndex(loc.File))
	s.mu.Lock()
	s.st.checkpoint = loc
	s.mu.Unlock()
	r.publish()
	return nil
}

// tick runs every tickInterval: checkpoint flushes, status and gauges.
func (r *run) tick(now time.Time) error {
	for i, w := range r.workers {
		r.s.metrics.queueSize[i].Set(float64(len(w.ch)))
	}
	idle := r.eventsTick == 0
	r.eventsTick = 0
	behind := r.txn == nil && compareLoc(r.curLoc(), r.g) > 0
	if (r.dirty || behind || r.pendingTS != 0) && (idle || now.Sub(r.lastFlush) >= flushInterval) {
		if err := r.flush(); err != nil {
			return err
		}
		r.lastFlush = now
	}
	r.publish()
	return nil
}

// publish copies the dispatcher's view into the status.
func (r *run) publish() {
	s := r.s
	s.mu.Lock()
	s.st.seen = r.curLoc()
	s.st.pendingTS = int64(r.pendingTS)
	seen, masterKnown := s.st.seen, s.st.masterKnown
	s.mu.Unlock()
	s.refreshLag(time.Now())
	if !masterKnown {
		// No upstream connection: the last event read stands for the master.
		s.metrics.posMaster.Set(float64(seen.Pos))
		s.metrics.fileMaster.Set(fileIndex(seen.File))
	}
}

// pollMaster reads the upstream's position every second, and its clock offset once.
func (s *Syncer) pollMaster(ctx context.Context) {
	db := s.cfg.Upstream
	offsetKnown := false
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if !offsetKnown {
			before := time.Now()
			var up float64
			if err := db.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&up); err == nil {
				after := time.Now()
				local := before.Add(after.Sub(before) / 2)
				offset := time.Duration((up - float64(local.UnixNano())/1e9) * float64(time.Second))
				s.mu.Lock()
				s.st.clockOffset, s.st.offsetKnown = offset, true
				s.mu.Unlock()
				offsetKnown = true
			}
		}
		if loc, err := masterStatus(ctx, db); err == nil {
			s.mu.Lock()
			s.st.noteMaster(loc, time.Now())
			s.mu.Unlock()
			s.metrics.posMaster.Set(float64(loc.Pos))
			s.metrics.fileMaster.Set(fileIndex(loc.File))
		} else if ctx.Err() == nil {
			s.log.Debug("read upstream position", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// masterStatus reads the upstream's binlog position and GTID set.
func masterStatus(ctx context.Context, db *sql.DB) (binlog.Location, error) {
	var loc binlog.Location
	var err error
	for _, q := range []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"} {
		var rows *sql.Rows
		rows, err = db.QueryContext(ctx, q)
		if err != nil {
			continue
		}
		cols, _ := rows.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if rows.Next() {
			if err = rows.Scan(ptrs...); err == nil && len(cols) >= 2 {
				loc.File = string(vals[0])
				pos, _ := strconv.ParseUint(string(vals[1]), 10, 32)
				loc.Pos = uint32(pos)
			}
		}
		rows.Close()
		break
	}
	if err != nil {
		return loc, err
	}
	var gtid sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&gtid); err != nil {
		if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&gtid); err == nil {
			gtid.String = strings.Join(strings.Fields(gtid.String), "")
		}
	}
	loc.GTIDSet = gtid.String
	return loc, nil
}

// saveCheckpoint writes the global checkpoint at loc (shardHost).
func (r *run) saveCheckpoint(loc binlog.Location) error {
	return r.writeGlobal(r.ctx, loc, r.lastTxnTS)
}

// location is the position pos in the current binlog file, with the GTID set so far.
func (r *run) location(pos uint32) binlog.Location {
	return binlog.Location{File: r.file, Pos: pos, GTIDSet: r.gtidStr}
}
