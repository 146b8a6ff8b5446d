package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"sync"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/schema"
	"github.com/dm-oss/dm/binlog/syncer"
	"github.com/dm-oss/dm/binlog/tracker"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/peer"
	"github.com/dm-oss/dm/worker/settings"
)

// Units and stages as DM reports them.
const (
	unitDump = peer.UnitDump
	unitLoad = peer.UnitLoad
	unitSync = peer.UnitSync

	stageNew      = "New"
	stageRunning  = "Running"
	stagePaused   = "Paused"
	stageStopped  = "Stopped"
	stageFinished = "Finished"
)

// runner drives one subtask (a task on this worker's bound source) through its units:
// all = Dump → Load → Sync, full = Dump → Load → Finished, incremental = Sync.
type runner struct {
	s      *Server
	task   string
	source string
	spec   fsm.TaskSpec // the spec of the task it was started with
	// sourceSpec is the spec of the bound source it was started with: a source updated in
	// place (another host after a failover, a new password) restarts it.
	sourceSpec fsm.SourceSpec

	// ops are the operations on the subtask's binlog events, kept up to date with the view.
	ops *eventOps

	mu      sync.Mutex
	stage   string
	unit    string
	errMsg  string
	failed  *peer.FailedEvent // the binlog event the error is about, if it is one
	resumes uint64            // the desired Resumes count of the last start
	// epoch is the binding epoch of the current run: the index of the desired state it was
	// started from, which binds this worker to the source (the syncer's owner fence).
	epoch uint64
	// lapsed says why the subtask was stopped by the worker's lease (status), "" otherwise.
	lapsed string
	// readsRelay says whether the current run's sync unit reads this worker's relay log
	// (binlog_type local) or the upstream; nil before the sync unit started.
	readsRelay *bool
	// startRetry is the retry of the pipeline's start in progress, nil when none is.
	startRetry *binlog.Retrying
	// base is the context runs are started under (the worker's), for a restart after a newer
	// run superseded this one.
	base    context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	dump    *dump.Counters
	loader  *load.Loader
	syncer  *syncer.Syncer
	dumpLoc binlog.Location
}

// reconcileSubtasks starts, pauses and stops runners to match the desired state.
func (s *Server) reconcileSubtasks(ctx context.Context, view fsm.WorkerView) {
	bound, boundSpec := "", fsm.SourceSpec{}
	if view.Bound != nil {
		bound, boundSpec = view.Bound.Name, view.Bound.Spec
	}
	want := map[string]fsm.SubtaskView{}
	for _, sv := range view.Subtasks {
		if sv.Source == bound {
			want[sv.Task] = sv
		}
	}
	_, relayed := s.relayDirFor(bound)
	s.runnersMu.Lock()
	defer s.runnersMu.Unlock()
	for name, r := range s.runners {
		sv, ok := want[name]
		if ok && r.source == bound {
			why := r.restartReason(sv.Spec, boundSpec, relayed)
			if why == "" {
				continue
			}
			s.logger.Info(why, "task", name, "source", r.source, "relay", relayed)
		}
		r.stop(stageStopped)
		delete(s.runners, name)
		// Gone from the bound source's subtasks: the task, or this source of it, was
		// deleted. (A source moved to another worker keeps its dump here: it may come back.)
		s.forgetSubtask(r, !ok && r.source == bound)
	}
	for name, sv := range want {
		r, ok := s.runners[name]
		if !ok {
			r = &runner{s: s, task: name, source: sv.Source, spec: sv.Spec, sourceSpec: boundSpec, stage: stageNew, unit: peer.FirstUnit(sv.Spec),
				ops: newEventOps(ctx, s, name, sv.Source)}
			s.runners[name] = r
		}
		// Before a resume the operation may be for: it is what the retry needs.
		r.ops.set(sv.BinlogOps)
		switch sv.Stage {
		case fsm.StageRunning:
			r.ensureRunning(ctx, sv.Resumes, view.Index)
		case fsm.StagePaused:
			r.stop(stagePaused)
		default:
			r.stop(stageStopped)
		}
	}
}

