package master

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
	"github.com/dm-oss/dm/worker/settings"
)

// DM's defaults for a task's tuning knobs.
const (
	defaultExportThreads = 4
	defaultImportThreads = 16
	defaultReplThreads   = 16
	defaultReplBatch     = 100
	defaultDataDir       = "./dumped_data"
	defaultMetaSchema    = "dm_meta"
	defaultConsistency   = "auto"
)

// identPattern is what we accept for names we create in the target or on disk.
var identPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)

// taskPlan is a validated CreateTaskRequest.
type taskPlan struct {
	spec    fsm.TaskSpec
	sources []string // the subtasks to start
}

// CreateTask validates everything, prechecks the target and every upstream, then starts one
// subtask per source.
func (s *Server) CreateTask(ctx context.Context, req restapi.CreateTaskRequest) (restapi.Task, []string, error) {
	plan, err := s.planTask(req)
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
	if err := s.precheckTarget(cctx, plan.spec); err != nil {
		return restapi.Task{}, nil, err
	}
	var warnings []string
	for _, src := range plan.sources {
		warn, err := s.precheckUpstream(cctx, plan.spec, src)
		if err != nil {
			return restapi.Task{}, nil, err
		}
		warnings = append(warnings, warn...)
		if len(warn) > 0 {
			if plan.spec.PrecheckWarnings == nil {
				plan.spec.PrecheckWarnings = map[string][]string{}
			}
			plan.spec.PrecheckWarnings[src] = warn
		}
	}
	if removeMeta {
		if err := s.removeTaskMeta(cctx, plan.spec); err != nil {
			return restapi.Task{}, nil, err
		}
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
	return task, warnings, err
}

// planTask checks the request without touching any database.
func (s *Server) planTask(req restapi.CreateTaskRequest) (taskPlan, error) {
	t := req.Task
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if !identPattern.MatchString(t.Name) {
		add("task name %q must be 1-64 letters, digits, '_' or '-'", t.Name)
	}
	mode := string(t.TaskMode)
	switch mode {
	case "all", "full", "incremental":
	default:
		add("task_mode %q must be all, full or incremental", mode)
	}
	shard := ""
	if t.ShardMode != nil {
		shard = string(*t.ShardMode)
		if shard != "pessimistic" && shard != "optimistic" {
			add("shard_mode %q must be pessimistic or optimistic (or absent)", shard)
		}
	}
	onDup := string(t.OnDuplicate)
	switch onDup {
	case "overwrite", "replace", "ignore", "error":
	default:
		add("on_duplicate %q must be overwrite, replace, ignore or error", onDup)
	}
	meta := defaultMetaSchema
	if t.MetaSchema != nil && *t.MetaSchema != "" {
		meta = *t.MetaSchema
	}
	if !identPattern.MatchString(meta) {
		add("meta_schema %q must be 1-64 letters, digits, '_' or '-'", meta)
	}
	tg := t.TargetConfig
	if strings.TrimSpace(tg.Host) == "" {
		add("target_config.host is required")
	}
	if tg.Port < 1 || tg.Port > 65535 {
		add("target_config.port %d is out of range 1-65535", tg.Port)
	}
	if tg.User == "" {
		add("target_config.user is required")
	}

	full := fsm.FullSpec{ExportThreads: defaultExportThreads, ImportThreads: defaultImportThreads, DataDir: defaultDataDir, Consistency: defaultConsistency}
	incr := fsm.IncrSpec{ReplThreads: defaultReplThreads, ReplBatch: defaultReplBatch}
	positive := func(name string, v *int, dst *int) {
		if v == nil {
			return
		}
		if *v <= 0 {
			add("%s must be greater than 0, got %d", name, *v)
			return
		}
		*dst = *v
	}
	if fc := t.SourceConfig.FullMigrateConf; fc != nil {
		positive("full_migrate_conf.export_threads", fc.ExportThreads, &full.ExportThreads)
		positive("full_migrate_conf.import_threads", fc.ImportThreads, &full.ImportThreads)
		if fc.DataDir != nil && *fc.DataDir != "" {
			full.DataDir = *fc.DataDir
			if !filepath.IsAbs(full.DataDir) && !filepath.IsLocal(full.DataDir) {
				add("full_migrate_conf.data_dir %q must stay inside the worker's data directory (no '..'), or be absolute", full.DataDir)
			}
		}
		if fc.Consistency != nil {
			full.Consistency = string(*fc.Consistency)
			switch full.Consistency {
			case "auto", "none", "flush", "snapshot", "lock":
			default:
				add("full_migrate_conf.consistency %q must be auto, none, flush, snapshot or lock", full.Consistency)
			}
		}
	}
	if ic := t.SourceConfig.IncrMigrateConf; ic != nil {
		positive("incr_migrate_conf.repl_threads", ic.ReplThreads, &incr.ReplThreads)
		positive("incr_migrate_conf.repl_batch", ic.ReplBatch, &incr.ReplBatch)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return taskPlan{}, badRequest(fsm.CodeRequestInvalid, "invalid task: %s", strings.Join(problems, "; "))
	}

	// Sources: each must exist and be bound; incremental tasks need a start point.
	if len(t.SourceConfig.SourceConf) == 0 {
		return taskPlan{}, badRequest(fsm.CodeRequestInvalid, "invalid task: source_config.source_conf must name at least one source")
	}
	sources := map[string]fsm.SubtaskSpec{}
	var order []string
	for _, sc := range t.SourceConfig.SourceConf {
		if _, ok := s.state.Source(sc.SourceName); !ok {
			return taskPlan{}, badRequest(fsm.CodeTaskSourceNotFound, "source %q of the task does not exist: create it first", sc.SourceName)
		}
		if _, dup := sources[sc.SourceName]; dup {
			return taskPlan{}, badRequest(fsm.CodeRequestInvalid, "invalid task: source %q appears twice in source_conf", sc.SourceName)
		}
		conf := fsm.SubtaskSpec{}
		if sc.BinlogName != nil {
			conf.BinlogName = *sc.BinlogName
		}
		if sc.BinlogPos != nil {
			if *sc.BinlogPos < 0 {
				return taskPlan{}, badRequest(fsm.CodeRequestInvalid, "invalid task: binlog_pos of source %q must not be negative", sc.SourceName)
			}
			conf.BinlogPos = uint32(*sc.BinlogPos)
		}
		if sc.BinlogGtid != nil {
			conf.BinlogGTID = *sc.BinlogGtid
		}
		if mode == "incremental" && conf.BinlogGTID == "" && (conf.BinlogName == "" || conf.BinlogPos == 0) {
			return taskPlan{}, badRequest(fsm.CodeRequestInvalid,
				"invalid task: an incremental task needs a start point for source %q: binlog_name and binlog_pos, or binlog_gtid, in source_conf", sc.SourceName)
		}
		sources[sc.SourceName] = conf
		order = append(order, sc.SourceName)
	}

	filters := map[string]fsm.FilterSpec{}
	if t.BinlogFilterRule != nil {
		for name, f := range *t.BinlogFilterRule {
			tf := fsm.FilterSpec{}
			if f.IgnoreEvent != nil {
				tf.IgnoreEvents = *f.IgnoreEvent
			}
			if f.IgnoreSql != nil {
				tf.IgnoreSQL = *f.IgnoreSql
			}
			filters[name] = tf
		}
	}
	if len(t.TableMigrateRule) == 0 {
		return taskPlan{}, badRequest(fsm.CodeRequestInvalid, "invalid task: table_migrate_rule must name at least one table pattern")
	}
	for i, r := range t.TableMigrateRule {
		conf, ok := sources[r.Source.SourceName]
		if !ok {
			return taskPlan{}, badRequest(fsm.CodeTaskSourceNotFound, "table_migrate_rule[%d] names source %q, which is not in source_config.source_conf", i, r.Source.SourceName)
		}
		mr := fsm.RuleSpec{Schema: r.Source.Schema, Table: r.Source.Table}
		if r.Target != nil {
			mr.TargetSchema, mr.TargetTable = r.Target.Schema, r.Target.Table
		}
		if r.BinlogFilterRule != nil {
			mr.FilterRules = *r.BinlogFilterRule
		}
		conf.Rules = append(conf.Rules, mr)
		sources[r.Source.SourceName] = conf
	}
	check := fsm.TaskSpec{Filters: filters, Sources: sources}
	for name := range sources {
		if _, err := settings.Rules(check, name); err != nil {
			code := fsm.CodeRequestInvalid
			if errors.Is(err, rules.ErrUnknownFilter) {
				code = fsm.CodeOpenAPICommon
			}
			return taskPlan{}, badRequest(code, "invalid task: %v", err)
		}
	}

	start := order
	if req.SourceNameList != nil && len(*req.SourceNameList) > 0 {
		start = nil
		for _, src := range *req.SourceNameList {
			if _, ok := sources[src]; !ok {
				return taskPlan{}, badRequest(fsm.CodeTaskSourceNotFound, "source %q in source_name_list is not one of the task's sources", src)
			}
			start = append(start, src)
		}
	}
	for _, src := range start {
		if _, bound := s.state.BoundWorker(src); !bound {
			return taskPlan{}, badRequest(fsm.CodeSourceUnbound, "source %q has no bound worker: start a free dm-worker first", src)
		}
	}

	pwd, err := s.cipher.Encrypt(tg.Password)
	if err != nil {
		return taskPlan{}, fmt.Errorf("encrypt target password: %w", err)
	}
	collation := restapi.TaskCollationCompatibleStrict
	if t.CollationCompatible != nil {
		collation = *t.CollationCompatible
	}
	onlineDDL := t.EnhanceOnlineSchemaChange == nil || *t.EnhanceOnlineSchemaChange // default true
	apiCopy := t
	apiCopy.TargetConfig.Password = pwd
	apiCopy.MetaSchema = &meta
	apiCopy.EnhanceOnlineSchemaChange = &onlineDDL
	apiCopy.CollationCompatible = &collation
	apiJSON, err := json.Marshal(apiCopy)
	if err != nil {
		return taskPlan{}, fmt.Errorf("encode task: %w", err)
	}
	target := fsm.TargetSpec{Host: tg.Host, Port: tg.Port, User: tg.User, PasswordEnc: pwd}
	if sec := tg.Security; sec != nil && (sec.SslCaContent != "" || sec.SslCertContent != "") {
		key, err := s.cipher.Encrypt(sec.SslKeyContent)
		if err != nil {
			return taskPlan{}, fmt.Errorf("encrypt target TLS key: %w", err)
		}
		target.Security = &fsm.TLSSpec{SSLCA: sec.SslCaContent, SSLCert: sec.SslCertContent, SSLKeyEnc: key}
		if sec.CertAllowedCn != nil {
			target.Security.CertAllowedCN = *sec.CertAllowedCn
		}
		// The API copy must not keep the private key in clear either.
		apiCopy.TargetConfig.Security.SslKeyContent = key
		if apiJSON, err = json.Marshal(apiCopy); err != nil {
			return taskPlan{}, fmt.Errorf("encode task: %w", err)
		}
	}
	return taskPlan{
		spec: fsm.TaskSpec{
			Version: fsm.TaskSpecVersion, API: apiJSON, Name: t.Name, Mode: mode, ShardMode: shard, MetaSchema: meta, OnDuplicate: onDup,
			EnhanceOnlineSchemaChange: onlineDDL, Collation: string(collation), Target: target, Filters: filters,
			Full: full, Incr: incr, Sources: sources, KeepDumpFiles: t.CleanDumpFile != nil && !*t.CleanDumpFile,
		},
		sources: start,
	}, nil
}

// openTarget connects to the task's target; a target that cannot be reached is the caller's
// error (400).
func (s *Server) openTarget(ctx context.Context, t fsm.TaskSpec) (*sql.DB, error) {
	cfg, err := settings.Target(t.Target, s.cipher)
	if err != nil {
		return nil, err
	}
	db, err := upstream.Open(ctx, cfg)
	if err != nil {
		return nil, badRequest(fsm.CodeDBDriver, "target database: %v", err)
	}
	return db, nil
}

// precheckTarget makes sure the target is reachable and lets us create what we need: the meta
// schema and tables in it (a probe table is created and dropped).
func (s *Server) precheckTarget(ctx context.Context, t fsm.TaskSpec) error {
	db, err := s.openTarget(ctx, t)
	if err != nil {
		return err
	}
	defer db.Close()
	meta := upstream.QuoteName(t.MetaSchema)
	probe := meta + "." + upstream.QuoteName("_dm_precheck_"+t.Name)
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + meta,
		"CREATE TABLE IF NOT EXISTS " + probe + " (id INT PRIMARY KEY)",
		"REPLACE INTO " + probe + " VALUES (1)",
		"DROP TABLE " + probe,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return badRequest(fsm.CodeCheckFail, "target database %s:%d: the user cannot create and write tables in meta schema %q (%v); grant CREATE, DROP, SELECT, INSERT, UPDATE, DELETE, ALTER and INDEX", t.Target.Host, t.Target.Port, t.MetaSchema, err)
		}
	}
	return nil
}

