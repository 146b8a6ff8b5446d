package master

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/worker/settings"
)

// refuseExistingTask answers DM's 46014 when the task exists and every subtask the request
// would start exists too, and whenever the task exists and remove_meta is set: dropping the
// checkpoints of subtasks that are running would make them copy everything again.
func (s *Server) refuseExistingTask(name string, sources []string, removeMeta bool) error {
	t, ok := s.state.Task(name)
	if !ok {
		return nil
	}
	existing := slices.Sorted(maps.Keys(t.Subtasks))
	if removeMeta {
		return badRequest(fsm.CodeSubtaskExist,
			"task %q already exists: subtasks with name %s for sources %v already exist, and remove_meta would drop their checkpoints; delete the task first (GET /api/v1/tasks/%s/status shows it)",
			name, name, existing, name)
	}
	for _, src := range sources {
		if _, ok := t.Subtasks[src]; !ok {
			return nil // DM adds the missing subtasks to the task
		}
	}
	return badRequest(fsm.CodeSubtaskExist,
		"task %q already exists: subtasks with name %s for sources %v already exist; GET /api/v1/tasks/%s/status shows it, delete it first to create it again",
		name, name, existing, name)
}

// check is one check of a task's precheck, as DM's checker reports it: what was checked, and
// how it went. failure is the error a create answers with (its code and message).
type check struct {
	name, desc  string
	source      string // the source it is about, "" for the target
	failure     error
	warnings    []string
	instruction string
}

// precheckReport is the checks of a task's precheck, in the order they ran.
type precheckReport []check

// precheck checks the task's target, then each of the sources: all of them, or up to the first
// failure when firstFailure is set (a create answers with that one).
func (s *Server) precheck(ctx context.Context, t fsm.TaskSpec, sources []string, firstFailure bool) precheckReport {
	r := precheckReport{s.checkTaskTarget(ctx, t)}
	for _, src := range sources {
		if firstFailure && r.failure() != nil {
			break
		}
		r = append(r, s.checkTaskSource(ctx, t, src)...)
	}
	return r
}

// failure is the first check that failed, nil when none did.
func (r precheckReport) failure() error {
	for _, c := range r {
		if c.failure != nil {
			return c.failure
		}
	}
	return nil
}

// warnings are the findings that are not errors, in order.
func (r precheckReport) warnings() []string {
	var out []string
	for _, c := range r {
		out = append(out, c.warnings...)
	}
	return out
}

// warningsBySource are the warnings of the sources' checks, for the task status; nil when
// there is none.
func (r precheckReport) warningsBySource() map[string][]string {
	var out map[string][]string
	for _, c := range r {
		if c.source == "" || len(c.warnings) == 0 {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[c.source] = append(out[c.source], c.warnings...)
	}
	return out
}

// checkTaskTarget makes sure the target is reachable and lets us create what we need: the
// meta schema and tables in it (a probe table is created and dropped).
func (s *Server) checkTaskTarget(ctx context.Context, t fsm.TaskSpec) check {
	c := check{name: "target database", desc: "the target can be reached, and the task's user can create and write tables in meta_schema",
		instruction: "grant CREATE, DROP, SELECT, INSERT, UPDATE, DELETE, ALTER and INDEX to the target user"}
	db, err := s.openTarget(ctx, t)
	if err != nil {
		c.failure = err
		return c
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
			c.failure = badRequest(fsm.CodeCheckFail, "target database %s:%d: the user cannot create and write tables in meta schema %q (%v); grant CREATE, DROP, SELECT, INSERT, UPDATE, DELETE, ALTER and INDEX", t.Target.Host, t.Target.Port, t.MetaSchema, err)
			return c
		}
	}
	return c
}

