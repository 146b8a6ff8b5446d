package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/apierr"
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

// identPattern is what we accept for meta_schema, a database we create in the target.
var identPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)

// taskPlan is a validated CreateTaskRequest.
type taskPlan struct {
	spec    fsm.TaskSpec
	sources []string // the subtasks to start
}

// planTask checks the request without touching any database (taskSpec), then the subtasks to
// start.
func (s *Server) planTask(ctx context.Context, req restapi.CreateTaskRequest) (taskPlan, error) {
	spec, order, err := s.taskSpec(ctx, req.Task)
	if err != nil {
		return taskPlan{}, err
	}
	start, err := s.startSources(req, spec.Sources, order)
	if err != nil {
		return taskPlan{}, err
	}
	return taskPlan{spec: spec, sources: start}, nil
}

// taskSpec checks a task without touching any database and builds its spec: the task's own
// settings first (every problem in one answer), then its sources, rules and filters; the spec
// is sealed with its secrets encrypted. It also returns the sources in the order given. It is
// the one validation of a task, for create, update and check alike.
func (s *Server) taskSpec(ctx context.Context, t restapi.Task) (fsm.TaskSpec, []string, error) {
	spec, err := taskSettings(t, s.res.dumpDirs)
	if err != nil {
		return fsm.TaskSpec{}, nil, err
	}
	sources, order, err := s.subtaskSpecs(t, spec.Mode)
	if err != nil {
		return fsm.TaskSpec{}, nil, err
	}
	spec.Filters = taskFilters(t)
	if err := addMigrateRules(t, sources); err != nil {
		return fsm.TaskSpec{}, nil, err
	}
	spec.Sources = sources
	if err := checkTaskRules(spec); err != nil {
		return fsm.TaskSpec{}, nil, err
	}
	if err := s.sealTask(ctx, &spec, t); err != nil {
		return fsm.TaskSpec{}, nil, err
	}
	return spec, order, nil
}

// problems gathers every problem of a request, so that one answer names them all.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// within sets *dst to *v when given, which must be in [1, maxVal].
func (p *problems) within(name string, v *int, maxVal int, dst *int) {
	if v == nil {
		return
	}
	if *v < 1 || *v > maxVal {
		p.add("%s must be between 1 and %d, got %d", name, maxVal, *v)
		return
	}
	*dst = *v
}

// err is the 400 naming every problem, sorted; nil when there is none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	sorted := slices.Clone(p)
	sort.Strings(sorted)
	return badRequest(fsm.CodeRequestInvalid, "invalid task: %s", strings.Join(sorted, "; "))
}

// taskSettings checks and normalises the task's own settings (name, modes, meta schema,
// target, tuning knobs with DM's defaults): the spec without sources, filters and secrets.
func taskSettings(t restapi.Task, dumpDirs []string) (fsm.TaskSpec, error) {
	var p problems
	spec := fsm.TaskSpec{
		Version: fsm.TaskSpecVersion, Name: t.Name, Mode: string(t.TaskMode), OnDuplicate: string(t.OnDuplicate), MetaSchema: defaultMetaSchema,
		EnhanceOnlineSchemaChange: t.EnhanceOnlineSchemaChange == nil || *t.EnhanceOnlineSchemaChange, // default true
		Collation:                 string(restapi.TaskCollationCompatibleStrict),
		KeepDumpFiles:             t.CleanDumpFile != nil && !*t.CleanDumpFile,
	}
	if !restapi.ValidTaskName(t.Name) {
		p.add("task name %q must be 1-%d letters, digits, '_' or '-', not starting with '-'", apierr.Clip(t.Name), restapi.MaxTaskNameLen)
	}
	switch spec.Mode {
	case fsm.TaskModeAll, fsm.TaskModeFull, fsm.TaskModeIncremental:
	default:
		p.add("task_mode %q must be all, full or incremental", spec.Mode)
	}
	if t.ShardMode != nil {
		spec.ShardMode = string(*t.ShardMode)
		if spec.ShardMode != "pessimistic" && spec.ShardMode != "optimistic" {
			p.add("shard_mode %q must be pessimistic or optimistic (or absent)", spec.ShardMode)
		}
	}
	switch spec.OnDuplicate {
	case "overwrite", "replace", "ignore", "error":
	default:
		p.add("on_duplicate %q must be overwrite, replace, ignore or error", spec.OnDuplicate)
	}
	if t.MetaSchema != nil && *t.MetaSchema != "" {
		spec.MetaSchema = *t.MetaSchema
	}
	if !identPattern.MatchString(spec.MetaSchema) {
		p.add("meta_schema %q must be 1-64 letters, digits, '_' or '-'", apierr.Clip(spec.MetaSchema))
	}
	if t.CollationCompatible != nil {
		spec.Collation = string(*t.CollationCompatible)
	}
	checkTarget(t.TargetConfig, &p)
	spec.Full = fullSpec(t.SourceConfig.FullMigrateConf, dumpDirs, &p)
	spec.Incr = incrSpec(t.SourceConfig.IncrMigrateConf, &p)
	return spec, p.err()
}

