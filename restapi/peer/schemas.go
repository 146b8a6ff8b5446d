package peer

// PathSubtaskPrefix + <task> + "/schemas[/<schema>[/<table>]]" is a worker's route on the schema
// tracker of one of its subtasks (GET lists or reads, PUT replaces a table, DELETE forgets it).
const PathSubtaskPrefix = "/internal/v1/subtasks/"

// TableStructure is a table as a subtask's schema tracker holds it (GET of a table):
// restapi.GetTaskTableStructureResponse.
type TableStructure struct {
	SchemaCreateSql string `json:"schema_create_sql"`
	SchemaName      string `json:"schema_name"`
	TableName       string `json:"table_name"`
}

// SetTableStructure replaces a tracked table (PUT of a table):
// restapi.OperateTaskTableStructureRequest. The statement is SqlContent, or the worker reads it
// from the upstream table (FromSource) or from the target table the task routes it to
// (FromTarget); the master has checked that exactly one is given.
type SetTableStructure struct {
	Flush      *bool   `json:"flush,omitempty"`
	FromSource *bool   `json:"from_source,omitempty"`
	FromTarget *bool   `json:"from_target,omitempty"`
	SqlContent *string `json:"sql_content,omitempty"`
	Sync       *bool   `json:"sync,omitempty"`
}
