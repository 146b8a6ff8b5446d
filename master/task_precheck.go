package master

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
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