// checkTaskSource runs the replication checks on one source of the task: the connection and
// binlog settings (a failure), then the rules that match no upstream database and the migrated
// tables without a primary or unique key (warnings: they replicate, but their updates and
// deletes cost a full-row match).
func (s *Server) checkTaskSource(ctx context.Context, t fsm.TaskSpec, source string) []check {
	conn := check{name: "source " + source + ": connection and binlog settings", source: source,
		desc:        "the source can be reached and replicated from: binlog on in ROW format with FULL row images, a server_id, the privileges, GTID when enabled",
		instruction: "fix the upstream's settings or the source's user, then check again"}
	db, err := s.openUpstream(ctx, source)
	if err != nil {
		conn.failure = err
		return []check{conn}
	}
	defer db.Close()
	if conn.failure = s.checkSourceBinlog(ctx, db, t, source); conn.failure != nil {
		return []check{conn}
	}
	rules := check{name: "source " + source + ": table rules", source: source,
		desc:     "every table_migrate_rule of the source matches an upstream database",
		warnings: s.unmatchedRuleWarnings(ctx, db, t, source)}
	return []check{conn, rules, s.checkTableKeys(ctx, db, t, source)}
}

// checkSourceBinlog inspects the upstream and, unless the task only copies (full), checks
// that it can be replicated from.
func (s *Server) checkSourceBinlog(ctx context.Context, db *sql.DB, t fsm.TaskSpec, source string) error {
	src, err := s.loadSource(source)
	if err != nil {
		return err
	}
	info, err := upstream.Inspect(ctx, db)
	if err != nil {
		return badRequest(fsm.CodeDBDriver, "source %q: inspect the upstream: %v", source, err)
	}
	if t.Mode == fsm.TaskModeFull {
		return nil
	}
	problems, err := upstream.CheckSource(ctx, db, info, src.Spec.EnableGTID)
	if err != nil {
		return badRequest(fsm.CodeDBDriver, "source %q: check the upstream: %v", source, err)
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Message
		}
		return badRequest(fsm.CodeCheckFail, "precheck of source %q failed: %s", source, strings.Join(msgs, "; "))
	}
	return nil
}

// checkTableKeys warns of the migrated tables without a primary or unique key.
func (s *Server) checkTableKeys(ctx context.Context, db *sql.DB, t fsm.TaskSpec, source string) check {
	c := check{name: "source " + source + ": primary or unique keys", source: source,
		desc: "every migrated table has a primary or unique key", instruction: "add a primary key to the tables named"}
	noKey, err := upstream.TablesWithoutKey(ctx, db)
	if err != nil || len(noKey) == 0 {
		return c
	}
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
		c.warnings = []string{fmt.Sprintf("source %s: tables without a primary or unique key (migrated, but their updates and deletes are slower): %s",
			source, strings.Join(migrated, ", "))}
	}
	return c
}

// unmatchedRuleWarnings names the source's table_migrate_rules whose schema pattern matches
// none of the databases the source's user can see. It is a warning, not an error: the
// database may be created later. A failure to list the databases only skips the check.
func (s *Server) unmatchedRuleWarnings(ctx context.Context, db *sql.DB, t fsm.TaskSpec, source string) []string {
	schemas, err := upstream.ListSchemas(ctx, db)
	if err != nil {
		s.logger.Warn("precheck: cannot list the upstream databases; rules that match none are not reported",
			"task", t.Name, "source", source, "err", err)
		return nil
	}
	tail := "a matching database created later is replicated"
	if t.Mode == fsm.TaskModeFull {
		tail = "the task copies nothing for it"
	}
	var out []string
	for _, r := range t.Sources[source].Rules {
		one, err := rules.New([]rules.MigrateRule{{SchemaPattern: r.Schema, TablePattern: r.Table}}, nil, false)
		if err != nil {
			continue // planTask compiled every rule already
		}
		one.Exclude(t.MetaSchema)
		if slices.ContainsFunc(schemas, one.MatchSchema) {
			continue
		}
		out = append(out, fmt.Sprintf("source %s: table_migrate_rule (schema %q, table %q) matched no upstream database when the task was created; %s",
			source, r.Schema, r.Table, tail))
	}
	if len(out) > 0 {
		s.logger.Warn("precheck: table_migrate_rules match no upstream database", "task", t.Name, "source", source, "rules", len(out))
	}
	return out
}
