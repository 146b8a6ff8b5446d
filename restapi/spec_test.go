package restapi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// contractRoutes are the 28 routes of the API contract (§1.1), in its order, then the
// shard-DDL lock routes, then DM's newer routes on one source or task (§6), the check, the
// converter, the binlog operation routes and the relay purge.
var contractRoutes = []struct {
	method, path, operationID string
}{
	{"GET", "/api/v1/docs", "GetDocHTML"},
	{"GET", "/api/v1/dm.json", "GetDocJSON"},
	{"POST", "/api/v1/sources", "DMAPICreateSource"},
	{"GET", "/api/v1/sources", "DMAPIGetSourceList"},
	{"DELETE", "/api/v1/sources/{source-name}", "DMAPIDeleteSource"},
	{"GET", "/api/v1/sources/{source-name}/status", "DMAPIGetSourceStatus"},
	{"POST", "/api/v1/sources/{source-name}/start-relay", "DMAPIStartRelay"},
	{"POST", "/api/v1/sources/{source-name}/stop-relay", "DMAPIStopRelay"},
	{"POST", "/api/v1/sources/{source-name}/pause-relay", "DMAPIPauseRelay"},
	{"POST", "/api/v1/sources/{source-name}/resume-relay", "DMAPIResumeRelay"},
	{"POST", "/api/v1/sources/{source-name}/transfer", "DMAPITransferSource"},
	{"GET", "/api/v1/sources/{source-name}/schemas", "DMAPIGetSourceSchemaList"},
	{"GET", "/api/v1/sources/{source-name}/schemas/{schema-name}", "DMAPIGetSourceTableList"},
	{"POST", "/api/v1/tasks", "DMAPIStartTask"},
	{"GET", "/api/v1/tasks", "DMAPIGetTaskList"},
	{"DELETE", "/api/v1/tasks/{task-name}", "DMAPIDeleteTask"},
	{"GET", "/api/v1/tasks/{task-name}/status", "DMAPIGetTaskStatus"},
	{"POST", "/api/v1/tasks/{task-name}/pause", "DMAPIPauseTask"},
	{"POST", "/api/v1/tasks/{task-name}/resume", "DMAPIResumeTask"},
	{"GET", "/api/v1/tasks/{task-name}/sources/{source-name}/schemas", "DMAPIGetSchemaListByTaskAndSource"},
	{"GET", "/api/v1/tasks/{task-name}/sources/{source-name}/schemas/{schema-name}", "DMAPIGetTableListByTaskAndSource"},
	{"GET", "/api/v1/tasks/{task-name}/sources/{source-name}/schemas/{schema-name}/{table-name}", "DMAPIGetTableStructure"},
	{"PUT", "/api/v1/tasks/{task-name}/sources/{source-name}/schemas/{schema-name}/{table-name}", "DMAPIOperateTableStructure"},
	{"DELETE", "/api/v1/tasks/{task-name}/sources/{source-name}/schemas/{schema-name}/{table-name}", "DMAPIDeleteTableStructure"},
	{"GET", "/api/v1/cluster/masters", "DMAPIGetClusterMasterList"},
	{"DELETE", "/api/v1/cluster/masters/{master-name}", "DMAPIOfflineMasterNode"},
	{"GET", "/api/v1/cluster/workers", "DMAPIGetClusterWorkerList"},
	{"DELETE", "/api/v1/cluster/workers/{worker-name}", "DMAPIOfflineWorkerNode"},
	{"GET", "/api/v1/shard-ddl-locks", "DMAPIGetShardDDLLockList"},
	{"POST", "/api/v1/shard-ddl-locks/{lock-id}/unlock", "DMAPIUnlockShardDDLLock"},
	{"GET", "/api/v1/sources/{source-name}", "DMAPIGetSource"},
	{"PUT", "/api/v1/sources/{source-name}", "DMAPIUpdateSource"},
	{"GET", "/api/v1/tasks/{task-name}", "DMAPIGetTask"},
	{"PUT", "/api/v1/tasks/{task-name}", "DMAPIUpdateTask"},
	{"POST", "/api/v1/tasks/check", "DMAPICheckTask"},
	{"POST", "/api/v1/tasks/converters", "DMAPIConvertTask"},
	{"GET", "/api/v1/tasks/{task-name}/binlog-operations", "DMAPIGetBinlogOperationList"},
	{"POST", "/api/v1/tasks/{task-name}/binlog-operations", "DMAPIOperateBinlog"},
	{"POST", "/api/v1/sources/{source-name}/relay/purge", "DMAPIPurgeRelay"},
}

