package syncer

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dm-oss/dm/binlog/internal/fence"

	"github.com/dm-oss/dm/binlog"
)

// setup connects, reads the checkpoint and decides how to replay.
func (r *run) setup(ctx context.Context, start binlog.Location) error {
	s := r.s
	if err := r.connect(ctx); err != nil {
		return err
	}
	// Claim before reading the checkpoint: the claim waits for the transactions of an older
	// run still holding their slots, so the checkpoint read next includes what they wrote.
	if err := r.control.do(ctx, "claim the source", func(conn *sql.Conn) error {
		return r.fence.Claim(ctx, conn, s.cfg.Workers, s.cfg.Worker)
	}); err != nil {
		return err
	}
	r.control.fence = r.fence
	st, err := loadState(ctx, r.control.conn, s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source, true)
	if err != nil {
		return fmt.Errorf("load checkpoint: %w", err)
	}
	p, g, deleteWorkers, err := r.planResume(st, start)
	if err != nil {
		return err
	}
	if deleteWorkers {
		s.log.Info("worker count changed since the last run: safe mode until the old workers' highest progress",
			"old", st.oldWorkerCount(), "new", s.cfg.Workers, "safe_until", p.safeUntil.String())
	}
	if err := r.restore(ctx, st, p, g, start); err != nil {
		return err
	}
	if deleteWorkers {
		if _, err := r.control.conn.ExecContext(ctx, "DELETE FROM "+checkpointTable(s.cfg.MetaSchema, s.cfg.Task)+
			" WHERE task_name = ? AND source_name = ? AND worker_id >= 0", s.cfg.Task, s.cfg.Source); err != nil {
			return fmt.Errorf("reset worker checkpoints: %w", err)
		}
	}
	if err := r.startAt(start); err != nil {
		return err
	}
	s.log.Info("sync unit starting", "start", start.String(), "checkpoint", g.String(), "exact_resume", p.exact,
		"safe_until", p.safeUntil.String(), "workers", s.cfg.Workers, "batch", s.cfg.Batch)
	r.startStatus(g)
	return nil
}

// connect opens the control connection, learns the target's flavour and makes sure the
// checkpoint (and online DDL) tables exist.
func (r *run) connect(ctx context.Context) error {
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
	if r.fence != nil {
		if _, err := r.control.conn.ExecContext(ctx, fence.CreateSQL(ownerTable(s.cfg.MetaSchema, s.cfg.Task))); err != nil {
			return fmt.Errorf("create owner table %s: %w", ownerTable(s.cfg.MetaSchema, s.cfg.Task), err)
		}
	}
	if s.cfg.OnlineDDL {
		if err := ensureOnlineDDLTable(ctx, r.control.conn, s.cfg.MetaSchema, s.cfg.Task); err != nil {
			return err
		}
	}
	return nil
}

// planResume is resumePlan for this run: by position, or by GTID set when the checkpoint was written
// reading another upstream server (moved.go), in which case the reader must have been opened
// by GTID (ResumeLocation) and the global checkpoint to write is its GTID set alone.
func (r *run) planResume(st cpState, start binlog.Location) (p plan, g binlog.Location, deleteWorkers bool, err error) {
	s := r.s
	from, moved := st.movedFrom(s.cfg.UpstreamID)
	if !moved {
		p, g, deleteWorkers = resumePlan(st, start, s.cfg.Workers, !s.noAutoSafe, compareLoc)
		if !s.cfg.SafeModeUntil.IsZero() {
			p.safeUntil = maxLoc(p.safeUntil, s.cfg.SafeModeUntil)
		}
		return p, g, deleteWorkers, nil
	}
	m, err := newMovedPlan(st, from, s.cfg.UpstreamID)
	if err != nil {
		return p, g, false, err
	}
	if start.File != "" || start.GTIDSet == "" {
		return p, g, false, fmt.Errorf("the checkpoint was written reading upstream %s and this run reads %s: open the reader by GTID at ResumeLocation (%s), not at %s",
			from, s.cfg.UpstreamID, gtidOnly(st.resumeBy(m.mustCompare)).GTIDSet, start)
	}
	p, g, deleteWorkers = resumePlan(st, start, s.cfg.Workers, !s.noAutoSafe, m.mustCompare)
	p.moved = m
	if !p.ddlEnd.IsZero() {
		m.ddlAt, m.markerOpen = g, true
	}
	s.log.Info("the checkpoint was written reading another upstream server: resuming by GTID set",
		"checkpoint_upstream", from, "upstream", s.cfg.UpstreamID, "checkpoint", g.String(), "gtid", g.GTIDSet)
	return p, gtidOnly(g), deleteWorkers, nil
}

