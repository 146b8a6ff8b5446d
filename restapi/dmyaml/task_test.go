package dmyaml

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/restapi"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return data
}

// lineWith is the 1-based number of the first line of data containing s (after from).
func lineWith(t *testing.T, data []byte, s string, after ...string) int {
	t.Helper()
	lines := strings.Split(string(data), "\n")
	start := 0
	for _, a := range after {
		for start < len(lines) && !strings.Contains(lines[start], a) {
			start++
		}
	}
	for i := start; i < len(lines); i++ {
		if strings.Contains(lines[i], s) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", s)
	return 0
}

func ptr[T any](v T) *T { return &v }

var fullTaskRef1 = dmReference{
	doDBs:    []string{"~^shop_.*", "user"},
	doTables: [][2]string{{"~^shop_.*", "~^orders_(a|b)[0-9]$"}, {"user", "information"}},
	routes:   []refRoute{{"shop_*", "orders_*", "shop", "orders"}, {"shop_*", "", "shop", ""}},
	filters:  []refFilter{{schema: "shop_*", table: "orders_*", events: []string{"truncate table", "drop table"}}, {schema: "shop_*", events: []string{"all dml"}, do: true}},
}

var fullTaskRef2 = dmReference{
	doDBs:   []string{"crm", "~^stats_20(24|25)$"},
	filters: []refFilter{{schema: "crm", table: "audit*", events: []string{"delete"}}},
}

func TestParseTaskEverySupportedKey(t *testing.T) {
	task, warnings, err := ParseTask(readTestdata(t, "task_full.yaml"), Options{})
	require.NoError(t, err)
	require.Empty(t, warnings)

	require.Equal(t, "shop-merge", task.Name)
	require.Equal(t, restapi.TaskTaskModeAll, task.TaskMode)
	require.Equal(t, restapi.TaskShardModePessimistic, *task.ShardMode)
	require.Equal(t, "dm_meta", *task.MetaSchema)
	require.True(t, *task.EnhanceOnlineSchemaChange)
	require.False(t, *task.CleanDumpFile)
	require.Equal(t, restapi.TaskCollationCompatibleStrict, *task.CollationCompatible)
	require.Equal(t, restapi.TaskOnDuplicateIgnore, task.OnDuplicate)

	tg := task.TargetConfig
	require.Equal(t, restapi.TaskTargetDataBase{Host: "192.168.0.1", Port: 4000, User: "root", Password: "Tgt-Secret-1", Security: &restapi.Security{
		SslCaContent:   "-----BEGIN CERTIFICATE-----\nMIIBtest-ca\n-----END CERTIFICATE-----\n",
		SslCertContent: "-----BEGIN CERTIFICATE-----\nMIIBtest-cert\n-----END CERTIFICATE-----\n",
		SslKeyContent:  "-----BEGIN PRIVATE KEY-----\nMIIBtest-key\n-----END PRIVATE KEY-----\n",
		CertAllowedCn:  &[]string{"tidb-server"},
	}}, tg)

	consistency := restapi.TaskFullMigrateConfConsistencyFlush
	require.Equal(t, &restapi.TaskFullMigrateConf{ExportThreads: ptr(8), ImportThreads: ptr(12), DataDir: ptr("./dumped_data"), Consistency: &consistency}, task.SourceConfig.FullMigrateConf)
	require.Equal(t, &restapi.TaskIncrMigrateConf{ReplThreads: ptr(24), ReplBatch: ptr(200)}, task.SourceConfig.IncrMigrateConf)
	require.Equal(t, []restapi.TaskSourceConf{
		{SourceName: "mysql-replica-01", BinlogName: ptr("binlog.000001"), BinlogPos: ptr(4), BinlogGtid: ptr("03fc0263-28c7-11e7-a653-6c0b84d59f30:1-7041423")},
		{SourceName: "mysql-replica-02"},
	}, task.SourceConfig.SourceConf)

	require.Equal(t, map[string]restapi.TaskBinLogFilterRule{
		"filter-rule-1": {IgnoreEvent: &[]string{"truncate table", "drop table"}},
		"filter-rule-2": {IgnoreEvent: &[]string{"all ddl"}}, // Do [all dml]
		"filter-rule-3": {IgnoreEvent: &[]string{"delete"}, IgnoreSql: &[]string{`^DROP\s+TABLE`}},
	}, *task.BinlogFilterRule)
	require.Equal(t, []restapi.TaskTableMigrateRule{
		{Source: restapi.TaskTableMigrateRuleSource{SourceName: "mysql-replica-01", Schema: "shop_*", Table: "orders_[a-b][0-9]"},
			Target: &restapi.TaskTableMigrateRuleTarget{Schema: "shop", Table: "orders"}, BinlogFilterRule: &[]string{"filter-rule-1", "filter-rule-2"}},
		{Source: restapi.TaskTableMigrateRuleSource{SourceName: "mysql-replica-01", Schema: "user", Table: "information"}},
		{Source: restapi.TaskTableMigrateRuleSource{SourceName: "mysql-replica-02", Schema: "crm", Table: "audit*"}, BinlogFilterRule: &[]string{"filter-rule-3"}},
		{Source: restapi.TaskTableMigrateRuleSource{SourceName: "mysql-replica-02", Schema: "crm", Table: "*"}},
		{Source: restapi.TaskTableMigrateRuleSource{SourceName: "mysql-replica-02", Schema: "stats_202[4-5]", Table: "*"}},
	}, task.TableMigrateRule)

	requireSameAsDM(t, task, "mysql-replica-01", fullTaskRef1)
	requireSameAsDM(t, task, "mysql-replica-02", fullTaskRef2)
}

// TestParseTaskDMTemplate reads DM's own template: the keys with no effect here are warnings
// naming their line, the exclusion lists are converted exactly.
func TestParseTaskDMTemplate(t *testing.T) {
	data := readTestdata(t, "task_dm_template.yaml")
	task, warnings, err := ParseTask(data, Options{})
	require.NoError(t, err)

	byKey := map[string]Warning{}
	for _, w := range warnings {
		byKey[w.Key] = w
	}
	for key, line := range map[string]int{
		"is-sharding":                              lineWith(t, data, "is-sharding:"),
		"enable-heartbeat":                         lineWith(t, data, "enable-heartbeat:"),
		"timezone":                                 lineWith(t, data, "timezone:"),
		"online-ddl-scheme":                        lineWith(t, data, "online-ddl-scheme:"),
		"ignore-checking-items":                    lineWith(t, data, "ignore-checking-items:"),
		"remove-meta":                              lineWith(t, data, "remove-meta:"),
		"target-database.max-allowed-packet":       lineWith(t, data, "max-allowed-packet:"),
		"target-database.session":                  lineWith(t, data, "session:"),
		"black-white-list":                         lineWith(t, data, "black-white-list:"),
		"black-white-list.bw-rule-1.ignore-dbs":    lineWith(t, data, "ignore-dbs:"),
		"mydumpers.global.chunk-filesize":          lineWith(t, data, "chunk-filesize:"),
		"mydumpers.global.extra-args":              lineWith(t, data, "extra-args:"),
		"loaders.global.import-mode":               lineWith(t, data, "import-mode:"),
		"loaders.global.on-duplicate-physical":     lineWith(t, data, "on-duplicate-physical:"),
		"loaders.global.checksum-physical":         lineWith(t, data, "checksum-physical:"),
		"syncers.global.enable-ansi-quotes":        lineWith(t, data, "enable-ansi-quotes:"),
		"syncers.global.safe-mode-duration":        lineWith(t, data, "safe-mode-duration:"),
		"syncers.global.multiple-rows":             lineWith(t, data, "multiple-rows:"),
		"validators":                               lineWith(t, data, "validators:"),
		"expression-filter.even_c":                 lineWith(t, data, "even_c:"),
		"mysql-instances[0].black-white-list":      lineWith(t, data, "black-white-list: \"bw-rule-1\""),
		"mysql-instances[0].validator-config-name": lineWith(t, data, "validator-config-name:"),
		"mysql-instances[1].black-white-list":      lineWith(t, data, "black-white-list: \"bw-rule-2\""),
	} {
		w, ok := byKey[key]
		require.True(t, ok, "a warning for %s; got %v", key, warnings)
		require.Equal(t, line, w.Line, "line of the warning for %s", key)
		require.NotEmpty(t, w.Message)
	}
	require.NotContains(t, byKey, "syncers.batch", "DM's defaults equal the first instance's values")

	require.Equal(t, restapi.TaskShardModeOptimistic, *task.ShardMode)
	require.Equal(t, restapi.TaskCollationCompatibleLoose, *task.CollationCompatible)
	require.Equal(t, restapi.TaskOnDuplicateReplace, task.OnDuplicate)
	require.Equal(t, restapi.TaskFullMigrateConfConsistencyNone, *task.SourceConfig.FullMigrateConf.Consistency)

	requireSameAsDM(t, task, "mysql-replica-01", dmReference{
		doDBs:    []string{"~^test.*", "user"},
		doTables: [][2]string{{"~^test.*", "~^t.*"}, {"user", "information"}},
		routes:   []refRoute{{"test_*", "t_*", "test", "t"}, {"test_*", "", "test", ""}},
		filters:  []refFilter{{schema: "test_*", table: "t_*", events: []string{"truncate table", "drop table"}}, {schema: "test_*", events: []string{"all dml"}, do: true}},
	})
	requireSameAsDM(t, task, "mysql-replica-02", dmReference{
		ignoreDBs:    []string{"mysql", "account"},
		ignoreTables: [][2]string{{"user", "log"}},
	})
}

func TestTaskRoundTrip(t *testing.T) {
	for _, file := range []string{"task_full.yaml", "task_dm_template.yaml"} {
		t.Run(file, func(t *testing.T) {
			first, _, err := ParseTask(readTestdata(t, file), Options{})
			require.NoError(t, err)
			out, err := TaskYAML(first)
			require.NoError(t, err)
			second, warnings, err := ParseTask(out, Options{})
			require.NoError(t, err, "%s", out)
			require.Empty(t, warnings, "the written file has only keys that take effect")
			require.Equal(t, first, second, "%s", out)
			again, err := TaskYAML(second)
			require.NoError(t, err)
			require.Equal(t, string(out), string(again))
		})
	}
}

// Three routes give the table r.n the same target: it gets one rule, ahead of the wildcard
// *.$ routed before it (as does r.$, which the list's do-dbs r and do-tables *.$ select) (a single table wins wherever it stands), which is the order TaskYAML
// writes routes in; the file written back reads as the same rules (found by FuzzTaskFile).
func TestTaskRoutedSingleTableComesFirstOnce(t *testing.T) {
	task, _, err := ParseTask([]byte(`name: p
task-mode: all
target-database: {host: h, port: 4, user: t, password: ""}
routes:
  r0: {schema-pattern: "*", table-pattern: "$", target-schema: p, target-table: s}
  r1: {schema-pattern: "r", table-pattern: "*", target-schema: p, target-table: s}
  r2: {schema-pattern: "r*", table-pattern: "n", target-schema: p, target-table: s}
block-allow-list:
  b: {do-dbs: ["*", "r"], do-tables: [{db-name: "*", tbl-name: "$"}, {db-name: r, tbl-name: n}]}
mysql-instances:
- source-id: s1
  block-allow-list: b
  route-rules: [r0, r1, r2]
`), Options{})
	require.NoError(t, err)
	var got []string
	for _, r := range task.TableMigrateRule {
		got = append(got, r.Source.Schema+"."+r.Source.Table+"->"+r.Target.Schema+"."+r.Target.Table)
	}
	require.Equal(t, []string{"r.$->p.s", "r.n->p.s", "*.$->p.s"}, got)
	out, err := TaskYAML(task)
	require.NoError(t, err)
	again, _, err := ParseTask(out, Options{})
	require.NoError(t, err)
	require.Equal(t, task, again, "%s", out)
}

// Two DM filters ignoring the same events on different tables are one API filter, under the
// first one's name; written back, a filter no one pattern covers becomes one DM filter per
// table, which read as the same one filter. A listed filter matching no migrated table is
// left out with a warning naming it (found by FuzzTaskFile).
func TestTaskFiltersDoingTheSameAreOne(t *testing.T) {
	task, warnings, err := ParseTask([]byte(`name: p
task-mode: all
target-database: {host: h, port: 4, user: t, password: ""}
filters:
  no-truncate-a: {schema-pattern: a, table-pattern: x, events: [truncate table], action: Ignore}
  no-truncate-b: {schema-pattern: b, table-pattern: y, events: [truncate table], action: Ignore}
  elsewhere: {schema-pattern: z, events: [delete], action: Ignore}
block-allow-list:
  l: {do-tables: [{db-name: a, tbl-name: x}, {db-name: b, tbl-name: y}]}
mysql-instances:
- source-id: s1
  block-allow-list: l
  filter-rules: [no-truncate-a, no-truncate-b, elsewhere]
`), Options{})
	require.NoError(t, err)
	require.Len(t, warnings, 1)
	require.Contains(t, warnings[0].String(), `"elsewhere" matches none of the tables`)
	require.Equal(t, map[string]restapi.TaskBinLogFilterRule{"no-truncate-a": {IgnoreEvent: &[]string{"truncate table"}}}, *task.BinlogFilterRule)
	for _, r := range task.TableMigrateRule {
		require.Equal(t, []string{"no-truncate-a"}, *r.BinlogFilterRule, "%s.%s", r.Source.Schema, r.Source.Table)
	}
	out, err := TaskYAML(task)
	require.NoError(t, err)
	require.Contains(t, string(out), "no-truncate-a-s1-1:")
	again, warnings, err := ParseTask(out, Options{})
	require.NoError(t, err)
	require.Empty(t, warnings)
	require.Equal(t, task, again, "%s", out)
}

// problems parses data and returns the problems of its error.
func problems(t *testing.T, data string) []Problem {
	t.Helper()
	_, _, err := ParseTask([]byte(data), Options{})
	require.Error(t, err)
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	return e.Problems
}

const minimalTask = `name: t1
task-mode: full
target-database: {host: 127.0.0.1, port: 3306, user: root, password: ""}
mysql-instances:
  - source-id: s1
    block-allow-list: ba
block-allow-list:
  ba:
    do-dbs: [shop]
`

func TestTaskUnknownKeysNameTheirLine(t *testing.T) {
	ps := problems(t, strings.Replace(minimalTask, "task-mode: full", "tsak-mode: full", 1))
	require.Contains(t, ps, Problem{Line: 2, Key: "tsak-mode", Message: `unknown key (did you mean "task-mode"?)`})

	ps = problems(t, minimalTask+"loaders:\n  global:\n    pool-szie: 4\n")
	require.Contains(t, ps, Problem{Line: 12, Key: "loaders.global.pool-szie", Message: `unknown key (did you mean "pool-size"?)`})

	ps = problems(t, strings.Replace(minimalTask, "    block-allow-list: ba", "    block-allow-list: ba\n    frobnicate: 1", 1))
	require.Contains(t, ps, Problem{Line: 7, Key: "mysql-instances[0].frobnicate", Message: "unknown key"})

	ps = problems(t, minimalTask+"name: again\n")
	require.Equal(t, 10, ps[0].Line)
	require.Contains(t, ps[0].Message, "given twice (first on line 1)")

	_, _, err := ParseTask([]byte("name: [unclosed\n"), Options{})
	require.ErrorContains(t, err, "line")
}

// TestTaskKeysThatWouldChangeTheDataAreErrors: what cannot be converted and would change which
// rows move is refused, naming the key and its line.
func TestTaskKeysThatWouldChangeTheDataAreErrors(t *testing.T) {
	for name, tc := range map[string]struct{ edit, key, msg string }{
		"case-sensitive":     {"case-sensitive: true\n", "case-sensitive", "case-insensitively"},
		"dump mode":          {"task-mode: dump\n", "task-mode", "full, incremental or all"},
		"dump where":         {"mydumpers:\n  global:\n    where: \"id > 10\"\n", "mydumpers.global.where", "some rows"},
		"dump filter arg":    {"mydumpers:\n  global:\n    extra-args: \"-T shop.t\"\n", "mydumpers.global.extra-args", "choose what is dumped"},
		"s3 dump dir":        {"loaders:\n  global:\n    dir: \"s3://bucket/x?access_key=k\"\n", "loaders.global.dir", "external storage"},
		"column mappings":    {"column-mappings:\n  cm:\n    schema-pattern: a\n", "column-mappings", "not supported"},
		"shadow rules":       {"shadow-table-rules: [\"^_(.+)_(?:new|gho)$\"]\n", "shadow-table-rules", "not supported"},
		"regex not a glob":   {"block-allow-list:\n  ba:\n    do-dbs: [\"~^shop_\\\\d+$\"]\n", "block-allow-list.ba.do-dbs[0]", "cannot be written"},
		"do with sql":        {"filters:\n  f:\n    schema-pattern: shop\n    sql-pattern: [\"^DROP\"]\n    action: Do\n", "filters.f.sql-pattern", "action Do"},
		"unknown event":      {"filters:\n  f:\n    schema-pattern: shop\n    events: [\"create function\"]\n    action: Ignore\n", "filters.f.events", "not supported"},
		"extract table":      {"routes:\n  r:\n    schema-pattern: shop\n    target-schema: x\n    extract-table: {table-regexp: \"t_(.*)\", target-column: c}\n", "routes.r.extract-table", "target columns"},
		"undefined rule set": {"mysql-instances:\n  - source-id: s1\n    route-rules: [nope]\n", "mysql-instances[0].route-rules", `"nope" is not defined`},
	} {
		t.Run(name, func(t *testing.T) {
			data := mergeTop(minimalTask, tc.edit)
			ps := problems(t, data)
			found := false
			for _, p := range ps {
				if p.Key == tc.key && strings.Contains(p.Message, tc.msg) {
					found = true
					require.Greater(t, p.Line, 0, "%v", p)
				}
			}
			require.True(t, found, "a problem for %s mentioning %q, got %v", tc.key, tc.msg, ps)
		})
	}
}

// mergeTop replaces the top-level keys of base that edit sets, and adds the others.
func mergeTop(base, edit string) string {
	keys := map[string]bool{}
	for _, l := range strings.Split(edit, "\n") {
		if k, _, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-") {
			keys[k] = true
		}
	}
	var out []string
	skipping := false
	for _, l := range strings.Split(base, "\n") {
		if !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-") {
			k, _, _ := strings.Cut(l, ":")
			skipping = keys[k]
		}
		if !skipping {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n" + edit
}

func TestTaskExpressionFilterInUseIsAnError(t *testing.T) {
	data := mergeTop(minimalTask, "expression-filter:\n  even:\n    schema: shop\n    table: t\n    insert-value-expr: \"c % 2 = 0\"\nmysql-instances:\n  - source-id: s1\n    block-allow-list: ba\n    expression-filters: [even]\n")
	ps := problems(t, data)
	require.Equal(t, "mysql-instances[0].expression-filters", ps[0].Key)
	require.Contains(t, ps[0].Message, "would change which rows move")
}

func TestTaskOnDuplicateMustAgree(t *testing.T) {
	data := mergeTop(minimalTask, "loaders:\n  a:\n    on-duplicate-logical: error\nmysql-instances:\n  - source-id: s1\n    loader-config-name: a\n  - source-id: s2\n")
	ps := problems(t, data)
	require.Equal(t, "loaders.on-duplicate-logical", ps[0].Key)
}
