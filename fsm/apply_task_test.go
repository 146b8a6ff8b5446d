package fsm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddTask(t *testing.T) {
	h := seeded(t)
	at := task("t1", "s1", "s2", "s3")
	at.Task.Subtasks["s2"].Stage = StagePaused
	at.Task.Subtasks["s3"] = &Subtask{} // Source may be left to the map key
	h.ok(at)

	got, ok := h.f.Task("t1")
	require.True(t, ok)
	assert.Equal(t, Task{Name: "t1", Spec: taskSpec("t1", "s1", "s2", "s3"), Subtasks: map[string]*Subtask{
		"s1": {Source: "s1", Stage: StageRunning},
		"s2": {Source: "s2", Stage: StagePaused},
		"s3": {Source: "s3", Stage: StageRunning},
	}}, got)

	// Reads are deep copies.
	got.Subtasks["s1"].Stage = StageStopped
	got.Spec.API[0] = 'X'
	got.Spec.Sources["s1"].Rules[0].FilterRules[0] = "X"
	got.Spec.Filters["f"].IgnoreEvents[0] = "X"
	again, _ := h.f.Task("t1")
	assert.Equal(t, StageRunning, again.Subtasks["s1"].Stage)
	assert.Equal(t, taskSpec("t1", "s1", "s2", "s3"), again.Spec)

	h.ok(task("t0", "s1"))
	tasks := h.f.Tasks()
	require.Len(t, tasks, 2)
	assert.Equal(t, "t0", tasks[0].Name)
	assert.Equal(t, []string{"t0", "t1"}, h.f.TasksOfSource("s1"))
	assert.Equal(t, []string{"t1"}, h.f.TasksOfSource("s2"))
	assert.Equal(t, []string{}, h.f.TasksOfSource("nope"))
}

func TestAddTaskMergesIntoExistingTask(t *testing.T) {
	h := seeded(t)
	h.ok(task("t1", "s1"), &SetSubtaskStage{Task: "t1", Stage: StagePaused})

	more := task("t1", "s1", "s2")
	more.Task.Spec.MetaSchema = "other"
	h.ok(more)
	got, _ := h.f.Task("t1")
	assert.Equal(t, taskSpec("t1", "s1"), got.Spec, "the existing spec is kept")
	assert.Equal(t, StagePaused, got.Subtasks["s1"].Stage, "existing subtasks are untouched")
	assert.Equal(t, StageRunning, got.Subtasks["s2"].Stage)

	e := h.reject(task("t1", "s2", "s1"), CodeSubtaskExist)
	assert.Contains(t, e.Msg, `task "t1"`)
}

func TestAddTaskRejects(t *testing.T) {
	h := seeded(t)
	h.reject(task("", "s1"), CodeRequestInvalid)
	h.reject(task("t1"), CodeRequestInvalid)
	e := h.reject(task("t1", "s1", "ghost"), CodeTaskSourceNotFound)
	assert.Equal(t, `source "ghost" of task "t1" does not exist`, e.Msg)

	nilSub := task("t1", "s1")
	nilSub.Task.Subtasks["s2"] = nil
	h.reject(nilSub, CodeRequestInvalid)

	mismatch := task("t1", "s1")
	mismatch.Task.Subtasks["s1"].Source = "s2"
	h.reject(mismatch, CodeRequestInvalid)

	badStage := task("t1", "s1")
	badStage.Task.Subtasks["s1"].Stage = "Sleeping"
	h.reject(badStage, CodeSubtaskStageInvalid)

	// The spec must be readable, be the task's own, and say what each subtask migrates.
	for _, version := range []int{0, TaskSpecVersion + 1} {
		badVersion := task("t1", "s1")
		badVersion.Task.Spec.Version = version
		e := h.reject(badVersion, CodeRequestInvalid)
		assert.Contains(t, e.Msg, "version")
	}
	foreign := task("t1", "s1")
	foreign.Task.Spec.Name = "t2"
	e = h.reject(foreign, CodeRequestInvalid)
	assert.Equal(t, `task "t1" has the spec of task "t2"`, e.Msg)
	uncovered := task("t1", "s1", "s2")
	delete(uncovered.Task.Spec.Sources, "s2")
	e = h.reject(uncovered, CodeRequestInvalid)
	assert.Equal(t, `the spec of task "t1" has no settings for its source "s2"`, e.Msg)
}

