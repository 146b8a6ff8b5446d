package restapi

import "net/http"

// PurgeRelayWorkerResult is one relay worker's part of the answer to POST
// /api/v1/sources/{source-name}/relay/purge (the path block of openapi.yaml describes it
// inline, so the generator makes no type for it).
type PurgeRelayWorkerResult struct {
	WorkerName  string   `json:"worker_name"`
	RelayDir    string   `json:"relay_dir"`
	PurgedFiles []string `json:"purged_files"`
	KeptFrom    string   `json:"kept_from"`
	Msg         string   `json:"msg"`
}

// PurgeRelayResponse is the 200 answer of the purge: one entry per relay worker.
type PurgeRelayResponse struct {
	Total int                      `json:"total"`
	Data  []PurgeRelayWorkerResult `json:"data"`
}

// DMAPIPurgeRelay purges the relay files of a source before a file on its relay workers.
func (s *Server) DMAPIPurgeRelay(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	var req DMAPIPurgeRelayJSONRequestBody
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	res, err := s.backend.PurgeRelay(r.Context(), sourceName, req)
	if err != nil {
		WriteError(w, err)
		return
	}
	if res == nil {
		res = []PurgeRelayWorkerResult{}
	}
	for i := range res {
		if res[i].PurgedFiles == nil {
			res[i].PurgedFiles = []string{}
		}
	}
	WriteJSON(w, http.StatusOK, PurgeRelayResponse{Total: len(res), Data: res})
}
