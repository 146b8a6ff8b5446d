package restapi

import (
	"net/http"

	"github.com/dm-oss/dm/restapi/apierr"
)

// decodeBody reads a JSON request body (already validated against the spec) into v.
func decodeBody(r *http.Request, v any) error { return apierr.DecodeJSON(r, v) }

// DMAPICreateSource checks the upstream and creates a source.
func (s *Server) DMAPICreateSource(w http.ResponseWriter, r *http.Request) {
	var src Source
	if err := decodeBody(r, &src); err != nil {
		WriteError(w, err)
		return
	}
	created, err := s.backend.CreateSource(r.Context(), src)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusCreated, created)
}

// DMAPIGetSourceList lists the sources.
func (s *Server) DMAPIGetSourceList(w http.ResponseWriter, r *http.Request, params DMAPIGetSourceListParams) {
	sources, err := s.backend.ListSources(r.Context(), params.WithStatus != nil && *params.WithStatus)
	if err != nil {
		WriteError(w, err)
		return
	}
	if sources == nil {
		sources = []Source{}
	}
	WriteJSON(w, http.StatusOK, GetSourceListResponse{Total: len(sources), Data: sources})
}

// DMAPIDeleteSource deletes a source.
func (s *Server) DMAPIDeleteSource(w http.ResponseWriter, r *http.Request, sourceName SourceName, params DMAPIDeleteSourceParams) {
	if err := s.backend.DeleteSource(r.Context(), sourceName, params.Force != nil && *params.Force); err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DMAPIGetSourceStatus reports the status of a source.
func (s *Server) DMAPIGetSourceStatus(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	st, err := s.backend.SourceStatus(r.Context(), sourceName)
	if err != nil {
		WriteError(w, err)
		return
	}
	if st == nil {
		st = []SourceStatus{}
	}
	WriteJSON(w, http.StatusOK, GetSourceStatusResponse{Total: len(st), Data: st})
}

// DMAPITransferSource binds a source to another worker.
func (s *Server) DMAPITransferSource(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	var req WorkerNameRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	if err := s.backend.TransferSource(r.Context(), sourceName, req.WorkerName); err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// DMAPIGetSourceSchemaList lists the schemas of a source database.
func (s *Server) DMAPIGetSourceSchemaList(w http.ResponseWriter, r *http.Request, sourceName SourceName) {
	names, err := s.backend.SourceSchemas(r.Context(), sourceName)
	writeNames(w, names, err)
}

// DMAPIGetSourceTableList lists the tables of a schema of a source database.
func (s *Server) DMAPIGetSourceTableList(w http.ResponseWriter, r *http.Request, sourceName SourceName, schemaName SchemaName) {
	names, err := s.backend.SourceTables(r.Context(), sourceName, schemaName)
	writeNames(w, names, err)
}

func writeNames(w http.ResponseWriter, names []string, err error) {
	if err != nil {
		WriteError(w, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	WriteJSON(w, http.StatusOK, names)
}
