package master

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/dmyaml"
)

// TestConvertersRoute drives POST /api/v1/tasks/converters on a real master: DM's task file to
// a task and back, passwords masked both ways, and bad input answered in the template.
func TestConvertersRoute(t *testing.T) {
	s := startTestMaster(t)
	file, err := os.ReadFile("../restapi/dmyaml/testdata/task_full.yaml")
	require.NoError(t, err)

	a := do(t, s, http.MethodPost, "/api/v1/tasks/converters", map[string]any{"task_config_file": string(file)})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.NotContains(t, string(a.body), "Tgt-Secret-1")
	require.NotContains(t, string(a.body), "MIIBtest")
	var resp restapi.ConverterTaskResponse
	require.NoError(t, json.Unmarshal(a.body, &resp))
	require.Equal(t, "shop-merge", resp.Task.Name)
	require.Equal(t, "******", resp.Task.TargetConfig.Password)
	require.Len(t, resp.Task.TableMigrateRule, 5)
	require.Empty(t, *resp.Warnings)
	back, _, err := dmyaml.ParseTask([]byte(resp.TaskConfigFile), dmyaml.Options{})
	require.NoError(t, err, "%s", resp.TaskConfigFile)
	// The file is the task answered, less the TLS material that no answer carries.
	require.Equal(t, &restapi.Security{CertAllowedCn: &[]string{"tidb-server"}}, resp.Task.TargetConfig.Security)
	withoutTLS := resp.Task
	withoutTLS.TargetConfig.Security = nil
	require.Equal(t, withoutTLS, back)

	// The other way: a task to a file.
	a = do(t, s, http.MethodPost, "/api/v1/tasks/converters", map[string]any{"task": resp.Task})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	var resp2 restapi.ConverterTaskResponse
	require.NoError(t, json.Unmarshal(a.body, &resp2))
	require.Equal(t, resp.TaskConfigFile, resp2.TaskConfigFile)

	// DM's template: accepted, with warnings naming keys and lines.
	tmpl, err := os.ReadFile("../restapi/dmyaml/testdata/task_dm_template.yaml")
	require.NoError(t, err)
	a = do(t, s, http.MethodPost, "/api/v1/tasks/converters", map[string]any{"task_config_file": string(tmpl)})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.NoError(t, json.Unmarshal(a.body, &resp))
	require.Contains(t, strings.Join(*resp.Warnings, "\n"), "timezone: has no effect")

	// A misspelt key: 400 with DM's ErrConfigYamlTransform code, naming key and line.
	bad := strings.Replace(string(file), "task-mode: all", "task-mdoe: all", 1)
	a = do(t, s, http.MethodPost, "/api/v1/tasks/converters", map[string]any{"task_config_file": bad})
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
	require.Equal(t, fsm.CodeConfigYAML, a.code(t))
	msg := errorMsg(t, a)
	require.Contains(t, msg, `line 5: task-mdoe: unknown key (did you mean "task-mode"?)`)
	require.NotContains(t, msg, "Tgt-Secret-1")

	// Not YAML at all.
	a = do(t, s, http.MethodPost, "/api/v1/tasks/converters", map[string]any{"task_config_file": "name: [x\n"})
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
	require.Equal(t, fsm.CodeConfigYAML, a.code(t))

	// Neither or both.
	for _, body := range []map[string]any{{}, {"task": resp.Task, "task_config_file": string(file)}} {
		a = do(t, s, http.MethodPost, "/api/v1/tasks/converters", body)
		require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
		require.Equal(t, fsm.CodeOpenAPICommon, a.code(t))
	}
}
