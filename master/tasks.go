package master

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/binlog/syncer"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
	"github.com/dm-oss/dm/worker/settings"
)

// CreateTask validates everything, prechecks the target and every upstream, then starts one
// subtask per source.
func (s *Server) CreateTask(ctx context.Context, req restapi.CreateTaskRequest) (restapi.Task, []string, error) {
	plan, err := s.planTask(ctx, req)
	if err != nil {
		return restapi.Task{}, nil, err
	}
	// Creates of one task run one after the other, so that concurrent ones neither race on
	// the target's probe table nor drop the checkpoints of the one that won: the first
	// creates the task, the others find it and answer 46014.
	unlock, err := s.taskCreates.lock(ctx, plan.spec.Name)
	if err != nil {
		return restapi.Task{}, nil, fmt.Errorf("wait for another create of task %q: %w", plan.spec.Name, err)
	}
	defer unlock()
	removeMeta := req.RemoveMeta != nil && *req.RemoveMeta
	if err := s.refuseExistingTask(plan.spec.Name, plan.sources, removeMeta); err != nil {
		return restapi.Task{}, nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*upstreamTimeout)
	defer cancel()
	report := s.precheck(cctx, plan.spec, plan.sources, true)
	if err := report.failure(); err != nil {
		return restapi.Task{}, nil, err
	}
	plan.spec.PrecheckWarnings = report.warningsBySource()
	if removeMeta {
		if err := s.removeTaskMeta(cctx, plan.spec); err != nil {
			return restapi.Task{}, nil, err
		}
	} else if err := s.resetOwners(cctx, plan.spec, plan.sources); err != nil {
		return restapi.Task{}, nil, err
	}
	subtasks := map[string]*fsm.Subtask{}
	for _, src := range plan.sources {
		subtasks[src] = &fsm.Subtask{Source: src, Stage: fsm.StageRunning}
	}
	if _, err := s.apply(ctx, fsm.AddTask{Task: fsm.Task{Name: plan.spec.Name, Spec: plan.spec, Subtasks: subtasks}}); err != nil {
		return restapi.Task{}, nil, err
	}
	s.logger.Info("task started", "task", plan.spec.Name, "mode", plan.spec.Mode, "sources", plan.sources)
	task, err := maskedTask(plan.spec)
	return task, report.warnings(), err
}

// openTarget connects to the task's target; a target that cannot be reached is the caller's
// error (400).
func (s *Server) openTarget(ctx context.Context, t fsm.TaskSpec) (*sql.DB, error) {
	c, err := s.cipher(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := settings.Target(t.Target, c)
	if err != nil {
		return nil, err
	}
	db, err := upstream.Open(ctx, cfg)
	if err != nil {
		return nil, badRequest(fsm.CodeDBDriver, "target database: %v", err)
	}
	return db, nil
}

// removeTaskMeta drops the task's checkpoint tables in the target's meta schema.
func (s *Server) removeTaskMeta(ctx context.Context, t fsm.TaskSpec) error {
	db, err := s.openTarget(ctx, t)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, suffix := range []string{"_loader_checkpoint", "_syncer_checkpoint", "_syncer_sharding_meta", "_onlineddl", "_syncer_owner", "_loader_owner"} {
		q := "DROP TABLE IF EXISTS " + upstream.QuoteName(t.MetaSchema) + "." + upstream.QuoteName(t.Name+suffix)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return badRequest(fsm.CodeDBDriver, "remove_meta: %v", err)
		}
	}
	s.logger.Info("task meta removed", "task", t.Name, "meta_schema", t.MetaSchema)
	return nil
}

// resetOwners forgets the load and sync units' owner fence of the sources a task is created on
// (syncer.ResetOwners says why).
func (s *Server) resetOwners(ctx context.Context, t fsm.TaskSpec, sources []string) error {
	db, err := s.openTarget(ctx, t)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := syncer.ResetOwners(ctx, db, t.MetaSchema, t.Name, sources); err != nil {
		return badRequest(fsm.CodeDBDriver, "%v", err)
	}
	if err := load.ResetOwners(ctx, db, t.MetaSchema, t.Name, sources); err != nil {
		return badRequest(fsm.CodeDBDriver, "%v", err)
	}
	return nil
}

