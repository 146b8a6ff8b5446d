package fsm

import (
	"maps"
	"slices"
	"strings"
)

// applyAddTask merges into an existing task of the same name: it keeps that task's config and
// subtasks and adds only the subtasks on new sources, as DM's start-task does.
func applyAddTask(s *state, c *AddTask) *Error {
	t := c.Task
	if t.Name == "" {
		return invalidf("a task needs a name")
	}
	if len(t.Subtasks) == 0 {
		return invalidf("task %q has no subtasks", t.Name)
	}
	sources := slices.Sorted(maps.Keys(t.Subtasks))
	for _, source := range sources {
		st := t.Subtasks[source]
		if st == nil {
			return invalidf("subtask of task %q on source %q is empty", t.Name, source)
		}
		if st.Source != "" && st.Source != source {
			return invalidf("subtask of task %q listed under source %q names source %q", t.Name, source, st.Source)
		}
		if st.Stage != "" && !subtaskStageKnown(st.Stage) {
			return errorf(CodeSubtaskStageInvalid, "subtask of task %q on source %q has invalid stage %q", t.Name, source, st.Stage)
		}
		if _, ok := s.sources[source]; !ok {
			return errorf(CodeTaskSourceNotFound, "source %q of task %q does not exist", source, t.Name)
		}
	}
	if err := checkTaskSpec(t.Name, t.Spec); err != nil {
		return err
	}

	existing, ok := s.tasks[t.Name]
	if !ok {
		// A new task's spec says what each of its subtasks migrates.
		for _, source := range sources {
			if _, ok := t.Spec.Sources[source]; !ok {
				return invalidf("the spec of task %q has no settings for its source %q", t.Name, source)
			}
		}
		existing = &Task{Name: t.Name, Spec: t.Spec, Subtasks: map[string]*Subtask{}}
	} else {
		sources = slices.DeleteFunc(sources, func(src string) bool { return existing.Subtasks[src] != nil })
		if len(sources) == 0 {
			return errorf(CodeSubtaskExist, "task %q already has subtasks on all of source(s) %s", t.Name, strings.Join(slices.Sorted(maps.Keys(t.Subtasks)), ", "))
		}
	}
	for _, source := range sources {
		stage := t.Subtasks[source].Stage
		if stage == "" {
			stage = StageRunning
		}
		existing.Subtasks[source] = &Subtask{Source: source, Stage: stage}
	}
	s.tasks[t.Name] = existing
	return nil
}

// taskSources resolves a command's source list against the task: all its sources when the list
// is empty, otherwise the listed ones, each of which must be in the task.
func taskSources(t *Task, listed []string) ([]string, *Error) {
	if len(listed) == 0 {
		return slices.Sorted(maps.Keys(t.Subtasks)), nil
	}
	sources := uniqueSorted(listed)
	for _, source := range sources {
		if _, ok := t.Subtasks[source]; !ok {
			return nil, errorf(CodeSourceNotInTask, "source %q is not in task %q", source, t.Name)
		}
	}
	return sources, nil
}

func applyDeleteSubtasks(s *state, c *DeleteSubtasks) *Error {
	t, ok := s.tasks[c.Task]
	if !ok {
		return errorf(CodeTaskNotExist, "task %q does not exist", c.Task)
	}
	sources, err := taskSources(t, c.Sources)
	if err != nil {
		return err
	}
	for _, source := range sources {
		delete(t.Subtasks, source)
	}
	s.dropBinlogOps(c.Task, sources)
	if len(t.Subtasks) == 0 {
		delete(s.tasks, c.Task)
		s.dropShardTask(c.Task)
		return nil
	}
	s.dropShardSources(c.Task, sources)
	return nil
}

func applySetSubtaskStage(s *state, c *SetSubtaskStage) *Error {
	t, ok := s.tasks[c.Task]
	if !ok {
		return errorf(CodeSubtaskTaskNotExist, "task %q does not exist", c.Task)
	}
	if !subtaskStageSettable(c.Stage) {
		return errorf(CodeSubtaskStageInvalid, "stage %q is invalid for the subtasks of task %q; it must be Running, Paused, Stopped or Finished", c.Stage, c.Task)
	}
	sources, err := taskSources(t, c.Sources)
	if err != nil {
		return err
	}
	for _, source := range sources {
		sub := t.Subtasks[source]
		sub.Stage = c.Stage
		if c.Stage == StageRunning {
			sub.Resumes++
		}
	}
	return nil
}

func applySetLoadWorker(s *state, c *SetLoadWorker) *Error {
	t, ok := s.tasks[c.Task]
	if !ok {
		return errorf(CodeTaskNotExist, "task %q does not exist", c.Task)
	}
	sub, ok := t.Subtasks[c.Source]
	if !ok {
		return errorf(CodeSourceNotInTask, "source %q is not part of task %q", c.Source, c.Task)
	}
	if c.Worker != "" {
		if _, ok := s.workers[c.Worker]; !ok {
			return errorf(CodeWorkerNotExist, "worker %q does not exist", c.Worker)
		}
	}
	sub.LoadWorker = c.Worker
	return nil
}