// restartReason says why the runner of a subtask still bound here must start over with the
// desired spec and source ("" when it need not): the spec of the subtask or of its source
// changed, or its sync unit reads the other binlog (readsOtherBinlog).
func (r *runner) restartReason(spec fsm.TaskSpec, sourceSpec fsm.SourceSpec, relayed bool) string {
	switch {
	case !reflect.DeepEqual(spec, r.spec) || !reflect.DeepEqual(sourceSpec, r.sourceSpec):
		return "the spec of the subtask or its source changed: restarting it with the new one"
	case r.readsOtherBinlog(relayed):
		return "the relay log of the source started or stopped on this worker: restarting the subtask to read the binlog from where it now is"
	}
	return ""
}

// readsOtherBinlog reports whether the running sync unit reads the relay log while this
// worker no longer pulls it, or the upstream while it now does (DM resets the subtasks when
// a relay is enabled or disabled): a reader of a stopped relay would wait for ever.
func (r *runner) readsOtherBinlog(relayed bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cancel != nil && r.readsRelay != nil && *r.readsRelay != relayed
}

// stopAllRunners stops every subtask (worker shutdown).
func (s *Server) stopAllRunners() {
	s.runnersMu.Lock()
	defer s.runnersMu.Unlock()
	for _, r := range s.runners {
		r.stop(stageStopped)
	}
}

// subtaskStatuses reports every runner.
func (s *Server) subtaskStatuses() []peer.SubtaskStatus {
	s.runnersMu.Lock()
	defer s.runnersMu.Unlock()
	out := make([]peer.SubtaskStatus, 0, len(s.runners))
	for _, r := range s.runners {
		out = append(out, r.status())
	}
	return out
}

// ensureRunning starts the pipeline unless it runs, has finished, or stopped on an error
// that no resume has been asked for since. index is that of the desired state that asks for
// it: the new run's binding epoch.
func (r *runner) ensureRunning(ctx context.Context, resumes, index uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil || r.stage == stageFinished {
		return
	}
	if r.errMsg != "" && resumes == r.resumes {
		return
	}
	r.lapsed, r.readsRelay = "", nil
	rctx, cancel := context.WithCancel(ctx)
	r.cancel, r.done, r.resumes, r.epoch, r.base = cancel, make(chan struct{}), resumes, index, ctx
	r.stage, r.errMsg, r.failed = stageRunning, "", nil
	go r.run(rctx, r.done)
}

// stop cancels the pipeline and waits for it, leaving the given stage.
func (r *runner) stop(stage string) {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stage != stageFinished {
		r.stage = stage
	}
}

func (r *runner) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	err := r.pipelineRetrying(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancel = nil
	switch {
	case ctx.Err() != nil:
		// Paused or stopped on purpose; stop() sets the stage.
	case errors.Is(err, syncer.ErrSuperseded):
		r.stage = stageStopped
		r.s.logger.Warn("a newer run of this subtask owns the source on the target: stopped writing; starting again only if the latest desired state still binds the source here",
			"task", r.task, "source", r.source, "epoch", r.epoch, "err", err)
		go r.s.restartSuperseded(r.base, r.epoch)
	case err != nil:
		r.stage, r.errMsg, r.failed = stagePaused, err.Error(), failedEvent(err)
		if r.failed != nil {
			r.errMsg += failedEventHint(r.task, r.failed)
		}
		r.s.metrics.unitExited(r.task, r.source, r.unit)
		r.s.logger.Error("subtask stopped on an error; resume the task to retry", "task", r.task, "source", r.source, "unit", r.unit, "err", err)
	default:
		r.stage = stageFinished
		r.s.logger.Info("subtask finished", "task", r.task, "source", r.source)
	}
}

// restartSuperseded reconciles the subtasks with the latest desired state when it is newer
// than the superseded run's epoch: a source bound here again gets a run with a higher epoch,
// one bound elsewhere is dropped. An older desired state means a newer one is on its way, and
// its apply reconciles.
func (s *Server) restartSuperseded(ctx context.Context, epoch uint64) {
	if d := s.Desired(); d != nil && d.View.Index > epoch && ctx.Err() == nil {
		s.reconcileSubtasks(ctx, d.View)
	}
}

