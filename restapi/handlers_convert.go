package restapi

import "net/http"

// DMAPIConvertTask converts a task between its JSON and DM's task.yaml.
func (s *Server) DMAPIConvertTask(w http.ResponseWriter, r *http.Request) {
	var req ConverterTaskRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	resp, err := s.backend.ConvertTask(r.Context(), req)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, resp)
}