func checkTarget(tg restapi.TaskTargetDataBase, p *problems) {
	if strings.TrimSpace(tg.Host) == "" {
		p.add("target_config.host is required")
	}
	if tg.Port < 1 || tg.Port > 65535 {
		p.add("target_config.port %d is out of range 1-65535", tg.Port)
	}
	if tg.User == "" {
		p.add("target_config.user is required")
	}
}

// fullSpec is full_migrate_conf with DM's defaults; an absolute data_dir must lie inside one
// of dumpDirs (dump-dir-allowed).
func fullSpec(fc *restapi.TaskFullMigrateConf, dumpDirs []string, p *problems) fsm.FullSpec {
	full := fsm.FullSpec{ExportThreads: defaultExportThreads, ImportThreads: defaultImportThreads, DataDir: defaultDataDir, Consistency: defaultConsistency}
	if fc == nil {
		return full
	}
	p.within("full_migrate_conf.export_threads", fc.ExportThreads, restapi.MaxThreads, &full.ExportThreads)
	p.within("full_migrate_conf.import_threads", fc.ImportThreads, restapi.MaxThreads, &full.ImportThreads)
	if fc.DataDir != nil && *fc.DataDir != "" {
		full.DataDir = *fc.DataDir
		if problem := dataDirProblem(full.DataDir, dumpDirs); problem != "" {
			p.add("full_migrate_conf.data_dir %q %s", apierr.Clip(full.DataDir), problem)
		}
	}
	if fc.Consistency != nil {
		full.Consistency = string(*fc.Consistency)
		switch full.Consistency {
		case "auto", "none", "flush", "snapshot", "lock":
		default:
			p.add("full_migrate_conf.consistency %q must be auto, none, flush, snapshot or lock", full.Consistency)
		}
	}
	return full
}

// dataDirProblem says why a task's data_dir is refused ("" when it is not): a relative one
// must stay inside the worker's data-dir (no '..' out of it), an absolute one, once cleaned,
// inside one of the allowed directories.
func dataDirProblem(dir string, allowed []string) string {
	if !filepath.IsAbs(dir) {
		if !filepath.IsLocal(dir) {
			return "must stay inside the worker's data directory (no '..' out of it)"
		}
		return ""
	}
	clean := filepath.Clean(dir)
	for _, base := range allowed {
		if rel, err := filepath.Rel(base, clean); err == nil && (rel == "." || filepath.IsLocal(rel)) {
			return ""
		}
	}
	if len(allowed) == 0 {
		return "is absolute: use a path relative to the worker's data directory, or list a directory holding it in the masters' dump-dir-allowed"
	}
	return fmt.Sprintf("is outside the masters' dump-dir-allowed (%s)", strings.Join(allowed, ", "))
}

// incrSpec is incr_migrate_conf with DM's defaults.
func incrSpec(ic *restapi.TaskIncrMigrateConf, p *problems) fsm.IncrSpec {
	incr := fsm.IncrSpec{ReplThreads: defaultReplThreads, ReplBatch: defaultReplBatch}
	if ic != nil {
		p.within("incr_migrate_conf.repl_threads", ic.ReplThreads, restapi.MaxThreads, &incr.ReplThreads)
		p.within("incr_migrate_conf.repl_batch", ic.ReplBatch, restapi.MaxReplBatch, &incr.ReplBatch)
	}
	return incr
}

// subtaskSpecs checks source_conf: each source must exist and appear once, and an incremental
// task needs a start point on each. It returns the sources' settings (without rules yet) and
// the sources in the order given.
func (s *Server) subtaskSpecs(t restapi.Task, mode string) (map[string]fsm.SubtaskSpec, []string, error) {
	if len(t.SourceConfig.SourceConf) == 0 {
		return nil, nil, badRequest(fsm.CodeRequestInvalid, "invalid task: source_config.source_conf must name at least one source")
	}
	sources := map[string]fsm.SubtaskSpec{}
	var order []string
	for _, sc := range t.SourceConfig.SourceConf {
		if _, ok := s.state.Source(sc.SourceName); !ok {
			return nil, nil, badRequest(fsm.CodeTaskSourceNotFound, "source %q of the task does not exist: create it first", sc.SourceName)
		}
		if _, dup := sources[sc.SourceName]; dup {
			return nil, nil, badRequest(fsm.CodeRequestInvalid, "invalid task: source %q appears twice in source_conf", sc.SourceName)
		}
		conf := fsm.SubtaskSpec{}
		if sc.BinlogName != nil {
			conf.BinlogName = *sc.BinlogName
		}
		if sc.BinlogPos != nil {
			if *sc.BinlogPos < 0 {
				return nil, nil, badRequest(fsm.CodeRequestInvalid, "invalid task: binlog_pos of source %q must not be negative", sc.SourceName)
			}
			conf.BinlogPos = uint32(*sc.BinlogPos)
		}
		if sc.BinlogGtid != nil {
			conf.BinlogGTID = *sc.BinlogGtid
		}
		if mode == fsm.TaskModeIncremental && conf.BinlogGTID == "" && (conf.BinlogName == "" || conf.BinlogPos == 0) {
			return nil, nil, badRequest(fsm.CodeRequestInvalid,
				"invalid task: an incremental task needs a start point for source %q: binlog_name and binlog_pos, or binlog_gtid, in source_conf", sc.SourceName)
		}
		sources[sc.SourceName] = conf
		order = append(order, sc.SourceName)
	}
	return sources, order, nil
}