// lapse stops a running subtask because the worker's lease lapsed; the next desired state
// starts it again.
func (r *runner) lapse(why string) {
	r.mu.Lock()
	running := r.cancel != nil
	r.mu.Unlock()
	if !running {
		return
	}
	r.stop(stagePaused)
	r.mu.Lock()
	r.lapsed = why
	r.mu.Unlock()
}

func (r *runner) setUnit(u string) {
	r.mu.Lock()
	r.unit = u
	r.mu.Unlock()
	r.s.logger.Info("subtask unit", "task", r.task, "source", r.source, "unit", u)
}

// pipeline runs the units this subtask still needs, resuming from the target's checkpoints.
func (r *runner) pipeline(ctx context.Context) error {
	srcCfg, st, err := r.s.boundUpstream(r.source)
	if err != nil {
		return err
	}
	targetCfg, err := r.s.targetConfig(r.spec.Target)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	rl, err := settings.Rules(r.spec, r.source)
	if err != nil {
		return err
	}

	// The one connection pool to the target for every unit of the subtask.

	target, err := upstream.Open(ctx, targetCfg)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer target.Close()

	start := settings.SyncStart(r.spec, r.source)
	if r.spec.Mode != fsm.TaskModeIncremental {
		done, loc, err := load.Finished(ctx, target, r.spec.MetaSchema, r.task, r.source)
		if err != nil {
			return fmt.Errorf("read load checkpoint: %w", err)
		}
		if !done {
			if loc, err = r.dumpAndLoad(ctx, srcCfg, st, target, rl); err != nil {
				return err
			}
		}
		r.mu.Lock()
		r.dumpLoc = loc
		r.mu.Unlock()
		if r.spec.Mode == fsm.TaskModeFull {
			r.cleanDumpFiles()
			return nil
		}
		start = loc
	}
	return r.sync(ctx, srcCfg, st, target, rl, start)
}

// dumpAndLoad runs (or resumes) the full copy and returns the position sync starts from.
func (r *runner) dumpAndLoad(ctx context.Context, srcCfg upstream.Config, st fsm.SourceSpec, target *sql.DB, rl *rules.Rules) (binlog.Location, error) {
	dir, err := r.s.dumpDir(r.spec, r.task, r.source)
	if err != nil {
		return binlog.Location{}, err
	}
	meta, ok, err := dump.ReadMetadata(dir)
	if err != nil {
		return binlog.Location{}, fmt.Errorf("read dump metadata in %s: %w", dir, err)
	}
	redumped := false
	if !ok || !meta.Finished {
		// No finished dump here: this worker dumps (again). If an earlier load of an older
		// dump began on another worker, the loader replaces what that load wrote.
		counters := &dump.Counters{}
		r.mu.Lock()
		r.dump = counters
		r.mu.Unlock()
		r.setUnit(unitDump)
		redumped = true
		cfg := settings.Dump(r.spec, st)
		cfg.Upstream, cfg.Dir, cfg.Rules, cfg.Counters, cfg.Logger = srcCfg, dir, rl, counters, r.s.logger
		r.unitTakesOver()
		meta, err = dump.Run(ctx, cfg)
		if err != nil {
			return binlog.Location{}, unitGaveUp(fmt.Errorf("dump: %w", err))
		}
	}
	r.mu.Lock()
	r.dumpLoc = meta.Location
	r.mu.Unlock()
	r.setUnit(unitLoad)
	loadCfg := settings.Load(r.spec, r.source)
	loadCfg.Dir, loadCfg.Target, loadCfg.Rules, loadCfg.Logger, loadCfg.Redumped = dir, target, rl, r.s.logger, redumped
	loadCfg.Worker, loadCfg.Registerer = r.s.cfg.Name, r.s.metrics.unit(loadUnitKey(r.task))
	r.mu.Lock()
	loadCfg.Epoch = r.epoch
	r.mu.Unlock()
	ld, err := load.New(loadCfg)
	if err != nil {
		return binlog.Location{}, fmt.Errorf("load: %w", err)
	}
	r.mu.Lock()
	r.loader = ld
	r.mu.Unlock()
	r.reportLoad(ctx, true)
	r.unitTakesOver()
	if err := ld.Run(ctx); err != nil {
		return binlog.Location{}, unitGaveUp(fmt.Errorf("load: %w", err))
	}
	r.reportLoad(ctx, false)
	return meta.Location, nil
}