func TestDeleteSubtasks(t *testing.T) {
	h := seeded(t)
	h.ok(task("t1", "s1", "s2", "s3"), task("t2", "s1", "s2"))

	e := h.reject(&DeleteSubtasks{Task: "nope"}, CodeTaskNotExist)
	assert.Equal(t, `task "nope" does not exist`, e.Msg)
	h.reject(&DeleteSubtasks{Task: "nope", Sources: []string{"s1"}}, CodeTaskNotExist)
	e = h.reject(&DeleteSubtasks{Task: "t1", Sources: []string{"s1", "ghost"}}, CodeSourceNotInTask)
	assert.Equal(t, `source "ghost" is not in task "t1"`, e.Msg)

	h.ok(&DeleteSubtasks{Task: "t1", Sources: []string{"s2", "s1", "s2"}})
	got, ok := h.f.Task("t1")
	require.True(t, ok)
	assert.Equal(t, map[string]*Subtask{"s3": {Source: "s3", Stage: StageRunning}}, got.Subtasks)

	h.ok(&DeleteSubtasks{Task: "t1", Sources: []string{"s3"}})
	_, ok = h.f.Task("t1")
	assert.False(t, ok, "removing the last subtask removes the task")

	h.ok(&DeleteSubtasks{Task: "t2"})
	assert.Empty(t, h.f.Tasks())
}

func TestSetSubtaskStage(t *testing.T) {
	h := seeded(t)
	h.ok(task("t1", "s1", "s2", "s3"))

	h.ok(&SetSubtaskStage{Task: "t1", Sources: []string{"s2"}, Stage: StagePaused})
	got, _ := h.f.Task("t1")
	assert.Equal(t, StageRunning, got.Subtasks["s1"].Stage)
	assert.Equal(t, StagePaused, got.Subtasks["s2"].Stage)

	for _, st := range []Stage{StageStopped, StageFinished, StagePaused, StageRunning} {
		h.ok(&SetSubtaskStage{Task: "t1", Stage: st})
		got, _ = h.f.Task("t1")
		for _, sub := range got.Subtasks {
			assert.Equal(t, st, sub.Stage)
		}
	}

	e := h.reject(&SetSubtaskStage{Task: "nope", Stage: StagePaused}, CodeSubtaskTaskNotExist)
	assert.Equal(t, `task "nope" does not exist`, e.Msg)
	h.reject(&SetSubtaskStage{Task: "t1", Sources: []string{"s1", "ghost"}, Stage: StagePaused}, CodeSourceNotInTask)
	for _, st := range []Stage{StageNew, "", "running"} {
		h.reject(&SetSubtaskStage{Task: "t1", Stage: st}, CodeSubtaskStageInvalid)
	}
}

func TestSetLoadWorker(t *testing.T) {
	h := seeded(t)
	h.ok(task("t1", "s1", "s2"))
	h.ok(&SetLoadWorker{Task: "t1", Source: "s1", Worker: "w1"})
	got, _ := h.f.Task("t1")
	assert.Equal(t, "w1", got.Subtasks["s1"].LoadWorker)
	assert.Equal(t, "", got.Subtasks["s2"].LoadWorker)

	h.reject(&SetLoadWorker{Task: "nope", Source: "s1", Worker: "w1"}, CodeTaskNotExist)
	h.reject(&SetLoadWorker{Task: "t1", Source: "s9", Worker: "w1"}, CodeSourceNotInTask)
	h.reject(&SetLoadWorker{Task: "t1", Source: "s1", Worker: "ghost"}, CodeWorkerNotExist)

	// Deleting the worker forgets its dump files.
	h.ok(&DeleteWorker{Name: "w1"})
	got, _ = h.f.Task("t1")
	assert.Equal(t, "", got.Subtasks["s1"].LoadWorker)

	h.ok(&SetLoadWorker{Task: "t1", Source: "s2", Worker: "w2"}, &SetLoadWorker{Task: "t1", Source: "s2"})
	got, _ = h.f.Task("t1")
	assert.Equal(t, "", got.Subtasks["s2"].LoadWorker, "an empty worker clears it")
}
