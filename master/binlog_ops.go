package master

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
)

// Operations on binlog events (DM's `binlog skip|replace|revert|list`): the FSM keeps them, the
// view hands them to the worker of the source, whose sync unit applies each when it reaches its
// event and reports it done once its checkpoint is past it (handleBinlogOpDone).

// ListBinlogOperations returns the task's pending operations on sources (all when empty), at
// or after from when given.
func (s *Server) ListBinlogOperations(ctx context.Context, task string, sources []string, from string) ([]restapi.BinlogOperation, error) {
	t, ok := s.state.Task(task)
	if !ok {
		return nil, badRequest(fsm.CodeTaskNotExist, "task %q does not exist", task)
	}
	sources, err := binlogOpSources(t, sources)
	if err != nil {
		return nil, err
	}
	var at *fsm.BinlogEvent
	if from != "" {
		e, err := parseBinlogPos(from)
		if err != nil {
			return nil, err
		}
		at = &e
	}
	out := []restapi.BinlogOperation{}
	for _, o := range s.state.BinlogOps(task) {
		if !slices.Contains(sources, o.Source) {
			continue
		}
		if at != nil && eventBefore(o.BinlogEvent, *at) {
			continue
		}
		out = append(out, s.apiBinlogOp(o))
	}
	return out, nil
}

// eventBefore reports whether event a starts before b in a binlog (their sources aside).
func eventBefore(a, b fsm.BinlogEvent) bool {
	if c := binlog.CompareFileNames(a.File, b.File); c != 0 {
		return c < 0
	}
	return a.Pos < b.Pos
}

// OperateBinlog puts or takes back operations, one per source.
func (s *Server) OperateBinlog(ctx context.Context, task string, req restapi.BinlogOperationRequest) ([]restapi.BinlogOperation, error) {
	t, ok := s.state.Task(task)
	if !ok {
		return nil, badRequest(fsm.CodeTaskNotExist, "task %q does not exist", task)
	}
	var listed []string
	if req.SourceNameList != nil {
		listed = *req.SourceNameList
	}
	sources, err := binlogOpSources(t, listed)
	if err != nil {
		return nil, err
	}
	sqls, err := binlogOpStatements(req)
	if err != nil {
		return nil, err
	}
	events, stopped, err := s.binlogOpEvents(ctx, task, sources, req.BinlogPos)
	if err != nil {
		return nil, err
	}
	if req.Op == restapi.BinlogOperationRequestOpRevert {
		return s.revertBinlogOps(ctx, task, events)
	}
	cmd := fsm.SetBinlogOps{Task: task}
	for _, e := range events {
		cmd.Ops = append(cmd.Ops, fsm.BinlogOp{Task: task, BinlogEvent: e, Op: string(req.Op), SQLs: sqls})
		if stopped[e.Source] {
			cmd.Resume = append(cmd.Resume, e.Source)
		}
		// The FSM retries a stopped subtask only if it is to run: one the operator paused
		// takes the operation with its resume.
		stopped[e.Source] = stopped[e.Source] && t.Subtasks[e.Source].Stage == fsm.StageRunning
	}
	if _, err := s.apply(ctx, cmd); err != nil {
		return nil, err
	}
	out := make([]restapi.BinlogOperation, 0, len(cmd.Ops))
	for _, o := range cmd.Ops {
		op := s.apiBinlogOp(o)
		resumed := stopped[o.Source]
		op.Resumed = &resumed
		out = append(out, op)
		s.logger.Info("binlog operation put", "task", task, "source", o.Source, "op", o.Op, "position", o.String(), "statements", len(o.SQLs), "resumed", resumed)
	}
	return out, nil
}

func (s *Server) revertBinlogOps(ctx context.Context, task string, events []fsm.BinlogEvent) ([]restapi.BinlogOperation, error) {
	var taken []fsm.BinlogOp
	for _, e := range events {
		if o, ok := s.state.BinlogOpAt(task, e); ok {
			taken = append(taken, o)
		}
	}
	if _, err := s.apply(ctx, fsm.RevertBinlogOps{Task: task, Events: events}); err != nil {
		return nil, err
	}
	out := make([]restapi.BinlogOperation, 0, len(taken))
	for _, o := range taken {
		out = append(out, s.apiBinlogOp(o))
		s.logger.Info("binlog operation reverted", "task", task, "source", o.Source, "op", o.Op, "position", o.String())
	}
	return out, nil
}

// binlogOpSources resolves the sources of a binlog operation call: the task's (sorted) when
// none is listed, else the listed ones, each of which must be in the task.
func binlogOpSources(t fsm.Task, listed []string) ([]string, error) {
	if len(listed) == 0 {
		all := make([]string, 0, len(t.Subtasks))
		for src := range t.Subtasks {
			all = append(all, src)
		}
		sort.Strings(all)
		return all, nil
	}
	for _, src := range listed {
		if _, ok := t.Subtasks[src]; !ok {
			return nil, badRequest(fsm.CodeSourceNotInTask, "source %q is not part of task %q", src, t.Name)
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(listed))), nil
}

