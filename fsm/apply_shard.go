package fsm

import (
	"maps"
	"slices"
	"strings"
)

// shardTask returns the task a shard report or claim names, refusing one the source is not part
// of or one that merges no shards: a lock on such a task would hold, and once resolved hand out,
// DDLs that no worker of the task ever reached.
func shardTask(s *state, task, source string) (*Task, *Error) {
	t, ok := s.tasks[task]
	if !ok {
		return nil, errorf(CodeTaskNotExist, "task %q does not exist", task)
	}
	if _, ok := t.Subtasks[source]; !ok {
		return nil, errorf(CodeSourceNotInTask, "source %q is not part of task %q", source, task)
	}
	if t.Spec.ShardMode == "" {
		return nil, invalidf("task %q merges no shards (it has no shard_mode), so it takes no shard DDLs or columns from source %q", task, source)
	}
	return t, nil
}

func applyReportShardDDL(s *state, c *ReportShardDDL) *Error {
	t, err := shardTask(s, c.Task, c.Source)
	if err != nil {
		return err
	}
	if c.Target == "" {
		return invalidf("source %q reported shard DDLs of task %q without a target table", c.Source, c.Task)
	}
	if len(c.DDLs) == 0 || slices.Contains(c.DDLs, "") {
		return invalidf("source %q reported no DDLs, or an empty one, for %s of task %q", c.Source, c.Target, c.Task)
	}
	id := ShardLockID(c.Task, c.Target)
	l, ok := s.shardLocks[id]
	if !ok {
		sources := slices.Sorted(maps.Keys(t.Subtasks))
		s.shardLocks[id] = resolveIfSynced(ShardLock{
			ID:      id,
			Task:    c.Task,
			Target:  c.Target,
			DDLs:    slices.Clone(c.DDLs),
			Owner:   c.Source,
			Sources: sources,
			Synced:  []string{c.Source},
			Acked:   []string{},
		})
		return nil
	}
	if l.Task != c.Task || l.Target != c.Target {
		return invalidf("lock %q belongs to task %q and target %s, not to task %q and target %s", id, l.Task, l.Target, c.Task, c.Target)
	}
	if !slices.Equal(l.DDLs, c.DDLs) {
		if slices.Contains(l.Acked, c.Source) {
			// The source is already past this lock's DDLs and reached its next ones, which must
			// wait until the other sources are past the lock too and it is gone.
			return errorf(CodeShardDDLConflict, "source %q sent DDLs %q for %s, but lock %s still holds %q, which the source already acked; its next DDLs must wait until every source has acked them", c.Source, c.DDLs, c.Target, id, l.DDLs)
		}
		return errorf(CodeShardDDLConflict, "source %q sent DDLs %q for %s, but lock %s holds %q from source %q", c.Source, c.DDLs, c.Target, id, l.DDLs, l.Owner)
	}
	if slices.Contains(l.Synced, c.Source) {
		return nil // a repeat, or a report after the source acked
	}
	// A source that was not expected (its subtask came after the lock, or an unlock dropped it)
	// is expected from now on.
	l = l.clone()
	l.Sources = withName(l.Sources, c.Source)
	l.Synced = withName(l.Synced, c.Source)
	s.shardLocks[id] = resolveIfSynced(l)
	return nil
}

// resolveIfSynced resolves an unresolved lock, to be executed, once every expected source reported.
func resolveIfSynced(l ShardLock) ShardLock {
	if !l.Resolved && containsAll(l.Synced, l.Sources) {
		l.Resolved, l.Action = true, ShardActionExec
	}
	return l
}

func applyShardDDLDone(s *state, c *ShardDDLDone) *Error {
	l, ok := s.shardLocks[c.ID]
	if !ok {
		return nil // the lock is gone: every source acked it, or its task went away
	}
	if !slices.Contains(l.Synced, c.Source) {
		return invalidf("source %q has not reported the DDLs of lock %q; its sources are %s", c.Source, c.ID, strings.Join(l.Synced, ", "))
	}
	done := l.Done || (c.Source == l.Owner && l.Resolved && l.Action == ShardActionExec)
	if !done {
		if c.Source == l.Owner {
			return invalidf("lock %q is not resolved yet: source(s) %s have not reported its DDLs", c.ID, strings.Join(withoutNames(l.Sources, l.Synced), ", "))
		}
		return invalidf("source %q cannot ack lock %q before its owner %q ran the DDLs", c.Source, c.ID, l.Owner)
	}
	l = l.clone()
	l.Done = true
	l.Acked = withName(l.Acked, c.Source)
	s.putShardLock(l)
	return nil
}

