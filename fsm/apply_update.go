package fsm

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// UpdateSource replaces the spec of an existing source: how its worker reaches it (an upstream
// that failed over to another host, a new password). Its name, relay settings and binding stay;
// the bound worker reconnects and restarts what reads the source.
//
// Two changes are refused while they would break the tasks of the source: turning GTID on
// while one of its subtasks runs (a running reader goes on by position, and the GTID set its
// checkpoint carries is only complete once the subtask restarts from it), and a spec naming
// another server (ServerID or Flavor) while tasks use the source, unless GTID is on before and
// after (binlog positions mean nothing on another server; GTIDs do). Another server is refused
// while a worker relays the source: its relay log is the old server's binlog.
type UpdateSource struct {
	Name string     `json:"name"`
	Spec SourceSpec `json:"spec"`
}

// UpdateTask replaces the spec of an existing task, none of whose subtasks runs: the workers
// start the subtasks with the new spec on resume, from their checkpoints. Its name comes from
// Spec.Name. What the checkpoints depend on may not change (FrozenTaskChanges), and neither may
// a task with shard DDL locks pending (their tables are the old rules').
type UpdateTask struct {
	Spec TaskSpec `json:"spec"`
}

func (UpdateSource) CommandType() CommandType { return TypeUpdateSource }
func (UpdateTask) CommandType() CommandType   { return TypeUpdateTask }

func applyUpdateSource(s *state, c *UpdateSource) *Error {
	if err := s.checkUpdateSource(c); err != nil {
		return err
	}
	src := s.sources[c.Name]
	src.Spec = c.Spec.clone()
	s.sources[c.Name] = src
	return nil
}

func (s *state) checkUpdateSource(c *UpdateSource) *Error {
	old, ok := s.sources[c.Name]
	if !ok {
		return errorf(CodeSourceNotExist, "source %q does not exist", c.Name)
	}
	if err := checkSourceSpec(c.Name, c.Spec); err != nil {
		return err
	}
	if !old.Spec.EnableGTID && c.Spec.EnableGTID {
		if running := s.runningTasksOfSource(c.Name); len(running) > 0 {
			return errorf(CodeSourceCfgUpdate, "source %q: enable_gtid cannot be turned on while task(s) %s run on it: their readers go on by binlog position; pause them, update the source, then resume them (they continue from their checkpoints' GTID sets)",
				c.Name, strings.Join(running, ", "))
		}
	}
	if !otherServer(old.Spec, c.Spec) {
		return nil
	}
	if r, ok := s.relays[c.Name]; ok {
		return errorf(CodeSourceCfgUpdate, "source %q: the new spec names another server (%s), but worker(s) %s relay the source and their relay log is the old server's binlog; stop the relay first, then update the source and start the relay again",
			c.Name, serverChange(old.Spec, c.Spec), strings.Join(r.Workers, ", "))
	}
	if tasks := s.tasksOfSource(c.Name); len(tasks) > 0 && !(old.Spec.EnableGTID && c.Spec.EnableGTID) {
		return errorf(CodeSourceCfgUpdate, "source %q: the new spec names another server (%s), and task(s) %s use the source without GTID: their binlog positions mean nothing on another server; a source that fails over needs enable_gtid on before and after",
			c.Name, serverChange(old.Spec, c.Spec), strings.Join(tasks, ", "))
	}
	return nil
}

// otherServer reports whether two specs of a source name different servers, as far as both
// know theirs.
func otherServer(old, updated SourceSpec) bool {
	if old.ServerID != 0 && updated.ServerID != 0 && old.ServerID != updated.ServerID {
		return true
	}
	return old.Flavor != "" && updated.Flavor != "" && old.Flavor != updated.Flavor
}

func serverChange(old, updated SourceSpec) string {
	return fmt.Sprintf("%s server_id %d, was %s server_id %d", updated.Flavor, updated.ServerID, old.Flavor, old.ServerID)
}

// runningTasksOfSource returns the sorted names of the tasks whose subtask on the source is
// expected to run.
func (s *state) runningTasksOfSource(source string) []string {
	var names []string
	for _, name := range s.tasksOfSource(source) {
		if s.tasks[name].Subtasks[source].Stage == StageRunning {
			names = append(names, name)
		}
	}
	return names
}