// precheckUpstream runs the replication checks on one source of the task and returns its
// warnings: the rules that match no upstream database, and the migrated tables without a
// primary or unique key (they replicate, but their updates and deletes cost a full-row match).
func (s *Server) precheckUpstream(ctx context.Context, t fsm.TaskSpec, source string) ([]string, error) {
	db, err := s.openUpstream(ctx, source)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	src, err := s.loadSource(source)
	if err != nil {
		return nil, err
	}
	info, err := upstream.Inspect(ctx, db)
	if err != nil {
		return nil, badRequest(fsm.CodeDBDriver, "source %q: inspect the upstream: %v", source, err)
	}
	if t.Mode != "full" {
		problems, err := upstream.CheckSource(ctx, db, info, src.Spec.EnableGTID)
		if err != nil {
			return nil, badRequest(fsm.CodeDBDriver, "source %q: check the upstream: %v", source, err)
		}
		if len(problems) > 0 {
			msgs := make([]string, len(problems))
			for i, p := range problems {
				msgs[i] = p.Message
			}
			return nil, badRequest(fsm.CodeCheckFail, "precheck of source %q failed: %s", source, strings.Join(msgs, "; "))
		}
	}
	warnings := s.unmatchedRuleWarnings(ctx, db, t, source)
	noKey, err := upstream.TablesWithoutKey(ctx, db)
	if err == nil && len(noKey) > 0 {
		r, rerr := settings.Rules(t, source)
		var migrated []string
		for _, tb := range noKey {
			if rerr == nil && r.Match(tb.Schema, tb.Table) {
				migrated = append(migrated, tb.Schema+"."+tb.Table)
			}
		}
		if len(migrated) > 0 {
			s.logger.Warn("precheck: tables without a primary or unique key; they are migrated, but updates and deletes on them are slower",
				"task", t.Name, "source", source, "tables", migrated)
			warnings = append(warnings, fmt.Sprintf("source %s: tables without a primary or unique key (migrated, but their updates and deletes are slower): %s",
				source, strings.Join(migrated, ", ")))
		}
	}
	return warnings, nil
}

