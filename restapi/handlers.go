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
