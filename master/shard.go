package master

import (
	"context"
	"net/http"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
)

// Values of the type label of dm_master_ddl_state_number.
const (
	ddlStateUnsynced = "Un-synced" // waiting for sources to report the DDLs
	ddlStateSynced   = "Synced"    // resolved, the owner has not run the DDLs yet
)

// lockState is the workers' view of a lock.
func lockState(l fsm.ShardLock) peer.ShardLockState {
	return peer.ShardLockState{
		ID: l.ID, Owner: l.Owner, Resolved: l.Resolved, Action: l.Action, Done: l.Done,
		Synced: l.Synced, Unsynced: l.Unsynced(),
	}
}

// apiLock is the API's view of a lock.
func apiLock(l fsm.ShardLock) restapi.ShardDDLLock {
	return restapi.ShardDDLLock{
		Id: l.ID, TaskName: l.Task, Mode: restapi.ShardDDLLockModePessimistic, Owner: l.Owner,
		Ddls: l.DDLs, Synced: l.Synced, Unsynced: l.Unsynced(),
		Resolved: l.Resolved, Action: l.Action, Done: l.Done,
	}
}

// handleShardDDL is a worker's report of shard DDLs (pessimistic mode); it answers with the lock
// as it is after the report.
func (s *Server) handleShardDDL(w http.ResponseWriter, r *http.Request) {
	var req peer.ShardDDLReport
	if err := decodeBody(r, &req); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if err := s.mayReportFor(r, req.Source); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if _, err := s.apply(r.Context(), fsm.ReportShardDDL{Task: req.Task, Source: req.Source, Target: req.Target, DDLs: req.DDLs}); err != nil {
		s.metrics.countShardDDLError(req.Task, err)
		restapi.WriteError(w, err)
		return
	}
	id := fsm.ShardLockID(req.Task, req.Target)
	l, ok := s.state.ShardLock(id)
	if !ok {
		// Finished in the meantime: every source ran past it.
		restapi.WriteJSON(w, http.StatusOK, peer.ShardLockState{ID: id, Resolved: true, Done: true, Synced: []string{}, Unsynced: []string{}})
		return
	}
	restapi.WriteJSON(w, http.StatusOK, lockState(l))
}

// handleShardDDLDone records that the owner ran a lock's DDLs, or that a source is past them.
func (s *Server) handleShardDDLDone(w http.ResponseWriter, r *http.Request) {
	var req peer.ShardDDLDoneRequest
	if err := decodeBody(r, &req); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if err := s.mayReportFor(r, req.Source); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if _, err := s.apply(r.Context(), fsm.ShardDDLDone{ID: req.ID, Source: req.Source}); err != nil {
		restapi.WriteError(w, err)
		return
	}
	restapi.WriteJSON(w, http.StatusOK, struct{}{})
}

// handleShardColumns records the columns a shard adds (optimistic mode); shards that disagree on a
// column's definition get 36069.
func (s *Server) handleShardColumns(w http.ResponseWriter, r *http.Request) {
	var req peer.ShardColumnClaim
	if err := decodeBody(r, &req); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if err := s.mayReportFor(r, req.Source); err != nil {
		restapi.WriteError(w, err)
		return
	}
	cmd := fsm.ClaimShardColumns{Task: req.Task, Target: req.Target, Source: req.Source, Table: req.Table, Columns: req.Columns}
	if _, err := s.apply(r.Context(), cmd); err != nil {
		s.metrics.countShardDDLError(req.Task, err)
		restapi.WriteError(w, err)
		return
	}
	restapi.WriteJSON(w, http.StatusOK, struct{}{})
}

// ListShardDDLLocks lists the pessimistic shard-DDL locks of a task, or of all tasks.
func (s *Server) ListShardDDLLocks(ctx context.Context, task string) ([]restapi.ShardDDLLock, error) {
	if task != "" {
		if _, ok := s.state.Task(task); !ok {
			return nil, badRequest(fsm.CodeTaskNotExist, "task %q does not exist", task)
		}
	}
	out := []restapi.ShardDDLLock{}
	for _, l := range s.state.ShardLocks(task) {
		out = append(out, apiLock(l))
	}
	return out, nil
}

// UnlockShardDDLLock resolves a lock by hand. A lock the unlock finished at once (skipped, with
// every source past it) is answered with its last state.
func (s *Server) UnlockShardDDLLock(ctx context.Context, id, owner, action string) (restapi.ShardDDLLock, error) {
	if action == "" {
		action = fsm.ShardActionExec
	}
	before, ok := s.state.ShardLock(id)
	if !ok {
		return restapi.ShardDDLLock{}, badRequest(fsm.CodeShardLockNotFound, "shard DDL lock %q not found", id)
	}
	if _, err := s.apply(ctx, fsm.UnlockShardDDL{ID: id, Owner: owner, Action: action}); err != nil {
		return restapi.ShardDDLLock{}, err
	}
	s.logger.Info("shard DDL lock unlocked", "lock", id, "action", action, "owner", owner)
	if l, ok := s.state.ShardLock(id); ok {
		return apiLock(l), nil
	}
	last := before
	last.Resolved, last.Action, last.Done = true, action, true
	if owner != "" {
		last.Owner = owner
	}
	last.Sources = last.Synced
	return apiLock(last), nil
}

// refreshShardMetrics sets dm_master_ddl_state_number from the FSM's locks (0 for a task
// without locks, so that every task has the series).
func (s *Server) refreshShardMetrics(tasks []fsm.Task) {
	type key struct{ task, typ string }
	counts := map[key]int{}
	for _, t := range tasks {
		counts[key{t.Name, ddlStateUnsynced}] = 0
		counts[key{t.Name, ddlStateSynced}] = 0
	}
	for _, l := range s.state.ShardLocks("") {
		switch {
		case !l.Resolved:
			counts[key{l.Task, ddlStateUnsynced}]++
		case !l.Done:
			counts[key{l.Task, ddlStateSynced}]++
		}
	}
	for k, n := range counts {
		s.metrics.ddlState.WithLabelValues(k.task, k.typ).Set(float64(n))
	}
}
