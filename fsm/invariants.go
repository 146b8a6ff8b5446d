package fsm

import (
	"fmt"
	"slices"
	"strings"
)

// check verifies every invariant of the state. Commands keep them by construction; Restore runs
// check because a snapshot stream is input from outside, and the tests run it after every step.
func (s *state) check() error {
	if s.clusterKey != nil && len(s.clusterKey) != ClusterKeySize {
		return fmt.Errorf("the cluster key is %d bytes, want %d", len(s.clusterKey), ClusterKeySize)
	}
	for k, m := range s.masters {
		if k == "" || m.Name != k {
			return fmt.Errorf("master recorded as %q is named %q", k, m.Name)
		}
	}
	for k, w := range s.workers {
		if k == "" || w.Name != k {
			return fmt.Errorf("worker recorded as %q is named %q", k, w.Name)
		}
	}
	for k, src := range s.sources {
		if k == "" || src.Name != k {
			return fmt.Errorf("source recorded as %q is named %q", k, src.Name)
		}
		if err := checkSourceSpec(k, src.Spec); err != nil {
			return err
		}
	}
	if err := s.checkBindings(); err != nil {
		return err
	}
	if err := s.checkRelays(); err != nil {
		return err
	}
	if err := s.checkTasks(); err != nil {
		return err
	}
	if err := s.checkShardLocks(); err != nil {
		return err
	}
	if err := s.checkShardColumns(); err != nil {
		return err
	}
	return s.checkBinlogOps()
}

func (s *state) checkBindings() error {
	if len(s.bindings) != len(s.boundSource) {
		return fmt.Errorf("%d bindings but %d bound workers: a worker is bound twice", len(s.bindings), len(s.boundSource))
	}
	for source, worker := range s.bindings {
		if _, ok := s.sources[source]; !ok {
			return fmt.Errorf("binding of unknown source %q", source)
		}
		if _, ok := s.workers[worker]; !ok {
			return fmt.Errorf("source %q is bound to unknown worker %q", source, worker)
		}
		if s.boundSource[worker] != source {
			return fmt.Errorf("source %q is bound to worker %q, but the worker index says %q", source, worker, s.boundSource[worker])
		}
	}
	return nil
}

func (s *state) checkRelays() error {
	n := 0
	for source, r := range s.relays {
		if r.Source != source {
			return fmt.Errorf("relay recorded under source %q names source %q", source, r.Source)
		}
		if _, ok := s.sources[source]; !ok {
			return fmt.Errorf("relay of unknown source %q", source)
		}
		if !relayStageSettable(r.Stage) {
			return fmt.Errorf("relay of source %q has invalid stage %q", source, r.Stage)
		}
		if len(r.Workers) == 0 || !slices.Equal(r.Workers, uniqueSorted(r.Workers)) {
			return fmt.Errorf("relay of source %q has workers %q; they must be non-empty, sorted and unique", source, r.Workers)
		}
		for _, w := range r.Workers {
			if _, ok := s.workers[w]; !ok {
				return fmt.Errorf("relay of source %q runs on unknown worker %q", source, w)
			}
			if s.relayOf[w] != source {
				return fmt.Errorf("worker %q relays source %q, but the worker index says %q", w, source, s.relayOf[w])
			}
			// A relay log serves the source of the worker's own binding, so the two must agree.
			if b, ok := s.boundSource[w]; ok && b != source {
				return fmt.Errorf("worker %q relays source %q but is bound to source %q", w, source, b)
			}
		}
		n += len(r.Workers)
	}
	if n != len(s.relayOf) {
		return fmt.Errorf("%d relay assignments but %d relaying workers: a worker relays twice", n, len(s.relayOf))
	}
	return nil
}

func (s *state) checkTasks() error {
	for name, t := range s.tasks {
		if name == "" || t.Name != name {
			return fmt.Errorf("task recorded as %q is named %q", name, t.Name)
		}
		if len(t.Subtasks) == 0 {
			return fmt.Errorf("task %q has no subtasks", name)
		}
		if err := checkTaskSpec(name, t.Spec); err != nil {
			return err
		}
		for source, st := range t.Subtasks {
			if st == nil || st.Source != source {
				return fmt.Errorf("subtask of task %q recorded under source %q is missing or names another source", name, source)
			}
			if _, ok := s.sources[source]; !ok {
				return fmt.Errorf("task %q has a subtask on unknown source %q", name, source)
			}
			if !subtaskStageKnown(st.Stage) {
				return fmt.Errorf("subtask of task %q on source %q has invalid stage %q", name, source, st.Stage)
			}
		}
	}
	return nil
}