// reportLoad tells the masters this worker holds (or no longer holds) the subtask's
// unfinished load, so that a source moved away comes back here first. Best effort: the
// scheduler only uses it as a preference.
func (r *runner) reportLoad(ctx context.Context, holding bool) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := r.s.client.ReportLoad(cctx, peer.LoadWorkerRequest{Task: r.task, Source: r.source, Worker: r.s.cfg.Name, Holding: holding})
	if err != nil {
		r.s.logger.Warn("could not report the load holder to the masters", "task", r.task, "source", r.source, "holding", holding, "err", err)
	}
}

// sync replays the binlog from the checkpoint (or from start the first time).
func (r *runner) sync(ctx context.Context, srcCfg upstream.Config, st fsm.SourceSpec, target *sql.DB, rl *rules.Rules, start binlog.Location) error {
	r.setUnit(unitSync)
	up, err := upstream.Open(ctx, srcCfg)
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	defer up.Close()
	relayDir, relayed := r.s.relayDirNoted(r.source, func(relayed bool) {
		r.mu.Lock()
		r.readsRelay = &relayed
		r.mu.Unlock()
	})
	binlogType := "remote"
	if relayed {
		binlogType = "local"
	}
	tr := tracker.New(r.s.logger)
	// The replay of rows a shard lock held back reads alongside the main reader: it needs a
	// server_id of its own, or the upstream drops one of the two.
	mainID := readerServerID(r.task, r.source, r.s.cfg.Name, st.ServerID)
	replayID := mainID ^ 0x20000000
	if replayID == st.ServerID {
		replayID ^= 1
	}
	newReader := func(ctx context.Context, at binlog.Location, serverID uint32) (binlog.Reader, error) {
		if relayed {
			return reader.NewRelay(ctx, reader.RelayConfig{Dir: relayDir, Start: at, Hub: r.s.relayHub})
		}
		// A GTID set alone is the resume of a checkpoint written reading another server.
		return reader.NewRemote(ctx, reader.RemoteConfig{
			Upstream: srcCfg, Flavor: st.Flavor, ServerID: serverID,
			Start: at, UseGTID: (st.EnableGTID || at.File == "") && at.GTIDSet != "",
		})
	}
	openReader := func(ctx context.Context, at binlog.Location) (binlog.Reader, error) {
		return newReader(ctx, at, replayID)
	}
	syncCfg := settings.Sync(r.spec, r.source)
	syncCfg.Worker, syncCfg.Target, syncCfg.Upstream, syncCfg.Rules, syncCfg.Schemas, syncCfg.Tracker = r.s.cfg.Name, target, up, rl, schema.FromDB(up), tr
	if syncCfg.UpstreamID, err = binlogServer(ctx, up, relayDir, relayed); err != nil {
		return err
	}
	syncCfg.BinlogType, syncCfg.OpenReader = binlogType, openReader
	syncCfg.Coordinator = coordinator{client: r.s.client, task: r.task, source: r.source}
	syncCfg.EventOps = r.ops
	r.mu.Lock()
	syncCfg.Epoch = r.epoch
	r.mu.Unlock()
	syncCfg.Registerer, syncCfg.Logger = r.s.metrics.unit(syncUnitKey(r.task)), r.s.logger
	sy, err := syncer.New(syncCfg)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	r.mu.Lock()
	r.syncer = sy
	r.mu.Unlock()
	resume, err := sy.ResumeLocation(ctx)
	if err != nil {
		return fmt.Errorf("sync checkpoint: %w", err)
	}
	if resume.IsZero() {
		if resume, err = r.firstSyncStart(ctx, up, st.Flavor, start); err != nil {
			return err
		}
		if err := r.startSync(ctx, up, target, rl, tr, resume); err != nil {
			return err
		}
	}
	if r.spec.Mode != fsm.TaskModeIncremental {
		// The tracker is seeded and saved: sync needs the dump no more.
		r.cleanDumpFiles()
	}
	rd, err := newReader(ctx, resume, mainID)
	if err != nil {
		return fmt.Errorf("open binlog reader at %s: %w", resume, err)
	}
	defer rd.Close()
	r.unitTakesOver()
	if err := sy.Run(ctx, rd, resume); err != nil && ctx.Err() == nil {
		return unitGaveUp(fmt.Errorf("sync: %w", err))
	}
	return nil
}

