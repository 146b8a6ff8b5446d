package master

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/restapi"
)

// GetTask answers with one task as stored, masked; an unknown task is a 404, as DM's newer
// GET /tasks/{name} answers it (with DM's code in the template).
func (s *Server) GetTask(ctx context.Context, name string, withStatus bool) (restapi.Task, error) {
	t, ok := s.state.Task(name)
	if !ok {
		return restapi.Task{}, restapi.Errorf(http.StatusNotFound, fsm.CodeTaskNotExist, "task %q does not exist", name)
	}
	view, err := maskedTask(t.Spec)
	if err != nil {
		return restapi.Task{}, err
	}
	if withStatus {
		st, err := s.TaskStatus(ctx, name, nil, "")
		if err != nil {
			return restapi.Task{}, err
		}
		if st == nil {
			st = []restapi.SubTaskStatus{}
		}
		view.StatusList = &st
	}
	return view, nil
}

// UpdateTask replaces the settings of a task none of whose subtasks runs: the task is
// validated and prechecked as CreateTask does it, what its state depends on may not change
// (fsm.FrozenTaskChanges), and the workers restart its subtasks with the new settings when it
// is resumed, each from its checkpoint.
func (s *Server) UpdateTask(ctx context.Context, name string, t restapi.Task) (restapi.Task, []string, error) {
	if t.Name != name {
		return restapi.Task{}, nil, badRequest(fsm.CodeRequestInvalid, "invalid task: name %q differs from %q in the path: a task cannot be renamed", t.Name, name)
	}
	old, ok := s.state.Task(name)
	if !ok {
		return restapi.Task{}, nil, badRequest(fsm.CodeTaskNotExist, "task %q does not exist", name)
	}
	if running := runningSources(old); len(running) > 0 {
		return restapi.Task{}, nil, badRequest(fsm.CodeSubtaskCfgUpdate, "task %q runs on source(s) %s: pause it first (POST /api/v1/tasks/%s/pause); the update applies when it resumes",
			name, strings.Join(running, ", "), name)
	}
	c, err := s.cipher(ctx)
	if err != nil {
		return restapi.Task{}, nil, err
	}
	if err := keepTargetSecrets(old.Spec, &t, c); err != nil {
		return restapi.Task{}, nil, err
	}
	spec, _, err := s.taskSpec(ctx, t)
	if err != nil {
		return restapi.Task{}, nil, err
	}
	if err := s.state.CheckUpdateTask(fsm.UpdateTask{Spec: spec}); err != nil {
		return restapi.Task{}, nil, err
	}
	// Updates and creates of one task run one after the other (see CreateTask).
	unlock, err := s.taskCreates.lock(ctx, name)
	if err != nil {
		return restapi.Task{}, nil, fmt.Errorf("wait for another change of task %q: %w", name, err)
	}
	defer unlock()
	cctx, cancel := context.WithTimeout(ctx, 2*upstreamTimeout)
	defer cancel()
	report := s.precheck(cctx, spec, slices.Sorted(maps.Keys(spec.Sources)), true)
	if err := report.failure(); err != nil {
		return restapi.Task{}, nil, err
	}
	spec.PrecheckWarnings = report.warningsBySource()
	if _, err := s.apply(ctx, fsm.UpdateTask{Spec: spec}); err != nil {
		return restapi.Task{}, nil, err
	}
	s.logger.Info("task updated; it runs with the new settings when resumed", "task", name,
		"repl_threads", spec.Incr.ReplThreads, "repl_batch", spec.Incr.ReplBatch)
	task, err := maskedTask(spec)
	return task, report.warnings(), err
}

// runningSources are the sources on which the task is expected to run, sorted.
func runningSources(t fsm.Task) []string {
	var out []string
	for _, src := range slices.Sorted(maps.Keys(t.Subtasks)) {
		if t.Subtasks[src].Stage == fsm.StageRunning {
			out = append(out, src)
		}
	}
	return out
}

// keepTargetSecrets fills in the target's secrets a body leaves as GET answers them: the
// masked password keeps the stored one, a security object without contents keeps the stored
// TLS material.
func keepTargetSecrets(old fsm.TaskSpec, t *restapi.Task, c *security.Cipher) error {
	tg := &t.TargetConfig
	if tg.Password == maskedPassword {
		pwd, err := c.Decrypt(old.Target.PasswordEnc)
		if err != nil {
			return fmt.Errorf("decrypt the stored target password of task %q: %w", t.Name, err)
		}
		tg.Password = pwd
	}
	return keepTLS(old.Target.Security, tg.Security, c)
}