// taskFilters is binlog_filter_rule by name.
func taskFilters(t restapi.Task) map[string]fsm.FilterSpec {
	filters := map[string]fsm.FilterSpec{}
	if t.BinlogFilterRule == nil {
		return filters
	}
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
	return filters
}

// addMigrateRules hands each table_migrate_rule to its source, which must be in source_conf.
func addMigrateRules(t restapi.Task, sources map[string]fsm.SubtaskSpec) error {
	if len(t.TableMigrateRule) == 0 {
		return badRequest(fsm.CodeRequestInvalid, "invalid task: table_migrate_rule must name at least one table pattern")
	}
	for i, r := range t.TableMigrateRule {
		conf, ok := sources[r.Source.SourceName]
		if !ok {
			return badRequest(fsm.CodeTaskSourceNotFound, "table_migrate_rule[%d] names source %q, which is not in source_config.source_conf", i, r.Source.SourceName)
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
	return nil
}

// checkTaskRules compiles every source's rules as its worker will. A rule naming a filter that
// does not exist is told in DM's own words (CodeOpenAPICommon), any other bad rule is invalid.
func checkTaskRules(spec fsm.TaskSpec) error {
	for _, name := range slices.Sorted(maps.Keys(spec.Sources)) {
		if _, err := settings.Rules(spec, name); err != nil {
			code := fsm.CodeRequestInvalid
			if errors.Is(err, rules.ErrUnknownFilter) {
				code = fsm.CodeOpenAPICommon
			}
			return badRequest(code, "invalid task: %v", err)
		}
	}
	return nil
}

// startSources is the subtasks to start: source_name_list, or every source of the task. Each
// must have a bound worker.
func (s *Server) startSources(req restapi.CreateTaskRequest, sources map[string]fsm.SubtaskSpec, order []string) ([]string, error) {
	start, err := listedSources(req, sources, order)
	if err != nil {
		return nil, err
	}
	for _, src := range start {
		if _, bound := s.state.BoundWorker(src); !bound {
			return nil, badRequest(fsm.CodeSourceUnbound, "source %q has no bound worker: start a free dm-worker first", src)
		}
	}
	return start, nil
}

// listedSources is source_name_list, each of which must be a source of the task, or every
// source of the task in the order given.
func listedSources(req restapi.CreateTaskRequest, sources map[string]fsm.SubtaskSpec, order []string) ([]string, error) {
	if req.SourceNameList == nil || len(*req.SourceNameList) == 0 {
		return order, nil
	}
	var listed []string
	for _, src := range *req.SourceNameList {
		if _, ok := sources[src]; !ok {
			return nil, badRequest(fsm.CodeTaskSourceNotFound, "source %q in source_name_list is not one of the task's sources", src)
		}
		listed = append(listed, src)
	}
	return listed, nil
}

// sealTask completes the spec with the target, its secrets encrypted, and the task as created
// (defaults filled in, secrets encrypted), which GET /tasks answers with.
func (s *Server) sealTask(ctx context.Context, spec *fsm.TaskSpec, t restapi.Task) error {
	c, err := s.cipher(ctx)
	if err != nil {
		return err
	}
	tg := t.TargetConfig
	pwd, err := c.Encrypt(tg.Password)
	if err != nil {
		return fmt.Errorf("encrypt target password: %w", err)
	}
	spec.Target = fsm.TargetSpec{Host: tg.Host, Port: tg.Port, User: tg.User, PasswordEnc: pwd}
	created := t
	created.TargetConfig.Password = pwd
	collation := restapi.TaskCollationCompatible(spec.Collation)
	created.MetaSchema, created.EnhanceOnlineSchemaChange, created.CollationCompatible = &spec.MetaSchema, &spec.EnhanceOnlineSchemaChange, &collation
	if sec := tg.Security; sec != nil && (sec.SslCaContent != "" || sec.SslCertContent != "") {
		key, err := c.Encrypt(sec.SslKeyContent)
		if err != nil {
			return fmt.Errorf("encrypt target TLS key: %w", err)
		}
		spec.Target.Security = &fsm.TLSSpec{SSLCA: sec.SslCaContent, SSLCert: sec.SslCertContent, SSLKeyEnc: key}
		if sec.CertAllowedCn != nil {
			spec.Target.Security.CertAllowedCN = *sec.CertAllowedCn
		}
		// The copy as created must not keep the private key in clear either.
		secCopy := *sec
		secCopy.SslKeyContent = key
		created.TargetConfig.Security = &secCopy
	}
	api, err := json.Marshal(created)
	if err != nil {
		return fmt.Errorf("encode task: %w", err)
	}
	spec.API = api
	return nil
}