func applyUpdateTask(s *state, c *UpdateTask) *Error {
	if err := s.checkUpdateTask(c); err != nil {
		return err
	}
	s.tasks[c.Spec.Name].Spec = c.Spec.clone()
	return nil
}

func (s *state) checkUpdateTask(c *UpdateTask) *Error {
	name := c.Spec.Name
	if name == "" {
		return invalidf("a task update needs the task's name")
	}
	t, ok := s.tasks[name]
	if !ok {
		return errorf(CodeTaskNotExist, "task %q does not exist", name)
	}
	if err := checkTaskSpec(name, c.Spec); err != nil {
		return err
	}
	var running []string
	for _, source := range slices.Sorted(maps.Keys(t.Subtasks)) {
		if t.Subtasks[source].Stage == StageRunning {
			running = append(running, source)
		}
	}
	if len(running) > 0 {
		return errorf(CodeSubtaskCfgUpdate, "task %q runs on source(s) %s: pause it first; the update applies when it resumes", name, strings.Join(running, ", "))
	}
	if frozen := FrozenTaskChanges(t.Spec, c.Spec); len(frozen) > 0 {
		return errorf(CodeSubtaskCfgUpdate, "task %q: an update cannot change %s; delete the task and create it again for that", name, strings.Join(frozen, "; "))
	}
	for _, l := range s.shardLocks {
		if l.Task == name {
			return errorf(CodeSubtaskCfgUpdate, "task %q has shard DDL lock %s pending: resolve it first (its tables follow the current rules)", name, l.ID)
		}
	}
	return nil
}

// FrozenTaskChanges names, in the API's terms, the settings that differ between a task's spec
// and an update of it although the task's state depends on them: the checkpoints and shard
// metadata live in meta_schema under the task's name, each source resumes from its own
// checkpoint (its start position only counts the first time), the dump files of an unfinished
// load are in data_dir, the modes decide which units have run, and online DDL keeps its
// half-done ghost-table changes. It is empty when the update may be applied.
func FrozenTaskChanges(old, updated TaskSpec) []string {
	var out []string
	frozen := func(field, was, now string) {
		if was != now {
			out = append(out, fmt.Sprintf("%s (%q, was %q)", field, now, was))
		}
	}
	frozen("name", old.Name, updated.Name)
	frozen("task_mode", old.Mode, updated.Mode)
	frozen("shard_mode", old.ShardMode, updated.ShardMode)
	frozen("meta_schema", old.MetaSchema, updated.MetaSchema)
	frozen("full_migrate_conf.data_dir", old.Full.DataDir, updated.Full.DataDir)
	frozen("enhance_online_schema_change", fmt.Sprint(old.EnhanceOnlineSchemaChange), fmt.Sprint(updated.EnhanceOnlineSchemaChange))
	was, now := slices.Sorted(maps.Keys(old.Sources)), slices.Sorted(maps.Keys(updated.Sources))
	if !slices.Equal(was, now) {
		out = append(out, fmt.Sprintf("the set of sources (source_config.source_conf: %s, was %s)", strings.Join(now, ", "), strings.Join(was, ", ")))
		return out
	}
	for _, source := range was {
		o, n := old.Sources[source], updated.Sources[source]
		frozen("source_conf["+source+"].binlog_name", o.BinlogName, n.BinlogName)
		frozen("source_conf["+source+"].binlog_pos", fmt.Sprint(o.BinlogPos), fmt.Sprint(n.BinlogPos))
		frozen("source_conf["+source+"].binlog_gtid", o.BinlogGTID, n.BinlogGTID)
	}
	return out
}

// CheckUpdateSource says whether UpdateSource would be applied to the current state, with the
// *Error it would be refused with: the masters ask before they touch any database.
func (f *FSM) CheckUpdateSource(c UpdateSource) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if err := f.st.checkUpdateSource(&c); err != nil {
		return err
	}
	return nil
}

// CheckUpdateTask says whether UpdateTask would be applied to the current state, with the
// *Error it would be refused with.
func (f *FSM) CheckUpdateTask(c UpdateTask) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if err := f.st.checkUpdateTask(&c); err != nil {
		return err
	}
	return nil
}
