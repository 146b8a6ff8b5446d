package restapi

import (
	"net/http"

	"github.com/dm-oss/dm/fsm"
)

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
	if err := checkStructureSource(req); err != nil {
		WriteError(w, err)
		return
	}
	writeEmpty(w, s.backend.SetTaskTable(r.Context(), taskName, sourceName, schemaName, tableName, req))
}

// checkStructureSource insists on exactly one origin of the new structure: the statement
// itself, the upstream table, or the target table (dmctl's schema file, --from-source,
// --from-target).
func checkStructureSource(req OperateTaskTableStructureRequest) error {
	given := 0
	if req.SqlContent != nil {
		given++
	}
	if req.FromSource != nil && *req.FromSource {
		given++
	}
	if req.FromTarget != nil && *req.FromTarget {
		given++
	}
	switch given {
	case 1:
		return nil
	case 0:
		return Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid,
			"give the new structure: sql_content (a CREATE TABLE statement), from_source: true or from_target: true")
	default:
		return Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid,
			"give only one of sql_content, from_source: true and from_target: true")
	}
}

// DMAPIDeleteTableStructure forgets the tracked structure of a table.
func (s *Server) DMAPIDeleteTableStructure(w http.ResponseWriter, r *http.Request, taskName TaskName, sourceName SourceName, schemaName SchemaName, tableName TableName) {
	if err := s.backend.DeleteTaskTable(r.Context(), taskName, sourceName, schemaName, tableName); err != nil {
		WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