// firstSyncStart is where sync starts without a checkpoint: start (the task's, or the dump's
// position), or the dump's GTID set alone when the source failed over since the dump.
func (r *runner) firstSyncStart(ctx context.Context, up *sql.DB, flavor string, start binlog.Location) (binlog.Location, error) {
	if start.IsZero() {
		return binlog.Location{}, errors.New("sync has neither a checkpoint nor a start position")
	}
	if r.spec.Mode == fsm.TaskModeIncremental {
		return start, nil
	}
	here, err := startHere(ctx, up, flavor, start)
	if err != nil {
		return binlog.Location{}, err
	}
	if here != start {
		r.s.logger.Info("the dump's position is not in the binlog of the server the source reaches now (it failed over): sync starts at the dump's GTID set",
			"task", r.task, "source", r.source, "dump_position", start.String(), "gtid", start.GTIDSet)
	}
	return here, nil
}

// startSync runs once per subtask, when sync first starts: it records the start position as
// the checkpoint and seeds the schema tracker with every migrated table as of that position
// — from the dump's schema files (taken at the dump position), or from the upstream for
// incremental tasks — and persists it, so rows written before later DDLs decode right even
// when the upstream has moved on.
func (r *runner) startSync(ctx context.Context, up, target *sql.DB, rl *rules.Rules, tr *tracker.Tracker, start binlog.Location) error {
	if err := syncer.SaveStart(ctx, target, r.spec.MetaSchema, r.task, r.source, start); err != nil {
		return fmt.Errorf("save sync start: %w", err)
	}
	seeded := false
	if r.spec.Mode != fsm.TaskModeIncremental {
		dir, err := r.s.dumpDir(r.spec, r.task, r.source)
		if err != nil {
			return err
		}
		if seeded, err = tr.SeedFromDump(dir); err != nil {
			return err
		}
	}
	if !seeded {
		// Incremental task, or the dump files are on another worker.
		if r.spec.Mode != fsm.TaskModeIncremental {
			r.s.logger.Warn("no dump files here to seed the schema tracker; using the upstream's current schema", "task", r.task, "source", r.source)
		}
		if err := tr.SeedFromUpstream(ctx, up, rl); err != nil {
			return err
		}
	}
	if err := syncer.SaveTracker(ctx, target, r.spec.MetaSchema, r.task, r.source, tr); err != nil {
		return fmt.Errorf("save schema tracker: %w", err)
	}
	return nil
}

// readerServerID gives every binlog reader its own server_id (two readers with one id kick each
// other off the upstream), stable across restarts and never the upstream's own.
func readerServerID(task, source, worker string, upstreamID uint32) uint32 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s/%s", task, source, worker)
	id := h.Sum32()&0x3fffffff | 0x40000000
	if id == upstreamID {
		id ^= 1
	}
	return id
}

