package restapi

import (
	"net/http"
)

// DMAPIStartRelay starts relay logs on workers.
func (s *Server) DMAPIStartRelay(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	var req StartRelayRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	writeEmpty(w, s.backend.StartRelay(r.Context(), sourceName, req))
}

// DMAPIStopRelay stops relay logs on workers.
func (s *Server) DMAPIStopRelay(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	var req StopRelayRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	writeEmpty(w, s.backend.StopRelay(r.Context(), sourceName, req.WorkerNameList))
}

// DMAPIPauseRelay pauses the relay log of a source.
func (s *Server) DMAPIPauseRelay(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	writeEmpty(w, s.backend.SetRelayStage(r.Context(), sourceName, false))
}

// DMAPIResumeRelay resumes the relay log of a source.
func (s *Server) DMAPIResumeRelay(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	writeEmpty(w, s.backend.SetRelayStage(r.Context(), sourceName, true))
}

// DMAPIStartTask creates and starts a task.
func (s *Server) DMAPIStartTask(w http.ResponseWriter, r *http.Request) {
	var req CreateTaskRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	task, warnings, err := s.backend.CreateTask(r.Context(), req)
	if err != nil {
		WriteError(w, err)
		return
	}
	// The precheck's warnings travel in headers so the body stays DM's Task.
	for _, warn := range warnings {
		w.Header().Add(HeaderWarning, warn)
	}
	WriteJSON(w, http.StatusCreated, task)
}

// DMAPIGetTaskList lists the tasks.
func (s *Server) DMAPIGetTaskList(w http.ResponseWriter, r *http.Request, params DMAPIGetTaskListParams) {
	tasks, err := s.backend.ListTasks(r.Context(), params.WithStatus != nil && *params.WithStatus)
	if err != nil {
		WriteError(w, err)
		return
	}
	if tasks == nil {
		tasks = []Task{}
	}
	WriteJSON(w, http.StatusOK, GetTaskListResponse{Total: len(tasks), Data: tasks})
}

// DMAPIDeleteTask stops a task.
func (s *Server) DMAPIDeleteTask(w http.ResponseWriter, r *http.Request, taskName TaskName, params DMAPIDeleteTaskParams) {
	var sources []string
	if params.SourceNameList != nil {
		sources = *params.SourceNameList
	}
	if err := s.backend.DeleteTask(r.Context(), taskName, sources); err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DMAPIGetTaskStatus reports the status of a task.
func (s *Server) DMAPIGetTaskStatus(w http.ResponseWriter, r *http.Request, taskName TaskName, params DMAPIGetTaskStatusParams) {
	var sources []string
	if params.SourceNameList != nil {
		sources = *params.SourceNameList
	}
	stage := ""
	if params.Stage != nil {
		stage = *params.Stage
	}
	st, err := s.backend.TaskStatus(r.Context(), taskName, sources, stage)
	if err != nil {
		WriteError(w, err)
		return
	}
	if st == nil {
		st = []SubTaskStatus{}
	}
	WriteJSON(w, http.StatusOK, GetTaskStatusResponse{Total: len(st), Data: st})
}

// DMAPIPauseTask pauses a task (all its sources, or those in the optional JSON array).
func (s *Server) DMAPIPauseTask(w http.ResponseWriter, r *http.Request, taskName TaskName) {
	s.setTaskStage(w, r, taskName, false)
}

// DMAPIResumeTask resumes a task (all its sources, or those in the optional JSON array).
func (s *Server) DMAPIResumeTask(w http.ResponseWriter, r *http.Request, taskName TaskName) {
	s.setTaskStage(w, r, taskName, true)
}

func (s *Server) setTaskStage(w http.ResponseWriter, r *http.Request, taskName string, running bool) {
	var sources SourceNameList
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		if err := decodeBody(r, &sources); err != nil {
			WriteError(w, err)
			return
		}
	}
	writeEmpty(w, s.backend.SetTaskStage(r.Context(), taskName, sources, running))
}

// writeEmpty answers 200 with no body, or the error.
func writeEmpty(w http.ResponseWriter, err error) {
	if err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