// maskedTask returns the task as created, target password masked and TLS contents dropped.
func maskedTask(st fsm.TaskSpec) (restapi.Task, error) {
	var t restapi.Task
	if err := json.Unmarshal(st.API, &t); err != nil {
		return t, fmt.Errorf("decode stored task %q: %w", st.Name, err)
	}
	t.TargetConfig.Password = maskedPassword
	if sec := t.TargetConfig.Security; sec != nil {
		t.TargetConfig.Security = &restapi.Security{CertAllowedCn: sec.CertAllowedCn}
	}
	return t, nil
}

// ListTasks returns every task as created, masked, sorted by name; withStatus adds each
// task's status_list, asking every worker for its report once for all tasks.
func (s *Server) ListTasks(ctx context.Context, withStatus bool) ([]restapi.Task, error) {
	reports := newWorkerReports(s)
	var out []restapi.Task
	for _, t := range s.state.Tasks() {
		view, err := maskedTask(t.Spec)
		if err != nil {
			return nil, err
		}
		if withStatus {
			st := s.subtaskStatuses(ctx, t, nil, "", reports)
			if st == nil {
				st = []restapi.SubTaskStatus{}
			}
			view.StatusList = &st
		}
		out = append(out, view)
	}
	return out, nil
}

// DeleteTask stops and removes subtasks; the target's checkpoints stay (remove_meta drops
// them on the next start).
func (s *Server) DeleteTask(ctx context.Context, name string, sources []string) error {
	if _, ok := s.state.Task(name); !ok {
		return badRequest(fsm.CodeTaskNotExist, "task %q does not exist", name)
	}
	if _, err := s.apply(ctx, fsm.DeleteSubtasks{Task: name, Sources: sources}); err != nil {
		return err
	}
	s.logger.Info("task stopped", "task", name, "sources", sources)
	return nil
}

// SetTaskStage pauses or resumes subtasks.
func (s *Server) SetTaskStage(ctx context.Context, name string, sources []string, running bool) error {
	stage := fsm.StagePaused
	if running {
		stage = fsm.StageRunning
	}
	if _, err := s.apply(ctx, fsm.SetSubtaskStage{Task: name, Sources: sources, Stage: stage}); err != nil {
		return err
	}
	s.logger.Info("task stage set", "task", name, "sources", sources, "stage", stage)
	return nil
}

// TaskStatus gathers one entry per subtask from the workers. A worker that cannot be reached
// gives its entry an error_msg; the call itself does not fail.
func (s *Server) TaskStatus(ctx context.Context, name string, sources []string, stage string) ([]restapi.SubTaskStatus, error) {
	t, ok := s.state.Task(name)
	if !ok {
		return nil, badRequest(fsm.CodeTaskNotExist, "task %q does not exist", name)
	}
	want := map[string]bool{}
	for _, src := range sources {
		if _, ok := t.Subtasks[src]; !ok {
			return nil, badRequest(fsm.CodeSourceNotInTask, "source %q is not part of task %q", src, name)
		}
		want[src] = true
	}
	return s.subtaskStatuses(ctx, t, want, stage, newWorkerReports(s)), nil
}

// workerReports fetches each worker's status report at most once, remembering failures, so
// that the status of many subtasks on one worker costs one call.
type workerReports struct {
	s       *Server
	reports map[string]peer.WorkerStatus
	errs    map[string]string
}

func newWorkerReports(s *Server) *workerReports {
	return &workerReports{s: s, reports: map[string]peer.WorkerStatus{}, errs: map[string]string{}}
}

// get returns the worker's report, or the error message of the failed fetch.
func (w *workerReports) get(ctx context.Context, worker string) (peer.WorkerStatus, string) {
	if msg, failed := w.errs[worker]; failed {
		return peer.WorkerStatus{}, msg
	}
	if rep, seen := w.reports[worker]; seen {
		return rep, ""
	}
	rep, err := w.s.fetchWorkerStatus(ctx, worker)
	if err != nil {
		w.errs[worker] = err.Error()
		return peer.WorkerStatus{}, w.errs[worker]
	}
	w.reports[worker] = rep
	return rep, ""
}

