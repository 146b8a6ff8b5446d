package dmyaml

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/restapi"
)

// apiTask is a task as an API client writes it: overlapping rules, a single-table rule that
// wins over a wildcard one, a filter named on only some rules, two sources sharing a filter.
const apiTask = `{"name":"api-task","task_mode":"incremental","on_duplicate":"overwrite",
 "target_config":{"host":"127.0.0.1","port":3306,"user":"root","password":"pw"},
 "binlog_filter_rule":{"no-drop":{"ignore_event":["drop table"],"ignore_sql":["^DROP"]},"no-del":{"ignore_event":["delete"]}},
 "table_migrate_rule":[
  {"source":{"source_name":"s1","schema":"test_1","table":"t_1"},"target":{"schema":"special","table":"one"}},
  {"source":{"source_name":"s1","schema":"test_*","table":"t_*"},"target":{"schema":"test","table":"t"},"binlog_filter_rule":["no-drop","no-del"]},
  {"source":{"source_name":"s1","schema":"user","table":""},"binlog_filter_rule":["no-del"]},
  {"source":{"source_name":"s1","schema":"u*","table":"log*"}},
  {"source":{"source_name":"s2","schema":"crm","table":"*"},"target":{"schema":"crm2","table":""},"binlog_filter_rule":["no-del"]}],
 "source_config":{"source_conf":[{"source_name":"s1","binlog_gtid":"0-1-5"},{"source_name":"s2","binlog_name":"mysql-bin.000002","binlog_pos":4}],
  "incr_migrate_conf":{"repl_threads":8}}}`

func TestTaskYAMLKeepsWhatMoves(t *testing.T) {
	var task restapi.Task
	require.NoError(t, json.Unmarshal([]byte(apiTask), &task))
	out, err := TaskYAML(task)
	require.NoError(t, err)
	back, warnings, err := ParseTask(out, Options{})
	require.NoError(t, err, "%s", out)
	require.Empty(t, warnings)

	require.Equal(t, task.Name, back.Name)
	require.Equal(t, restapi.TaskOnDuplicateReplace, back.OnDuplicate, "overwrite is DM's replace")
	require.Equal(t, task.SourceConfig.SourceConf, back.SourceConfig.SourceConf)
	require.Equal(t, task.SourceConfig.IncrMigrateConf, back.SourceConfig.IncrMigrateConf)
	require.Equal(t, task.TargetConfig, back.TargetConfig)
	require.Equal(t, restapi.TaskCollationCompatibleStrict, *back.CollationCompatible, "the API's default is written out")
	for _, source := range []string{"s1", "s2"} {
		want, got := compileRules(t, task, source), compileRules(t, back, source)
		for _, s := range append(refSchemas, "special", "u1") {
			for _, tb := range refTables {
				require.Equal(t, want.Match(s, tb), got.Match(s, tb), "%s: %s.%s migrated?", source, s, tb)
				require.Equal(t, want.Route(s, tb), got.Route(s, tb), "%s: route of %s.%s", source, s, tb)
				for _, k := range []rules.EventKind{rules.EventInsert, rules.EventDelete} {
					require.Equal(t, want.SkipDML(s, tb, k), got.SkipDML(s, tb, k), "%s: %s on %s.%s", source, k, s, tb)
				}
				require.Equal(t, want.SkipDDL(s, tb, rules.EventDropTable, "DROP TABLE x"), got.SkipDDL(s, tb, rules.EventDropTable, "DROP TABLE x"))
			}
		}
	}
}

// TestTaskYAMLRefusesShadowedRoutes: DM's routes always apply, so a rule without a target that
// the API lets win over a routed one cannot be written.
func TestTaskYAMLRefusesShadowedRoutes(t *testing.T) {
	var task restapi.Task
	require.NoError(t, json.Unmarshal([]byte(apiTask), &task))
	task.TableMigrateRule = append([]restapi.TaskTableMigrateRule{{Source: restapi.TaskTableMigrateRuleSource{SourceName: "s1", Schema: "test_*", Table: "*"}}}, task.TableMigrateRule...)
	_, err := TaskYAML(task)
	require.ErrorContains(t, err, "DM's routes cannot keep that order")
}
