package dmyaml

import (
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/restapi"
)

// dmReference evaluates one mysql-instances entry the way DM does (tidb's pkg/util/filter for
// the block-allow list, the table router, the binlog event filter), written independently of
// the converter, so that the tests can check the converted task moves exactly the same rows.
type dmReference struct {
	doDBs, ignoreDBs       []string
	doTables, ignoreTables [][2]string
	routes                 []refRoute
	filters                []refFilter
}

type refRoute struct{ schema, table, targetSchema, targetTable string }

type refFilter struct {
	schema, table string
	events        []string
	do            bool
}

func refMatch(t *testing.T, pattern, name string) bool {
	if len(pattern) > 0 && pattern[0] == '~' {
		return regexp.MustCompile("(?i)" + pattern[1:]).MatchString(name)
	}
	m, err := rules.CompilePattern(pattern, false)
	require.NoError(t, err)
	return m.Match(name)
}

func (d dmReference) migrated(t *testing.T, schema, table string) bool {
	any := func(ps []string) bool {
		return slices.ContainsFunc(ps, func(p string) bool { return refMatch(t, p, schema) })
	}
	anyTable := func(ps [][2]string) bool {
		return slices.ContainsFunc(ps, func(p [2]string) bool { return refMatch(t, p[0], schema) && refMatch(t, p[1], table) })
	}
	if rules.IsSystemSchema(schema) {
		return false
	}
	if len(d.doDBs) > 0 && !any(d.doDBs) || len(d.doDBs) == 0 && len(d.ignoreDBs) > 0 && any(d.ignoreDBs) {
		return false
	}
	if len(d.doTables) > 0 && anyTable(d.doTables) {
		return true
	}
	if len(d.ignoreTables) > 0 && anyTable(d.ignoreTables) {
		return false
	}
	return len(d.doTables) == 0
}

func (d dmReference) route(t *testing.T, schema, table string) rules.TableRef {
	for _, level := range []bool{true, false} {
		for _, r := range d.routes {
			if (r.table != "") != level || !refMatch(t, r.schema, schema) || (r.table != "" && !refMatch(t, r.table, table)) {
				continue
			}
			out := rules.TableRef{Schema: schema, Table: table}
			if r.targetSchema != "" {
				out.Schema = r.targetSchema
			}
			if r.targetTable != "" {
				out.Table = r.targetTable
			}
			return out
		}
	}
	return rules.TableRef{Schema: schema, Table: table}
}

func (d dmReference) ignoresDML(t *testing.T, schema, table string, kind rules.EventKind) bool {
	for _, f := range d.filters {
		if !refMatch(t, f.schema, schema) || (f.table != "" && !refMatch(t, f.table, table)) {
			continue
		}
		listed := slices.Contains(f.events, string(kind)) || slices.Contains(f.events, "all dml") || slices.Contains(f.events, "all")
		if listed != f.do {
			return true
		}
	}
	return false
}

var (
	refSchemas = []string{"test", "test_1", "Test_2", "testing", "user", "USER", "account", "accounts", "acc", "mysql", "shop_1", "shop_x", "crm", "stats_2024", "stats_2026", "other", "u"}
	refTables  = []string{"t", "t_1", "T_2", "tab", "information", "log", "logs", "lo", "orders_a1", "orders_b9", "orders_c1", "audit", "audit_2", "x"}
)

// requireSameAsDM checks, table by table, that the task's rules for source migrate, route and
// filter (DML) exactly as DM does with ref.
func requireSameAsDM(t *testing.T, task restapi.Task, source string, ref dmReference) {
	t.Helper()
	r := compileRules(t, task, source)
	for _, s := range refSchemas {
		for _, tb := range refTables {
			want := ref.migrated(t, s, tb)
			require.Equal(t, want, r.Match(s, tb), "source %s: is %s.%s migrated?", source, s, tb)
			if !want {
				continue
			}
			require.Equal(t, ref.route(t, s, tb), r.Route(s, tb), "source %s: route of %s.%s", source, s, tb)
			for _, kind := range []rules.EventKind{rules.EventInsert, rules.EventUpdate, rules.EventDelete} {
				require.Equal(t, ref.ignoresDML(t, s, tb, kind), r.SkipDML(s, tb, kind), "source %s: %s on %s.%s ignored?", source, kind, s, tb)
			}
		}
	}
}

// compileRules compiles the task's rules for source as the workers do.
func compileRules(t *testing.T, task restapi.Task, source string) *rules.Rules {
	t.Helper()
	filters := map[string]rules.Filter{}
	if task.BinlogFilterRule != nil {
		for name, f := range *task.BinlogFilterRule {
			var rf rules.Filter
			if f.IgnoreEvent != nil {
				rf.IgnoreEvents = *f.IgnoreEvent
			}
			if f.IgnoreSql != nil {
				rf.IgnoreSQL = *f.IgnoreSql
			}
			filters[name] = rf
		}
	}
	var migrate []rules.MigrateRule
	for _, mr := range task.TableMigrateRule {
		if mr.Source.SourceName != source {
			continue
		}
		r := rules.MigrateRule{SchemaPattern: mr.Source.Schema, TablePattern: mr.Source.Table}
		if mr.Target != nil {
			r.TargetSchema, r.TargetTable = mr.Target.Schema, mr.Target.Table
		}
		if mr.BinlogFilterRule != nil {
			r.FilterRules = *mr.BinlogFilterRule
		}
		migrate = append(migrate, r)
	}
	require.NotEmpty(t, migrate, "source %s has rules", source)
	r, err := rules.New(migrate, filters, false)
	require.NoError(t, err)
	r.Exclude("dm_meta")
	return r
}
