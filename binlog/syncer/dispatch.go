package syncer

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
)

// curLoc is the position of the last event read.
func (r *run) curLoc() binlog.Location {
	if r.file == "" || r.gtidHead {
		return r.g
	}
	return binlog.Location{File: r.file, Pos: r.pos, GTIDSet: r.gtidStr}
}

// handleTimed handles an event and observes its size and the time it took: in
// dispatch_binlog_duration, or skip_binlog_duration when the filters dropped it.
func (r *run) handleTimed(ev *replication.BinlogEvent) error {
	began := time.Now()
	r.filtered = false
	err := r.handle(ev)
	m := r.s.metrics
	m.eventSize.Observe(float64(ev.Header.EventSize))
	r.s.bytesRead.Add(int64(ev.Header.EventSize))
	typ := eventTypeOther
	switch ev.Event.(type) {
	case *replication.RowsEvent:
		typ = eventTypeRows
	case *replication.QueryEvent:
		typ = eventTypeQuery
	}
	obs := m.dispatch[typ]
	if r.filtered {
		obs = m.skip[typ]
	}
	obs.Observe(time.Since(began).Seconds())
	return err
}

func (r *run) handle(ev *replication.BinlogEvent) error {
	startPos, kind := r.follow(ev)
	switch kind {
	case eventHeartbeat:
		return nil
	case eventRotate:
		r.s.totalEvents.Add(1)
		return nil
	}
	r.s.totalEvents.Add(1)
	h := ev.Header
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent:
		if err := r.beginTxn(startPos, h.Timestamp); err != nil {
			return err
		}
		r.txn.standalone = e.IsStandalone()
		r.txn.mariadb = true
		r.txn.eventGTID = e.GTID.String()
		return r.addGTID(e)
	case *replication.GTIDEvent:
		if err := r.beginTxn(startPos, h.Timestamp); err != nil {
			return err
		}
		if next, err := e.GTIDNext(); err == nil {
			r.txn.eventGTID = next.String()
		}
		return r.addGTID(e)
	case *replication.QueryEvent:
		return r.handleQuery(ev, e, startPos)
	case *replication.RowsEvent:
		return r.handleRows(ev, e, startPos)
	case *replication.XIDEvent:
		r.endTxn(h)
	}
	return nil
}