// putShardLock stores the lock, or deletes it once it is done and every source that reported it
// acked it.
func (s *state) putShardLock(l ShardLock) {
	if l.Done && containsAll(l.Acked, l.Synced) {
		delete(s.shardLocks, l.ID)
		return
	}
	s.shardLocks[l.ID] = l
}

func applyUnlockShardDDL(s *state, c *UnlockShardDDL) *Error {
	l, ok := s.shardLocks[c.ID]
	if !ok {
		return errorf(CodeShardLockNotFound, "lock %q not found", c.ID)
	}
	action := c.Action
	if action == "" {
		action = ShardActionExec
	}
	if action != ShardActionExec && action != ShardActionSkip {
		return invalidf("unlock action %q is invalid; it must be %q or %q", c.Action, ShardActionExec, ShardActionSkip)
	}
	if l.Done {
		if l.Action == ShardActionSkip {
			return invalidf("lock %q is already resolved: its DDLs were skipped", c.ID)
		}
		return invalidf("lock %q is already resolved: its owner %q ran its DDLs", c.ID, l.Owner)
	}
	owner := l.Owner
	if c.Owner != "" {
		if !slices.Contains(l.Synced, c.Owner) {
			return invalidf("source %q cannot own lock %q: only a source that reported its DDLs can run them, one of %s", c.Owner, c.ID, strings.Join(l.Synced, ", "))
		}
		owner = c.Owner
	}
	l = l.clone()
	l.Sources = slices.Clone(l.Synced)
	l.Resolved, l.Action, l.Owner = true, action, owner
	if action == ShardActionSkip {
		l.Done = true
	}
	s.putShardLock(l)
	return nil
}

func applyClaimShardColumns(s *state, c *ClaimShardColumns) *Error {
	if _, err := shardTask(s, c.Task, c.Source); err != nil {
		return err
	}
	if c.Target == "" || c.Table == "" {
		return invalidf("source %q claimed columns of task %q without naming the target table and its own table", c.Source, c.Task)
	}
	// Check every column before recording any; claims made earlier in this command count too.
	existing := s.shardCols[c.Task][c.Target]
	claims := map[string]ShardColumn{}
	for _, col := range c.Columns {
		name := strings.ToLower(col.Name)
		def := strings.TrimSpace(col.Def)
		if name == "" || def == "" {
			return invalidf("source %q claimed a column of %s without a name or a definition", c.Source, c.Target)
		}
		claim, ok := claims[name]
		if !ok {
			claim, ok = existing[name]
		}
		if !ok {
			claims[name] = ShardColumn{Source: c.Source, Table: c.Table, Def: def}
			continue
		}
		if !strings.EqualFold(strings.TrimSpace(claim.Def), def) {
			return errorf(CodeShardDDLConflict, "shards disagree on column `%s` of %s: source %q table %s added it as %s, source %q table %s adds it as %s",
				name, c.Target, claim.Source, claim.Table, claim.Def, c.Source, c.Table, def)
		}
	}
	for name, claim := range claims {
		if _, ok := existing[name]; ok {
			continue // the first claim stands
		}
		if s.shardCols[c.Task] == nil {
			s.shardCols[c.Task] = map[string]map[string]ShardColumn{}
		}
		if s.shardCols[c.Task][c.Target] == nil {
			s.shardCols[c.Task][c.Target] = map[string]ShardColumn{}
		}
		s.shardCols[c.Task][c.Target][name] = claim
	}
	return nil
}

// dropShardTask forgets the locks and column claims of a task that is gone.
func (s *state) dropShardTask(task string) {
	for id, l := range s.shardLocks {
		if l.Task == task {
			delete(s.shardLocks, id)
		}
	}
	delete(s.shardCols, task)
}

// dropShardSources takes sources removed from the task out of its locks: a lock that no source
// reported any more goes, an owner that went hands over to the first source left, and a lock may
// become resolved (nothing left to wait for) or complete (nobody left to ack).
func (s *state) dropShardSources(task string, sources []string) {
	for id, l := range s.shardLocks {
		if l.Task != task {
			continue
		}
		l = l.clone()
		l.Sources = withoutNames(l.Sources, sources)
		l.Synced = withoutNames(l.Synced, sources)
		l.Acked = withoutNames(l.Acked, sources)
		if len(l.Synced) == 0 {
			delete(s.shardLocks, id)
			continue
		}
		if !slices.Contains(l.Synced, l.Owner) {
			l.Owner = l.Synced[0]
		}
		s.putShardLock(resolveIfSynced(l))
	}
}