// status reports the runner for the masters.
func (r *runner) status() peer.SubtaskStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := peer.SubtaskStatus{Task: r.task, Source: r.source, Stage: r.stage, Unit: r.unit, ErrorMsg: r.errMsg}
	if r.lapsed != "" {
		out.ErrorMsg = r.lapsed
	}
	if r.failed != nil {
		f := *r.failed
		out.FailedEvent = &f
	}
	if r.dump != nil {
		out.Dump = dumpStatus(r.dump.Progress())
	}
	var retrying *binlog.Retrying
	if r.loader != nil {
		p := r.loader.Progress()
		retrying = p.Retrying
		pct := 0.0
		if p.TotalBytes > 0 {
			pct = float64(p.FinishedBytes) * 100 / float64(p.TotalBytes)
		}
		out.Load = &peer.LoadStatus{
			FinishedBytes: p.FinishedBytes, TotalBytes: p.TotalBytes, Progress: fmt.Sprintf("%.2f %%", pct),
			MetaBinlog: r.dumpLoc.String(), MetaBinlogGtid: r.dumpLoc.GTIDSet,
		}
	}
	if r.syncer != nil {
		ss := r.syncer.Status()
		retrying = ss.Retrying
		out.Sync = &peer.SyncStatus{
			TotalEvents: ss.TotalEvents, TotalTps: ss.TotalTPS, RecentTps: ss.RecentTPS,
			MasterBinlog: ss.MasterBinlog, MasterBinlogGtid: ss.MasterBinlogGTID,
			SyncerBinlog: ss.SyncerBinlog, SyncerBinlogGtid: ss.SyncerBinlogGTID,
			BlockingDdls: ss.BlockingDDLs, UnresolvedGroups: []peer.ShardingGroup{},
			Synced: ss.Synced, BinlogType: ss.BinlogType, SecondsBehindMaster: ss.SecondsBehindMaster,
		}
		for _, g := range ss.UnresolvedGroups {
			out.Sync.UnresolvedGroups = append(out.Sync.UnresolvedGroups, peer.ShardingGroup{
				Target: g.Target, DdlList: g.DDLs, FirstLocation: g.FirstLocation, Synced: g.Synced, Unsynced: g.Unsynced,
			})
		}
		out.UnresolvedDDLLockID = ss.UnresolvedDDLLockID
	}
	if out.ErrorMsg == "" && r.stage == stageRunning {
		if r.startRetry != nil {
			out.ErrorMsg = startRetryMessage(r.startRetry)
		} else if retrying != nil {
			out.ErrorMsg = retryMessage(retrying)
		}
	}
	return out
}

// retryMessage is the error_msg of a running unit that retries a target error: the subtask
// stays Running and pauses with the error only if it lasts rt.For.
func retryMessage(rt *binlog.Retrying) string {
	return fmt.Sprintf("retrying a target error since %s (the subtask pauses if it lasts %v): %s",
		rt.Since.UTC().Format(time.RFC3339), rt.For, rt.Error)
}

// metricsLoop refreshes the per-subtask gauges.
func (s *Server) metricsLoop(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.refreshSubtaskMetrics()
	}
}

// refreshSubtaskMetrics sets the gauges of every subtask. It holds runnersMu, so a subtask
// removed meanwhile (reconcileSubtasks deletes its series) does not get them back.
func (s *Server) refreshSubtaskMetrics() {
	s.runnersMu.Lock()
	defer s.runnersMu.Unlock()
	for _, r := range s.runners {
		st := r.status()
		s.metrics.taskState.WithLabelValues(st.Task, st.Source, s.cfg.Name).Set(stageValue(st.Stage))
		s.metrics.subtaskSeries(st.Task, st.Source)
		if r.spec.Mode != fsm.TaskModeIncremental {
			d := st.Dump
			if d == nil {
				d = &peer.DumpStatus{}
			}
			s.metrics.dump.set(st.Task, st.Source, d)
		}
		if st.Load != nil {
			s.metrics.loadSize.WithLabelValues(st.Task, st.Source).Set(float64(st.Load.TotalBytes))
			if st.Load.TotalBytes > 0 {
				s.metrics.loadProgress.WithLabelValues(st.Task, st.Source).Set(float64(st.Load.FinishedBytes) / float64(st.Load.TotalBytes))
			}
		}
	}
}