func (r *run) beginTxn(startPos uint32, ts uint32) error {
	txn := &txnInfo{start: r.at(startPos), ts: ts}
	if err := r.matchPlan(txn); err != nil {
		return err
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
	return nil
}

// matchPlan decides from the checkpoint's plan whether the transaction was applied before
// (all of it, or some of its row changes), and whether it replays in safe mode.
func (r *run) matchPlan(txn *txnInfo) error {
	p := &r.plan
	if p.moved != nil && (p.skipping || !p.safeUntil.IsZero() || p.moved.markerOpen || !r.trackerAt.IsZero()) && r.gtid != nil {
		txn.gtid = r.gtid.Clone()
	}
	if p.skipping {
		low, err := r.txnOrder(txn, p.low)
		if err != nil {
			return err
		}
		until := 1
		if p.exact {
			if until, err = r.txnOrder(txn, p.skipUntil); err != nil {
				return err
			}
		}
		switch {
		case low < 0:
			txn.skip = skipAll
		case p.exact && until <= 0:
			txn.skip = skipCheck
		default:
			p.skipping = false
		}
	}
	if p.moved == nil {
		txn.safe = !r.safeUntil.IsZero() && compareLoc(txn.start, r.safeUntil) <= 0
		return nil
	}
	return r.matchMoved(txn)
}

// matchMoved completes matchPlan for a moved plan: the safe-mode window and the marker of the
// DDL that was in flight are matched by GTID set.
func (r *run) matchMoved(txn *txnInfo) error {
	p, m := &r.plan, r.plan.moved
	if !p.safeUntil.IsZero() {
		c, err := r.txnOrder(txn, p.safeUntil)
		if err != nil {
			return err
		}
		if txn.safe = c <= 0; !txn.safe {
			p.safeUntil = binlog.Location{}
		}
	}
	if !r.trackerAt.IsZero() {
		c, err := r.txnOrder(txn, r.trackerAt)
		if err != nil {
			return err
		}
		if c >= 0 {
			// At or past the restored tracker state: every DDL from here is tracked.
			r.trackerAt = binlog.Location{}
		}
	}
	if m.markerOpen {
		c, err := r.txnOrder(txn, m.ddlAt)
		if err != nil {
			return err
		}
		if c > 0 {
			// Past the DDL that was in flight: its marker (a position of the old server) goes.
			m.markerOpen = false
			r.ddlMarker = binlog.Location{}
		}
	}
	return nil
}

func (r *run) endTxn(h *replication.EventHeader) {
	if r.txn == nil {
		return
	}
	r.lastTxnEnd = r.at(h.LogPos)
	r.lastTxnTS = r.txn.ts
	r.txn = nil
	r.s.metrics.finishedTxn.Inc()
	r.txnSnap = nil
}

func (r *run) handleQuery(ev *replication.BinlogEvent, e *replication.QueryEvent, startPos uint32) error {
	q := string(e.Query)
	begin, end, control := ddl.TxnControl(q)
	switch {
	case begin:
		if r.txn == nil {
			if err := r.beginTxn(startPos, ev.Header.Timestamp); err != nil {
				return err
			}
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

// table returns the Table of a row event's table.
func (r *run) table(tm *replication.TableMapEvent) (*Table, error) {
	ti, built, err := r.decoder.table(r.ctx, tm)
	if built && r.s.cfg.Tracker != nil {
		r.trackerDirty = true // a table the tracker did not know is read from the upstream
	}
	return ti, err
}

func (r *run) handleRows(ev *replication.BinlogEvent, e *replication.RowsEvent, startPos uint32) error {
	if r.txn == nil {
		if err := r.beginTxn(startPos, ev.Header.Timestamp); err != nil {
			return err
		}
	}
	txn := r.txn
	if txn.skip == skipAll || e.Table == nil {
		return nil
	}
	r.s.metrics.eventRows.Observe(float64(len(e.Rows)))
	op, hasOp := r.opAt(txn, startPos)
	if hasOp {
		if len(op.Replace) > 0 {
			if err := r.replaceRows(startPos, op.Replace); err != nil {
				return r.eventError(txn, startPos, "", err)
			}
		} else {
			r.s.log.Info("binlog operation: row event skipped", "position", r.at(startPos).String())
		}
		r.dropping = true
		defer func() { r.dropping = false }()
	}
	kind, ok, err := rowsKind(ev, e)
	if !ok {
		if hasOp {
			return nil
		}
		return r.eventError(txn, startPos, "", err)
	}
	ti, err := r.table(e.Table)
	if err != nil {
		return err
	}
	if ti.ignored || ti.skip[kind] || r.shard.holds(ti, r.at(startPos)) {
		r.filtered = ti.ignored || ti.skip[kind]
		return nil
	}
	r.evPos = startPos
	var sendErr error
	err = ti.eachChange(kind, e, func(before, after []any) error {
		sendErr = r.dispatchRow(ti, kind, before, after)
		return sendErr
	})
	switch {
	case err == nil || sendErr != nil:
		return err
	case hasOp:
		// A row that cannot be decoded was never sent, in no run: the rest of the event
		// needs no numbers either.
		r.s.log.Warn("binlog operation: the rest of the row event cannot be decoded; skipped", "position", r.at(startPos).String(), "error", err)
		return nil
	}
	return r.eventError(txn, startPos, "", err)
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
	if r.dropping {
		return nil
	}
	if txn.skip == skipCheck {
		covered, err := r.covered(w, txn, j.idx)
		if err != nil || covered {
			return err
		}
	}
	j.ev = r.evPos
	j.Safe = txn.safe && j.Table.key != nil
	if len(j.Table.uniques) > 0 {
		began := time.Now()
		if err := r.checkConflicts(w, j); err != nil {
			return err
		}
		r.s.metrics.conflict.Observe(time.Since(began).Seconds())
	}
	r.dirty = true
	r.workerDirty[w] = true
	began := time.Now()
	select {
	case r.workers[w].ch <- j:
		r.s.metrics.addJob[w][j.Kind].Observe(time.Since(began).Seconds())
		r.s.metrics.addedJob(j.Kind, w, j.Table.target.Schema, j.Table.target.Table)
		return nil
	case <-r.ctx.Done():
		return context.Cause(r.ctx)
	case <-r.parent.Done():
		return errStopped
	}
}

// covered reports whether worker w committed the idx-th row change it owns of txn before the
// checkpoint was written.
func (r *run) covered(w int, txn *txnInfo, idx uint64) (bool, error) {
	p := r.plan.skip[w]
	if r.plan.moved == nil {
		return p.covers(txn.start, idx), nil
	}
	c, err := r.txnOrder(txn, p.Loc)
	return c < 0 || (c == 0 && idx < p.Rows), err
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