func (s *state) checkShardLocks() error {
	for id, l := range s.shardLocks {
		if l.Task == "" || l.Target == "" || id != l.ID || id != ShardLockID(l.Task, l.Target) {
			return fmt.Errorf("shard lock recorded as %q has id %q, task %q and target %q", id, l.ID, l.Task, l.Target)
		}
		t, ok := s.tasks[l.Task]
		if !ok {
			return fmt.Errorf("shard lock %q of unknown task %q", id, l.Task)
		}
		if len(l.DDLs) == 0 || slices.Contains(l.DDLs, "") {
			return fmt.Errorf("shard lock %q has DDLs %q; they must be non-empty", id, l.DDLs)
		}
		for _, names := range [][]string{l.Sources, l.Synced, l.Acked} {
			if !slices.Equal(names, uniqueSorted(names)) {
				return fmt.Errorf("shard lock %q has sources %q, synced %q and acked %q; each must be sorted and unique", id, l.Sources, l.Synced, l.Acked)
			}
		}
		for _, source := range l.Sources {
			if _, ok := t.Subtasks[source]; !ok {
				return fmt.Errorf("shard lock %q expects source %q, which is not in task %q", id, source, l.Task)
			}
		}
		if len(l.Synced) == 0 || !containsAll(l.Sources, l.Synced) || !containsAll(l.Synced, l.Acked) {
			return fmt.Errorf("shard lock %q has sources %q, synced %q and acked %q; synced must be a non-empty subset of sources and acked a subset of synced", id, l.Sources, l.Synced, l.Acked)
		}
		if !slices.Contains(l.Synced, l.Owner) {
			return fmt.Errorf("shard lock %q is owned by %q, which has not reported it", id, l.Owner)
		}
		switch {
		case l.Resolved != (l.Action == ShardActionExec || l.Action == ShardActionSkip):
			return fmt.Errorf("shard lock %q has resolved %t with action %q", id, l.Resolved, l.Action)
		case !l.Resolved && containsAll(l.Synced, l.Sources):
			return fmt.Errorf("shard lock %q heard from every source but is not resolved", id)
		case l.Done && !l.Resolved, l.Action == ShardActionSkip && !l.Done:
			return fmt.Errorf("shard lock %q has done %t with resolved %t and action %q", id, l.Done, l.Resolved, l.Action)
		case !l.Done && len(l.Acked) > 0:
			return fmt.Errorf("shard lock %q was acked by %q before its owner ran the DDLs", id, l.Acked)
		case l.Done && containsAll(l.Acked, l.Synced):
			return fmt.Errorf("shard lock %q was acked by every source but is still there", id)
		}
	}
	return nil
}

func (s *state) checkShardColumns() error {
	for task, targets := range s.shardCols {
		if _, ok := s.tasks[task]; !ok {
			return fmt.Errorf("shard column claims of unknown task %q", task)
		}
		if len(targets) == 0 {
			return fmt.Errorf("task %q has an empty set of shard column claims", task)
		}
		for target, cols := range targets {
			if target == "" || len(cols) == 0 {
				return fmt.Errorf("task %q has shard column claims on target %q with %d columns; the target needs a name and a column", task, target, len(cols))
			}
			for name, col := range cols {
				if name == "" || name != strings.ToLower(name) {
					return fmt.Errorf("column %q of %s in task %q must be named and lower-cased", name, target, task)
				}
				if col.Source == "" || col.Table == "" || col.Def == "" {
					return fmt.Errorf("column %q of %s in task %q has claim %+v; it needs a source, a table and a definition", name, target, task, col)
				}
			}
		}
	}
	return nil
}

func (s *state) checkBinlogOps() error {
	for k, o := range s.binlogOps {
		if k != o.key() {
			return fmt.Errorf("binlog operation recorded as %q is on %s of source %q in task %q", k, o.String(), o.Source, o.Task)
		}
		t, ok := s.tasks[o.Task]
		if !ok {
			return fmt.Errorf("binlog operation at %s of source %q belongs to unknown task %q", o.String(), o.Source, o.Task)
		}
		if err := checkBinlogOpTarget(t, o.BinlogEvent); err != nil {
			return err
		}
		if err := checkBinlogOpKind(o); err != nil {
			return err
		}
	}
	return nil
}