func TestSpecLoadsAndValidates(t *testing.T) {
	doc, err := loadSpec(t.Context())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3.0."), "OpenAPI version %s", doc.OpenAPI)
	require.Equal(t, "DM OpenAPI DOC", doc.Info.Title)
	var tags []string
	for _, tag := range doc.Tags {
		tags = append(tags, tag.Name)
	}
	require.ElementsMatch(t, []string{"source", "task", "cluster", "doc"}, tags)
}

func TestSpecHasExactlyTheContractRoutes(t *testing.T) {
	require.Len(t, contractRoutes, 39)
	doc, err := loadSpec(t.Context())
	require.NoError(t, err)

	var want, got []string
	for _, r := range contractRoutes {
		want = append(want, r.method+" "+r.path+" "+r.operationID)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			got = append(got, method+" "+path+" "+op.OperationID)
		}
	}
	require.ElementsMatch(t, want, got)
}

func TestSpecOperationConventions(t *testing.T) {
	doc, err := loadSpec(t.Context())
	require.NoError(t, err)
	kebab := regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
	snake := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			require.NotEmpty(t, op.Tags, name)
			for _, p := range op.Parameters {
				switch p.Value.In {
				case openapi3.ParameterInPath:
					require.Regexp(t, kebab, p.Value.Name, name)
				case openapi3.ParameterInQuery:
					require.Regexp(t, snake, p.Value.Name, name)
					if p.Value.Schema.Value.Type.Is(openapi3.TypeArray) {
						require.Equal(t, "form", p.Value.Style, name)
						require.True(t, p.Value.Explode != nil && *p.Value.Explode, name)
					}
				}
			}
			if slices.Contains(op.Tags, "doc") {
				continue
			}
			for _, code := range []string{"400", "500", "501", "503"} {
				resp := op.Responses.Value(code)
				require.NotNil(t, resp, "%s documents %s", name, code)
				require.Equal(t, "#/components/schemas/ErrorWithMessage",
					resp.Value.Content.Get("application/json").Schema.Ref, "%s %s", name, code)
			}
			switch {
			case method == "DELETE":
				require.NotNil(t, op.Responses.Value("204"), name)
				require.Empty(t, op.Responses.Value("204").Value.Content, name)
			case method == "POST" && (path == "/api/v1/sources" || path == "/api/v1/tasks"):
				require.NotNil(t, op.Responses.Value("201"), name)
			case method == "POST" && path == "/api/v1/shard-ddl-locks/{lock-id}/unlock",
				method == "PUT" && (path == "/api/v1/sources/{source-name}" || path == "/api/v1/tasks/{task-name}"),
				method == "POST" && (path == "/api/v1/tasks/check" || path == "/api/v1/tasks/converters"),
				method == "POST" && path == "/api/v1/tasks/{task-name}/binlog-operations",
				method == "POST" && path == "/api/v1/sources/{source-name}/relay/purge":
				// Synchronous: answers with the object as it is after the call, or the result.
				require.NotEmpty(t, op.Responses.Value("200").Value.Content, name)
			case method == "GET":
				require.NotEmpty(t, op.Responses.Value("200").Value.Content, name)
			default: // asynchronous operations and the table-schema PUT
				require.NotNil(t, op.Responses.Value("200"), name)
				require.Empty(t, op.Responses.Value("200").Value.Content, name)
			}
		}
	}
}

