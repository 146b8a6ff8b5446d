package worker

import (
	"context"
	"net/http"
	"time"

	"github.com/dm-oss/dm/binlog/syncer"
	"github.com/dm-oss/dm/binlog/tracker"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/dm-oss/dm/restapi/peer"
)

func (s *Server) schemaRoutes(mux *http.ServeMux) {
	base := peer.PathSubtaskPrefix + "{task}/schemas"
	mux.HandleFunc("GET "+base, s.handleSchemas)
	mux.HandleFunc("GET "+base+"/{schema}", s.handleSchemas)
	mux.HandleFunc("GET "+base+"/{schema}/{table}", s.handleTable)
	mux.HandleFunc("PUT "+base+"/{schema}/{table}", s.handleTable)
	mux.HandleFunc("DELETE "+base+"/{schema}/{table}", s.handleTable)
}

// subtaskTracker finds the runner of task and its schema tracker.
func (s *Server) subtaskTracker(task string) (*runner, *tracker.Tracker, error) {
	s.runnersMu.Lock()
	r, ok := s.runners[task]
	s.runnersMu.Unlock()
	if !ok {
		return nil, nil, apierr.Errorf(http.StatusBadRequest, fsm.CodeWorkerSubtaskNotFound, "worker %q runs no subtask of task %q", s.cfg.Name, task)
	}
	r.mu.Lock()
	sy, unit := r.syncer, r.unit
	r.mu.Unlock()
	if sy == nil || sy.Tracker() == nil {
		return nil, nil, apierr.Errorf(http.StatusBadRequest, fsm.CodeWorkerSyncUnitOnly,
			"task %q has no schema tracker on worker %q yet: it is in the %s unit; the tracker starts with the Sync unit", task, s.cfg.Name, orNone(unit))
	}
	return r, sy.Tracker(), nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (s *Server) handleSchemas(w http.ResponseWriter, r *http.Request) {
	_, tr, err := s.subtaskTracker(r.PathValue("task"))
	if err != nil {
		apierr.WriteError(w, err)
		return
	}
	var names []string
	if schema := r.PathValue("schema"); schema != "" {
		names = tr.Tables(schema)
	} else {
		names = tr.Schemas()
	}
	if names == nil {
		names = []string{}
	}
	apierr.WriteJSON(w, http.StatusOK, names)
}

func (s *Server) handleTable(w http.ResponseWriter, r *http.Request) {
	task, schema, table := r.PathValue("task"), r.PathValue("schema"), r.PathValue("table")
	run, tr, err := s.subtaskTracker(task)
	if err != nil {
		apierr.WriteError(w, err)
		return
	}
	switch r.Method {
	case http.MethodGet:
		sql, ok := tr.CreateStatement(schema, table)
		if !ok {
			apierr.WriteError(w, apierr.Errorf(http.StatusBadRequest, fsm.CodeOpenAPICommon, "table `%s`.`%s` is not tracked by task %q", schema, table, task))
			return
		}
		apierr.WriteJSON(w, http.StatusOK, peer.TableStructure{SchemaName: schema, TableName: table, SchemaCreateSql: sql})
	case http.MethodPut:
		s.putTable(w, r, run, tr, task, schema, table)
	case http.MethodDelete:
		if err := requirePaused(run, task, schema, table); err != nil {
			apierr.WriteError(w, err)
			return
		}
		if !tr.DropTable(schema, table) {
			apierr.WriteError(w, apierr.Errorf(http.StatusBadRequest, fsm.CodeOpenAPICommon, "table `%s`.`%s` is not tracked by task %q", schema, table, task))
			return
		}
		if err := run.saveTracker(r.Context(), tr); err != nil {
			apierr.WriteError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// putTable replaces a tracked table with the statement of the request, or with the one read
// from the upstream or the target table (binlog-schema update --from-source/--from-target).
func (s *Server) putTable(w http.ResponseWriter, r *http.Request, run *runner, tr *tracker.Tracker, task, schema, table string) {
	var req peer.SetTableStructure
	if err := apierr.DecodeJSON(r, &req); err != nil {
		apierr.WriteError(w, err)
		return
	}
	if err := requirePaused(run, task, schema, table); err != nil {
		apierr.WriteError(w, err)
		return
	}
	createSQL, origin, err := run.newStructure(r.Context(), req, schema, table)
	if err != nil {
		apierr.WriteError(w, err)
		return
	}
	// The path's schema.table wins over the name in the statement.
	if err := tr.CreateTable(schema, table, createSQL); err != nil {
		apierr.WriteError(w, apierr.Errorf(http.StatusBadRequest, fsm.CodeOpenAPICommon, "%s is not a usable CREATE TABLE: %v", origin, err))
		return
	}
	if req.Flush == nil || *req.Flush {
		if err := run.saveTracker(r.Context(), tr); err != nil {
			apierr.WriteError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// requirePaused refuses a change of the tracked schema (PUT or DELETE) while the subtask
// runs: its sync unit reads the tracker as it goes.
func requirePaused(run *runner, task, schema, table string) error {
	if stage := run.currentStage(); stage != stagePaused {
		return apierr.Errorf(http.StatusBadRequest, fsm.CodeWorkerNotPaused,
			"task %q is %s on this source: pause it before changing the tracked schema of `%s`.`%s`", task, stage, apierr.Clip(schema), apierr.Clip(table))
	}
	return nil
}

func (r *runner) currentStage() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stage
}

// saveTracker persists the tracker with the subtask's checkpoint in the target.
func (r *runner) saveTracker(ctx context.Context, tr *tracker.Tracker) error {
	targetCfg, err := r.s.targetConfig(r.spec.Target)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	db, err := upstream.Open(cctx, targetCfg)
	if err != nil {
		return apierr.Errorf(http.StatusBadRequest, fsm.CodeDBDriver, "target: %v", err)
	}
	defer db.Close()
	return syncer.SaveTracker(cctx, db, r.spec.MetaSchema, r.task, r.source, tr)
}
