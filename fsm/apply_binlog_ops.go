package fsm

import (
	"slices"
	"strings"
)

// checkBinlogOpTarget checks that the event names a subtask of task t, at a place in a binlog.
func checkBinlogOpTarget(t *Task, e BinlogEvent) *Error {
	if _, ok := t.Subtasks[e.Source]; !ok {
		return errorf(CodeSourceNotInTask, "source %q is not part of task %q", e.Source, t.Name)
	}
	if e.File == "" || e.Pos == 0 {
		return errorf(CodeVerifyHandleErrorArgs, "a binlog operation of task %q on source %q needs the binlog file and the position of its event, got %q", t.Name, e.Source, e.String())
	}
	return nil
}

// checkBinlogOpKind checks the operation and its statements: a replace runs at least one
// statement, none of them empty; a skip runs none.
func checkBinlogOpKind(o BinlogOp) *Error {
	switch o.Op {
	case BinlogOpSkip:
		if len(o.SQLs) > 0 {
			return errorf(CodeVerifyHandleErrorArgs, "skip at %s of source %q takes no statements; use replace to run statements instead of the event", o.String(), o.Source)
		}
	case BinlogOpReplace:
		if len(o.SQLs) == 0 {
			return errorf(CodeVerifyHandleErrorArgs, "replace at %s of source %q needs the statements to run instead of the event", o.String(), o.Source)
		}
		for _, q := range o.SQLs {
			if strings.TrimSpace(q) == "" {
				return errorf(CodeVerifyHandleErrorArgs, "replace at %s of source %q has an empty statement", o.String(), o.Source)
			}
		}
	default:
		return errorf(CodeVerifyHandleErrorArgs, "binlog operation %q at %s of source %q is invalid; it must be %q or %q", o.Op, o.String(), o.Source, BinlogOpSkip, BinlogOpReplace)
	}
	return nil
}

func applySetBinlogOps(s *state, c *SetBinlogOps) *Error {
	t, ok := s.tasks[c.Task]
	if !ok {
		return errorf(CodeTaskNotExist, "task %q does not exist", c.Task)
	}
	if len(c.Ops) == 0 {
		return errorf(CodeVerifyHandleErrorArgs, "no binlog operation for task %q", c.Task)
	}
	keys := map[string]bool{}
	sources := []string{}
	for _, o := range c.Ops {
		if o.Task != c.Task {
			return invalidf("a binlog operation of task %q names task %q", c.Task, o.Task)
		}
		if err := checkBinlogOpTarget(t, o.BinlogEvent); err != nil {
			return err
		}
		if err := checkBinlogOpKind(o); err != nil {
			return err
		}
		if keys[o.key()] {
			return errorf(CodeVerifyHandleErrorArgs, "two binlog operations of task %q on the event at %s of source %q", c.Task, o.String(), o.Source)
		}
		keys[o.key()] = true
		sources = append(sources, o.Source)
	}
	for _, source := range c.Resume {
		if !slices.Contains(sources, source) {
			return invalidf("source %q of task %q is resumed by a binlog operation, but none of the operations is on it", source, c.Task)
		}
	}
	for _, o := range c.Ops {
		s.binlogOps[o.key()] = o.clone()
	}
	// A subtask that stopped on the event is retried, as a resume would. One the operator
	// paused stays paused: the operation waits for its resume.
	for _, source := range uniqueSorted(c.Resume) {
		if sub := t.Subtasks[source]; sub.Stage == StageRunning {
			sub.Resumes++
		}
	}
	return nil
}

func applyRevertBinlogOps(s *state, c *RevertBinlogOps) *Error {
	t, ok := s.tasks[c.Task]
	if !ok {
		return errorf(CodeTaskNotExist, "task %q does not exist", c.Task)
	}
	if len(c.Events) == 0 {
		return errorf(CodeVerifyHandleErrorArgs, "no binlog event to revert the operation of for task %q", c.Task)
	}
	for _, e := range c.Events {
		if err := checkBinlogOpTarget(t, e); err != nil {
			return err
		}
		if _, ok := s.binlogOps[binlogOpKey(c.Task, e)]; !ok {
			return errorf(CodeSyncerOperatorNotExist, "task %q has no binlog operation pending at %s of source %q", c.Task, e.String(), e.Source)
		}
	}
	for _, e := range c.Events {
		delete(s.binlogOps, binlogOpKey(c.Task, e))
	}
	return nil
}

// applyBinlogOpDone removes an operation the worker applied (its checkpoint is past the event);
// an operation that is not there any more (reverted, or a repeated report) is a no-op.
func applyBinlogOpDone(s *state, c *BinlogOpDone) *Error {
	t, ok := s.tasks[c.Task]
	if !ok {
		return errorf(CodeTaskNotExist, "task %q does not exist", c.Task)
	}
	if err := checkBinlogOpTarget(t, c.BinlogEvent); err != nil {
		return err
	}
	delete(s.binlogOps, binlogOpKey(c.Task, c.BinlogEvent))
	return nil
}
