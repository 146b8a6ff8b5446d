package restapi

import "net/http"

// DMAPIGetSchemaListByTaskAndSource lists the schemas tracked by a subtask.
func (s *Server) DMAPIGetSchemaListByTaskAndSource(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName) {
	names, err := s.backend.TaskSchemas(r.Context(), taskName, sourceName)
	writeNames(w, names, err)
}

// DMAPIGetTableListByTaskAndSource lists the tables tracked by a subtask in a schema.
func (s *Server) DMAPIGetTableListByTaskAndSource(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName, schemaName SchemaName) {
	names, err := s.backend.TaskTables(r.Context(), taskName, sourceName, schemaName)
	writeNames(w, names, err)
}

// DMAPIGetTableStructure returns the tracked structure of a table.
func (s *Server) DMAPIGetTableStructure(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName, schemaName SchemaName, tableName TableName) {
	st, err := s.backend.TaskTable(r.Context(), taskName, sourceName, schemaName, tableName)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, st)
}

// DMAPIOperateTableStructure replaces the tracked structure of a table.
func (s *Server) DMAPIOperateTableStructure(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName, schemaName SchemaName, tableName TableName) {
	var req OperateTaskTableStructureRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	writeEmpty(w, s.backend.SetTaskTable(r.Context(), taskName, sourceName, schemaName, tableName, req))
}

// DMAPIDeleteTableStructure forgets the tracked structure of a table.
func (s *Server) DMAPIDeleteTableStructure(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName, schemaName SchemaName, tableName TableName) {
	if err := s.backend.DeleteTaskTable(r.Context(), taskName, sourceName, schemaName, tableName); err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
