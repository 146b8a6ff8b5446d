package master

import (
	"context"
	"errors"
	"net/http"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
)

// subtaskWorker finds the worker running the task's subtask on source.
func (s *Server) subtaskWorker(task, source string) (fsm.Worker, error) {
	t, ok := s.state.Task(task)
	if !ok {
		return fsm.Worker{}, badRequest(fsm.CodeTaskNotExist, "task %q does not exist", task)
	}
	if _, ok := t.Subtasks[source]; !ok {
		return fsm.Worker{}, badRequest(fsm.CodeSourceNotInTask, "source %q is not part of task %q", source, task)
	}
	name, ok := s.state.BoundWorker(source)
	if !ok {
		return fsm.Worker{}, badRequest(fsm.CodeWorkerNoStart, "source %q has no bound worker, so task %q has no running subtask on it", source, task)
	}
	w, ok := s.state.Worker(name)
	if !ok || !s.live.online(w) {
		return fsm.Worker{}, badRequest(fsm.CodeWorkerNoStart, "worker %q of source %q is offline", name, source)
	}
	return w, nil
}

// callSubtask relays one schema-tracker call to the worker.
func (s *Server) callSubtask(ctx context.Context, method, task, source string, parts []string, body, out any) error {
	w, err := s.subtaskWorker(task, source)
	if err != nil {
		return err
	}
	err = s.workers.SubtaskSchema(ctx, w.Addr, method, task, parts, body, out)
	var apiErr *restapi.Error
	if err != nil && !errors.As(err, &apiErr) {
		return badRequest(fsm.CodeWorkerNoStart, "worker %q of source %q did not answer: %v", w.Name, source, err)
	}
	return err
}

// TaskSchemas lists the schemas the subtask tracks.
func (s *Server) TaskSchemas(ctx context.Context, task, source string) ([]string, error) {
	var out []string
	err := s.callSubtask(ctx, http.MethodGet, task, source, nil, nil, &out)
	return out, err
}

// TaskTables lists the tables the subtask tracks in schema.
func (s *Server) TaskTables(ctx context.Context, task, source, schema string) ([]string, error) {
	var out []string
	err := s.callSubtask(ctx, http.MethodGet, task, source, []string{schema}, nil, &out)
	return out, err
}

// TaskTable returns the tracked CREATE TABLE of a table.
func (s *Server) TaskTable(ctx context.Context, task, source, schema, table string) (restapi.GetTaskTableStructureResponse, error) {
	var out peer.TableStructure
	err := s.callSubtask(ctx, http.MethodGet, task, source, []string{schema, table}, nil, &out)
	return restapi.GetTaskTableStructureResponse(out), err
}

// SetTaskTable replaces a tracked table; the worker insists the subtask is paused.
func (s *Server) SetTaskTable(ctx context.Context, task, source, schema, table string, req restapi.OperateTaskTableStructureRequest) error {
	return s.callSubtask(ctx, http.MethodPut, task, source, []string{schema, table}, peer.SetTableStructure(req), nil)
}

// DeleteTaskTable forgets a tracked table.
func (s *Server) DeleteTaskTable(ctx context.Context, task, source, schema, table string) error {
	return s.callSubtask(ctx, http.MethodDelete, task, source, []string{schema, table}, nil, nil)
}
