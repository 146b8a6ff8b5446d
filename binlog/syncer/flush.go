package syncer

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dm-oss/dm/binlog"
)

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
	// A marker of a moved checkpoint is a position of the old server: matchMoved clears it.
	if !r.ddlMarker.IsZero() && compareLoc(loc, r.ddlMarker) >= 0 && (r.plan.moved == nil || !r.plan.moved.markerOpen) {
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
	row := cpRow{loc: loc, workerCount: s.cfg.Workers, safe: r.safeUntil, ddl: r.ddlMarker, eventTS: int64(ts), upstream: r.upstreamOf(loc)}
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
	err = r.control.do(ctx, "checkpoint", func(conn *sql.Conn) error {
		return r.fence.InTxn(ctx, conn, controlSlot, func() error {
			_, err := conn.ExecContext(ctx, q)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if row.trackerState != nil {
		r.lastSnap = snap
	}
	if row.shardState != nil {
		r.shard.lastSave = row.shardState
	}
	r.g = loc
	now := time.Now()
	if !r.lastGlobalWrite.IsZero() {
		s.metrics.flushInterval.Observe(now.Sub(r.lastGlobalWrite).Seconds())
	}
	r.lastGlobalWrite = now
	s.metrics.posSyncer.Set(float64(loc.Pos))
	s.metrics.fileSyncer.Set(fileIndex(loc.File))
	s.mu.Lock()
	s.st.checkpoint = loc
	s.mu.Unlock()
	r.publish()
	r.passed(loc)
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

// saveCheckpoint writes the global checkpoint at loc (shardHost).
func (r *run) saveCheckpoint(loc binlog.Location) error {
	return r.writeGlobal(r.ctx, loc, r.lastTxnTS)
}

// location is the position pos in the current binlog file, with the GTID set so far.
func (r *run) location(pos uint32) binlog.Location { return r.at(pos) }
