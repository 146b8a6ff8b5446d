package restapi

import (
	"net/http"
)

// DM's newer routes on one source or task: read it, change it in place, and check a task
// without starting it.

// DMAPIGetSource answers with one source, masked.
func (s *Server) DMAPIGetSource(w http.ResponseWriter, r *http.Request, sourceName SourceName, params DMAPIGetSourceParams) {
	src, err := s.backend.GetSource(r.Context(), sourceName, params.WithStatus != nil && *params.WithStatus)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, src)
}

// DMAPIUpdateSource replaces how a source is reached.
func (s *Server) DMAPIUpdateSource(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	var req UpdateSourceRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	src, err := s.backend.UpdateSource(r.Context(), sourceName, req.Source)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, src)
}

// DMAPIGetTask answers with one task as stored, masked.
func (s *Server) DMAPIGetTask(w http.ResponseWriter, r *http.Request, taskName TaskName, params DMAPIGetTaskParams) {
	task, err := s.backend.GetTask(r.Context(), taskName, params.WithStatus != nil && *params.WithStatus)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, task)
}

// DMAPIUpdateTask replaces the settings of a paused task.
func (s *Server) DMAPIUpdateTask(w http.ResponseWriter, r *http.Request, taskName TaskName) {
	var req UpdateTaskRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	task, warnings, err := s.backend.UpdateTask(r.Context(), taskName, req.Task)
	if err != nil {
		WriteError(w, err)
		return
	}
	// The precheck's warnings travel in headers as on create, so the body stays DM's Task.
	for _, warn := range warnings {
		w.Header().Add(HeaderWarning, warn)
	}
	WriteJSON(w, http.StatusOK, task)
}

// DMAPICheckTask runs the precheck of a task without creating it.
func (s *Server) DMAPICheckTask(w http.ResponseWriter, r *http.Request) {
	var req CreateTaskRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	res, err := s.backend.CheckTask(r.Context(), req)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, res)
}