func TestSpecSchemasFollowOurDecisions(t *testing.T) {
	doc, err := loadSpec(t.Context())
	require.NoError(t, err)
	schemas := doc.Components.Schemas
	for _, name := range []string{
		"ErrorWithMessage", "Security", "Purge", "RelayStatus", "SourceStatus", "Source",
		"GetSourceListResponse", "GetSourceStatusResponse", "DeleteSourceResponse",
		"StartRelayRequest", "StopRelayRequest", "WorkerNameRequest", "ShardingGroup",
		"LoadStatus", "SyncStatus", "SubTaskStatus", "TaskTargetDataBase", "TaskBinLogFilterRule",
		"TaskTableMigrateRule", "TaskFullMigrateConf", "TaskIncrMigrateConf", "TaskSourceConf",
		"TaskSourceConfig", "TaskCheckerConfig", "Task", "ClusterMaster", "ClusterWorker",
		"GetClusterMasterListResponse", "GetClusterWorkerListResponse", "WorkerNameList",
		"SourceNameList", "SchemaNameList", "TableNameList", "TaskNameList", "CreateTaskRequest",
		"OperateTaskTableStructureRequest", "GetTaskListResponse", "GetTaskStatusResponse",
		"GetTaskTableStructureResponse", "ShardDDLLock", "GetShardDDLLockListResponse",
		"UnlockShardDDLLockRequest", "UpdateSourceRequest", "UpdateTaskRequest", "CheckTaskResponse",
		"CheckSummary", "CheckItem", "CheckError",
	} {
		require.Contains(t, schemas, name)
	}
	enum := func(schema, prop string) []any {
		return schemas[schema].Value.Properties[prop].Value.Enum
	}
	require.Equal(t, []any{"overwrite", "replace", "ignore", "error"}, enum("Task", "on_duplicate"))
	require.Equal(t, []any{"full", "incremental", "all"}, enum("Task", "task_mode"))
	require.Equal(t, []any{"pessimistic", "optimistic"}, enum("Task", "shard_mode"))
	require.Equal(t, []any{"auto", "none", "flush", "snapshot", "lock"}, enum("TaskFullMigrateConf", "consistency"))
	require.Equal(t, []any{"offline", "free", "bound", "relay"}, enum("ClusterWorker", "bound_stage"))
	require.Equal(t, []any{"pessimistic", "optimistic"}, enum("ShardDDLLock", "mode"))
	require.Equal(t, []any{"exec", "skip"}, enum("UnlockShardDDLLockRequest", "action"))
	require.ElementsMatch(t, []string{"id", "task_name", "mode", "owner", "ddls", "synced", "unsynced", "resolved", "action", "done"},
		schemas["ShardDDLLock"].Value.Required)
	require.Contains(t, schemas["SubTaskStatus"].Value.Properties, "error_msg")
	require.ElementsMatch(t, []string{"error_msg", "error_code"}, schemas["ErrorWithMessage"].Value.Required)
	require.True(t, schemas["ErrorWithMessage"].Value.Properties["error_code"].Value.Type.Is(openapi3.TypeInteger))

	status := doc.Paths.Value("/api/v1/tasks/{task-name}/status").Get
	var query []string
	for _, p := range status.Parameters {
		if p.Value.In == openapi3.ParameterInQuery {
			query = append(query, p.Value.Name)
		}
	}
	require.ElementsMatch(t, []string{"stage", "source_name_list"}, query)

	// Unknown fields are ignored (decision 10): nothing forbids them.
	require.NotContains(t, string(specYAML), "additionalProperties: false")
}

// TestGeneratedCodeIsUpToDate regenerates openapi.gen.go into a temporary file and
// compares it with the committed one.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the code generator")
	}
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command regenerates the code")
	cfg, err := os.ReadFile("oapi-codegen.yaml")
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "openapi.gen.go")
	tmpCfg := bytes.Replace(cfg, []byte("\noutput: openapi.gen.go\n"), []byte("\noutput: "+out+"\n"), 1)
	require.NotEqual(t, cfg, tmpCfg, "oapi-codegen.yaml must name output: openapi.gen.go")
	cfgPath := filepath.Join(t.TempDir(), "oapi-codegen.yaml")
	require.NoError(t, os.WriteFile(cfgPath, tmpCfg, 0o600))

	cmd := exec.CommandContext(t.Context(), goBin, "tool", "oapi-codegen", "-config", cfgPath, "openapi.yaml")
	combined, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", combined)
	regenerated, err := os.ReadFile(out)
	require.NoError(t, err)
	committed, err := os.ReadFile("openapi.gen.go")
	require.NoError(t, err)
	require.True(t, bytes.Equal(committed, regenerated), "openapi.gen.go is stale: run go generate ./restapi")
}