// removeTaskMeta drops the task's checkpoint tables in the target's meta schema.
func (s *Server) removeTaskMeta(ctx context.Context, t fsm.TaskSpec) error {
	db, err := s.openTarget(ctx, t)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, suffix := range []string{"_loader_checkpoint", "_syncer_checkpoint", "_syncer_sharding_meta", "_onlineddl"} {
		q := "DROP TABLE IF EXISTS " + upstream.QuoteName(t.MetaSchema) + "." + upstream.QuoteName(t.Name+suffix)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return badRequest(fsm.CodeDBDriver, "remove_meta: %v", err)
		}
	}
	s.logger.Info("task meta removed", "task", t.Name, "meta_schema", t.MetaSchema)
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

// ListTasks returns every task as created, masked, sorted by name.
func (s *Server) ListTasks(ctx context.Context) ([]restapi.Task, error) {
	var out []restapi.Task
	for _, t := range s.state.Tasks() {
		view, err := maskedTask(t.Spec)
		if err != nil {
			return nil, err
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
	names := make([]string, 0, len(t.Subtasks))
	for src := range t.Subtasks {
		if len(want) == 0 || want[src] {
			names = append(names, src)
		}
	}
	sort.Strings(names)
	firstUnit := peer.FirstUnit(t.Spec)

	reports := map[string]peer.WorkerStatus{}
	errs := map[string]string{}
	var out []restapi.SubTaskStatus
	for _, src := range names {
		sub := t.Subtasks[src]
		entry := restapi.SubTaskStatus{Name: name, SourceName: src, Stage: string(sub.Stage), Unit: peer.UnitInvalid}
		if warn := t.Spec.PrecheckWarnings[src]; len(warn) > 0 {
			entry.Warnings = &warn
		}
		worker, bound := s.state.BoundWorker(src)
		if !bound {
			msg := fmt.Sprintf("source %q has no bound worker", src)
			entry.ErrorMsg = &msg
		} else {
			entry.WorkerName = worker
			rep, seen := reports[worker]
			if _, failed := errs[worker]; !seen && !failed {
				var err error
				rep, err = s.fetchWorkerStatus(ctx, worker)
				if err != nil {
					errs[worker] = err.Error()
				} else {
					reports[worker] = rep
				}
			}
			if msg, failed := errs[worker]; failed {
				entry.ErrorMsg = &msg
			} else {
				fillSubtaskStatus(&entry, rep, name, src, firstUnit)
			}
		}
		if stage != "" && !strings.EqualFold(stage, entry.Stage) {
			continue
		}
		out = append(out, entry)
	}
	return out, nil
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