// subtaskStatuses builds one entry per subtask of t on the wanted sources (all when empty),
// sorted by source, keeping those in stage (all when empty).
func (s *Server) subtaskStatuses(ctx context.Context, t fsm.Task, want map[string]bool, stage string, reports *workerReports) []restapi.SubTaskStatus {
	names := make([]string, 0, len(t.Subtasks))
	for src := range t.Subtasks {
		if len(want) == 0 || want[src] {
			names = append(names, src)
		}
	}
	sort.Strings(names)
	firstUnit := peer.FirstUnit(t.Spec)

	var out []restapi.SubTaskStatus
	for _, src := range names {
		sub := t.Subtasks[src]
		entry := restapi.SubTaskStatus{Name: t.Spec.Name, SourceName: src, Stage: string(sub.Stage), Unit: peer.UnitInvalid}
		if warn := t.Spec.PrecheckWarnings[src]; len(warn) > 0 {
			entry.Warnings = &warn
		}
		worker, bound := s.state.BoundWorker(src)
		if !bound {
			msg := fmt.Sprintf("source %q has no bound worker", src)
			entry.ErrorMsg = &msg
		} else {
			entry.WorkerName = worker
			if rep, msg := reports.get(ctx, worker); msg != "" {
				entry.ErrorMsg = &msg
			} else {
				fillSubtaskStatus(&entry, rep, t.Spec.Name, src, firstUnit)
			}
		}
		if stage != "" && !strings.EqualFold(stage, entry.Stage) {
			continue
		}
		out = append(out, entry)
	}
	return out
}

func (s *Server) fetchWorkerStatus(ctx context.Context, worker string) (peer.WorkerStatus, error) {
	w, ok := s.state.Worker(worker)
	if !ok {
		return peer.WorkerStatus{}, fmt.Errorf("worker %q is not registered", worker)
	}
	if !s.live.online(w) {
		return peer.WorkerStatus{}, fmt.Errorf("worker %q is offline", worker)
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	st, err := s.workers.WorkerStatus(cctx, w.Addr)
	if err != nil {
		return peer.WorkerStatus{}, fmt.Errorf("worker %q did not answer: %w", worker, err)
	}
	return st, nil
}

// fillSubtaskStatus copies the worker's report on one subtask into the API entry; a subtask
// the worker has not picked up yet is New, in the first unit it will run.
func fillSubtaskStatus(entry *restapi.SubTaskStatus, rep peer.WorkerStatus, task, source, firstUnit string) {
	for _, st := range rep.Subtasks {
		if st.Task != task || st.Source != source {
			continue
		}
		entry.Stage, entry.Unit = st.Stage, st.Unit
		if st.ErrorMsg != "" {
			msg := st.ErrorMsg
			entry.ErrorMsg = &msg
		}
		entry.DumpStatus = (*restapi.DumpStatus)(st.Dump)
		entry.LoadStatus = (*restapi.LoadStatus)(st.Load)
		entry.SyncStatus = apiSyncStatus(st.Sync)
		lockID := st.UnresolvedDDLLockID
		entry.UnresolvedDdlLockId = &lockID
		return
	}
	entry.Unit = firstUnit
	if entry.Stage == string(fsm.StageRunning) {
		// The worker has not picked the subtask up yet.
		entry.Stage = string(fsm.StageNew)
	}
}

// apiSyncStatus is the worker's sync status as DM's sync_status.
func apiSyncStatus(st *peer.SyncStatus) *restapi.SyncStatus {
	if st == nil {
		return nil
	}
	out := &restapi.SyncStatus{
		BinlogType: st.BinlogType, BlockingDdls: st.BlockingDdls, MasterBinlog: st.MasterBinlog, MasterBinlogGtid: st.MasterBinlogGtid,
		RecentTps: st.RecentTps, SecondsBehindMaster: st.SecondsBehindMaster, Synced: st.Synced,
		SyncerBinlog: st.SyncerBinlog, SyncerBinlogGtid: st.SyncerBinlogGtid, TotalEvents: st.TotalEvents, TotalTps: st.TotalTps,
	}
	if st.UnresolvedGroups != nil {
		out.UnresolvedGroups = make([]restapi.ShardingGroup, len(st.UnresolvedGroups))
		for i, g := range st.UnresolvedGroups {
			out.UnresolvedGroups[i] = restapi.ShardingGroup(g)
		}
	}
	return out
}