// binlogOpStatements splits a replace's statements, one statement each; the other operations
// take none.
func binlogOpStatements(req restapi.BinlogOperationRequest) ([]string, error) {
	var given []string
	if req.Sqls != nil {
		given = *req.Sqls
	}
	var sqls []string
	for _, q := range given {
		sqls = append(sqls, ddl.SplitStatements(q)...)
	}
	switch {
	case req.Op == restapi.BinlogOperationRequestOpReplace && len(sqls) == 0:
		return nil, badRequest(fsm.CodeVerifyHandleErrorArgs, "replace needs the statements to run instead of the event (sqls)")
	case req.Op != restapi.BinlogOperationRequestOpReplace && len(given) > 0:
		return nil, badRequest(fsm.CodeVerifyHandleErrorArgs, "%s takes no statements (sqls); only replace runs statements", req.Op)
	}
	return sqls, nil
}

func parseBinlogPos(s string) (fsm.BinlogEvent, error) {
	file, pos, err := binlog.ParsePosition(s)
	if err != nil {
		return fsm.BinlogEvent{}, badRequest(fsm.CodeVerifyHandleErrorArgs, "invalid binlog_pos: %v", err)
	}
	return fsm.BinlogEvent{File: file, Pos: pos}, nil
}

// binlogOpEvents returns the event of each source an operation is for: at binlogPos when given
// (one source only: a position is in one source's binlog), else the event each subtask stopped
// on, as its worker reports it. stopped holds the sources whose subtask stopped on its event,
// which a skip or a replace retries.
func (s *Server) binlogOpEvents(ctx context.Context, task string, sources []string, binlogPos *string) ([]fsm.BinlogEvent, map[string]bool, error) {
	stopped := map[string]bool{}
	if binlogPos != nil && *binlogPos != "" {
		if len(sources) != 1 {
			return nil, nil, badRequest(fsm.CodeVerifyHandleErrorArgs,
				"binlog_pos %q is a position in one source's binlog, and task %q has %d sources: name one in source_name_list", *binlogPos, task, len(sources))
		}
		e, err := parseBinlogPos(*binlogPos)
		if err != nil {
			return nil, nil, err
		}
		e.Source = sources[0]
		if f, err := s.failedEvent(ctx, task, e.Source); err == nil && f != nil && f.File == e.File && f.Pos == e.Pos {
			stopped[e.Source] = true
		}
		return []fsm.BinlogEvent{e}, stopped, nil
	}
	events := make([]fsm.BinlogEvent, 0, len(sources))
	for _, src := range sources {
		f, err := s.failedEvent(ctx, task, src)
		if err != nil {
			return nil, nil, badRequest(fsm.CodeVerifyHandleErrorArgs, "cannot tell which binlog event the subtask of task %q on source %q stopped on (%v); give binlog_pos", task, src, err)
		}
		if f == nil {
			return nil, nil, badRequest(fsm.CodeVerifyHandleErrorArgs,
				"the subtask of task %q on source %q is not paused on a binlog event the target rejected; give binlog_pos to put an operation on an event ahead", task, src)
		}
		events = append(events, fsm.BinlogEvent{Source: src, File: f.File, Pos: f.Pos})
		stopped[src] = true
	}
	return events, stopped, nil
}

// failedEvent asks the worker of the source which binlog event the task's subtask stopped on
// (nil when it did not stop on one).
func (s *Server) failedEvent(ctx context.Context, task, source string) (*peer.FailedEvent, error) {
	worker, ok := s.state.BoundWorker(source)
	if !ok {
		return nil, fmt.Errorf("source %q has no bound worker", source)
	}
	rep, err := s.fetchWorkerStatus(ctx, worker)
	if err != nil {
		return nil, err
	}
	for _, st := range rep.Subtasks {
		if st.Task == task && st.Source == source && st.Stage == string(fsm.StagePaused) {
			return st.FailedEvent, nil
		}
	}
	return nil, nil
}

// apiBinlogOp is the API's view of an operation.
func (s *Server) apiBinlogOp(o fsm.BinlogOp) restapi.BinlogOperation {
	out := restapi.BinlogOperation{SourceName: o.Source, Op: restapi.BinlogOperationOp(o.Op), BinlogPos: o.String(), Sqls: o.SQLs}
	if w, ok := s.state.BoundWorker(o.Source); ok {
		out.WorkerName = &w
	}
	return out
}

// handleBinlogOpDone drops an operation the worker of its source is past.
func (s *Server) handleBinlogOpDone(w http.ResponseWriter, r *http.Request) {
	var req peer.BinlogOpDoneRequest
	if err := decodeBody(r, &req); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if err := s.mayReportFor(r, req.Event.Source); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if _, ok := s.state.BinlogOpAt(req.Task, req.Event); ok {
		if _, err := s.apply(r.Context(), fsm.BinlogOpDone{Task: req.Task, BinlogEvent: req.Event}); err != nil {
			restapi.WriteError(w, err)
			return
		}
		s.logger.Info("binlog operation done", "task", req.Task, "source", req.Event.Source, "position", req.Event.String())
	}
	restapi.WriteJSON(w, http.StatusOK, struct{}{})
}
