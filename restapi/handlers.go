package restapi

import (
	"log/slog"
	"net/http"
)

// Server implements the generated ServerInterface. Cluster routes call the Backend;
// the source and task routes answer 501 until the master implements them.
type Server struct {
	backend Backend
	logger  *slog.Logger
	spec    *specDocument
}

var _ ServerInterface = (*Server)(nil)

// --- documentation ---

// GetDocHTML serves the Swagger UI page.
func (s *Server) GetDocHTML(w http.ResponseWriter, r *http.Request) {
	serveDocPage(w, r)
}

// GetDocJSON serves the API document as JSON, its server URL naming the host the
// request was sent to.
func (s *Server) GetDocJSON(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	WriteJSON(w, http.StatusOK, s.spec.withServer(scheme+"://"+r.Host))
}

// --- cluster ---

// DMAPIGetClusterMasterList lists the masters.
func (s *Server) DMAPIGetClusterMasterList(w http.ResponseWriter, r *http.Request) {
	masters, err := s.backend.ListMasters(r.Context())
	if err != nil {
		WriteError(w, err)
		return
	}
	if masters == nil {
		masters = []ClusterMaster{}
	}
	WriteJSON(w, http.StatusOK, GetClusterMasterListResponse{Total: len(masters), Data: masters})
}

// DMAPIOfflineMasterNode removes a master.
func (s *Server) DMAPIOfflineMasterNode(w http.ResponseWriter, r *http.Request, masterName MasterName) {
	if err := s.backend.OfflineMaster(r.Context(), masterName); err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DMAPIGetClusterWorkerList lists the workers.
func (s *Server) DMAPIGetClusterWorkerList(w http.ResponseWriter, r *http.Request) {
	workers, err := s.backend.ListWorkers(r.Context())
	if err != nil {
		WriteError(w, err)
		return
	}
	if workers == nil {
		workers = []ClusterWorker{}
	}
	WriteJSON(w, http.StatusOK, GetClusterWorkerListResponse{Total: len(workers), Data: workers})
}

// DMAPIOfflineWorkerNode removes an offline worker.
func (s *Server) DMAPIOfflineWorkerNode(w http.ResponseWriter, r *http.Request, workerName WorkerName) {
	if err := s.backend.OfflineWorker(r.Context(), workerName); err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- relay (not implemented yet) ---

// DMAPIStartRelay starts relay logs on workers.
func (s *Server) DMAPIStartRelay(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	WriteError(w, NotImplemented("start relay"))
}

// DMAPIStopRelay stops relay logs on workers.
func (s *Server) DMAPIStopRelay(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	WriteError(w, NotImplemented("stop relay"))
}

// DMAPIPauseRelay pauses the relay log of a source.
func (s *Server) DMAPIPauseRelay(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	WriteError(w, NotImplemented("pause relay"))
}

// DMAPIResumeRelay resumes the relay log of a source.
func (s *Server) DMAPIResumeRelay(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	WriteError(w, NotImplemented("resume relay"))
}

// --- tasks (not implemented yet) ---

// DMAPIStartTask creates and starts a task.
func (s *Server) DMAPIStartTask(w http.ResponseWriter, r *http.Request) {
	WriteError(w, NotImplemented("start task"))
}

// DMAPIGetTaskList lists the tasks.
func (s *Server) DMAPIGetTaskList(w http.ResponseWriter, r *http.Request) {
	WriteError(w, NotImplemented("list tasks"))
}

// DMAPIDeleteTask stops a task.
func (s *Server) DMAPIDeleteTask(w http.ResponseWriter, r *http.Request, taskName TaskName, params DMAPIDeleteTaskParams) {
	WriteError(w, NotImplemented("delete task"))
}

// DMAPIGetTaskStatus reports the status of a task.
func (s *Server) DMAPIGetTaskStatus(w http.ResponseWriter, r *http.Request, taskName TaskName, params DMAPIGetTaskStatusParams) {
	WriteError(w, NotImplemented("get task status"))
}

// DMAPIPauseTask pauses a task.
func (s *Server) DMAPIPauseTask(w http.ResponseWriter, r *http.Request, taskName TaskName) {
	WriteError(w, NotImplemented("pause task"))
}

// DMAPIResumeTask resumes a task.
func (s *Server) DMAPIResumeTask(w http.ResponseWriter, r *http.Request, taskName TaskName) {
	WriteError(w, NotImplemented("resume task"))
}

// DMAPIGetSchemaListByTaskAndSource lists the schemas tracked by a subtask.
func (s *Server) DMAPIGetSchemaListByTaskAndSource(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName) {
	WriteError(w, NotImplemented("list task schemas"))
}

// DMAPIGetTableListByTaskAndSource lists the tables tracked by a subtask in a schema.
func (s *Server) DMAPIGetTableListByTaskAndSource(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName, schemaName SchemaName) {
	WriteError(w, NotImplemented("list task tables"))
}

// DMAPIGetTableStructure returns the tracked structure of a table.
func (s *Server) DMAPIGetTableStructure(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName, schemaName SchemaName, tableName TableName) {
	WriteError(w, NotImplemented("get table structure"))
}

// DMAPIOperateTableStructure replaces the tracked structure of a table.
func (s *Server) DMAPIOperateTableStructure(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName, schemaName SchemaName, tableName TableName) {
	WriteError(w, NotImplemented("update table structure"))
}

// DMAPIDeleteTableStructure forgets the tracked structure of a table.
func (s *Server) DMAPIDeleteTableStructure(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName, schemaName SchemaName, tableName TableName) {
	WriteError(w, NotImplemented("delete table structure"))
}