// resumePlan decides from the checkpoint rows how to replay from start: where every worker
// stands, what to skip exactly, and what needs safe mode. g is the global checkpoint to
// write; deleteWorkers says the old workers' rows mean nothing any more (another count). cmp
// orders the rows' locations.
func resumePlan(st cpState, start binlog.Location, workers int, autoSafe bool, cmp func(a, b binlog.Location) int) (p plan, g binlog.Location, deleteWorkers bool) {
	maxLoc := func(a, b binlog.Location) binlog.Location {
		if cmp(a, b) >= 0 {
			return a
		}
		return b
	}
	g = start
	p.skipping = true
	if !st.found() {
		p.low = g
		return p, g, false
	}
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
	case n == workers:
		// Same workers, same hashing: each worker skips exactly what it committed.
		p.exact = true
		p.skip = make([]progress, n)
		for w := range p.skip {
			p.skip[w] = progress{Loc: g}
			if row, ok := st.workers[w]; ok && (cmp(row.loc, g) > 0 || (cmp(row.loc, g) == 0 && row.rows > 0)) {
				p.skip[w] = progress{Loc: row.loc, Rows: row.rows}
			}
			p.skipUntil = maxLoc(p.skipUntil, p.skip[w].Loc)
		}
		p.low = g
		if cmp(maxP, g) >= 0 && len(st.workers) > 0 && autoSafe {
			// Unclean stop: workers went beyond the global checkpoint. Exact for
			// transactional targets; safe mode covers targets that are not.
			p.safeUntil = maxLoc(p.safeUntil, maxP)
		}
	case n == 0:
		p.low = g
	default:
		// Another worker count: the old progress rows mean nothing for the new hashing.
		// Resume from the lowest complete point, safe mode up to the highest.
		p.low = st.resumeBy(cmp)
		g = p.low
		p.safeUntil = maxLoc(p.safeUntil, maxP)
		deleteWorkers = true
	}
	return p, g, deleteWorkers
}

// restore puts the plan in place, restores the schema tracker and the shard state of the
// checkpoint, and writes the global row.
func (r *run) restore(ctx context.Context, st cpState, p plan, g, start binlog.Location) error {
	s := r.s
	r.plan = p
	r.safeUntil = p.safeUntil
	if p.moved != nil {
		// Compared by GTID set as transactions begin (beginTxn); the persisted safe-mode mark
		// is a position, which means nothing on this server.
		r.safeUntil = binlog.Location{}
	}
	r.ddlMarker = p.ddlEnd
	r.g = g
	r.lastTxnEnd = g
	trackerAt := start
	if st.global != nil {
		r.lastTxnTS = uint32(st.global.eventTS)
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
		if p.moved != nil && len(r.shard.state.Groups) > 0 {
			return fmt.Errorf("the checkpoint was written reading upstream %s, and shard tables are held back by a pessimistic shard DDL at its positions: resolve the shard DDL locks of the task before it continues on upstream %s",
				p.moved.from, r.s.cfg.UpstreamID)
		}
	}
	return r.writeGlobal(ctx, g, r.lastTxnTS)
}

// startStatus resets the status for a new Run at checkpoint g.
func (r *run) startStatus(g binlog.Location) {
	s := r.s
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
}
