package rules

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustNew(t *testing.T, migrate []MigrateRule, filters map[string]Filter, cs bool) *Rules {
	t.Helper()
	r, err := New(migrate, filters, cs)
	require.NoError(t, err)
	return r
}

func TestTableRefString(t *testing.T) {
	cases := []struct {
		ref  TableRef
		want string
	}{
		{TableRef{"db", "t"}, "`db`.`t`"},
		{TableRef{"d`b", "t``x"}, "`d``b`.`t````x`"},
		{TableRef{"db", ""}, "`db`"},
		{TableRef{"", "t"}, "``.`t`"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.ref.String())
	}
}

func TestMatch(t *testing.T) {
	r := mustNew(t, []MigrateRule{
		{SchemaPattern: "app", TablePattern: "users"},
		{SchemaPattern: "shard_*", TablePattern: "t_?"},
		{SchemaPattern: "whole"}, // every table
		{SchemaPattern: "*", TablePattern: "audit_[0-9]*"},
	}, nil, false)

	cases := []struct {
		schema, table string
		want          bool
	}{
		{"app", "users", true},
		{"APP", "Users", true},
		{"app", "orders", false},
		{"shard_1", "t_1", true},
		{"shard_22", "t_x", true},
		{"shard_1", "t_12", false},
		{"shard", "t_1", false},
		{"whole", "anything", true},
		{"other", "audit_2024", true},
		{"other", "audit_x", false},
		{"nope", "t", false},
		// system schemas never match, even with `*`
		{"mysql", "audit_1", false},
		{"INFORMATION_SCHEMA", "audit_1", false},
		{"performance_schema", "audit_1", false},
		{"sys", "audit_1", false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, r.Match(c.schema, c.table), "%s.%s", c.schema, c.table)
	}

	for schema, want := range map[string]bool{
		"app": true, "App": true, "shard_9": true, "whole": true,
		"anything": true, // the `*` rule could migrate some of its tables
		"mysql":    false, "sys": false, "information_schema": false, "performance_schema": false,
	} {
		assert.Equal(t, want, r.MatchSchema(schema), schema)
		assert.Equal(t, want, r.Match(schema, ""), schema)
	}

	r2 := mustNew(t, []MigrateRule{{SchemaPattern: "app", TablePattern: "t"}}, nil, false)
	assert.True(t, r2.MatchSchema("app"))
	assert.False(t, r2.MatchSchema("app2"))
}

func TestSystemSchemasLiteralRule(t *testing.T) {
	r := mustNew(t, []MigrateRule{{SchemaPattern: "mysql", TablePattern: "user"}}, nil, false)
	assert.False(t, r.Match("mysql", "user"))
	assert.False(t, r.MatchSchema("mysql"))
	assert.Equal(t, TableRef{"mysql", "user"}, r.Route("mysql", "user"))
	assert.True(t, IsSystemSchema("MySQL"))
	assert.False(t, IsSystemSchema("dm_meta"))
}

func TestCaseSensitivity(t *testing.T) {
	migrate := []MigrateRule{{SchemaPattern: "Shop", TablePattern: "Order_*", TargetSchema: "Dst"}}

	ci := mustNew(t, migrate, nil, false)
	assert.False(t, ci.CaseSensitive())
	assert.True(t, ci.Match("shop", "order_1"))
	assert.True(t, ci.Match("SHOP", "ORDER_1"))
	assert.Equal(t, TableRef{"Dst", "ORDER_1"}, ci.Route("SHOP", "ORDER_1"), "target as written, source name as given")

	cs := mustNew(t, migrate, nil, true)
	assert.True(t, cs.CaseSensitive())
	assert.True(t, cs.Match("Shop", "Order_1"))
	assert.False(t, cs.Match("shop", "Order_1"))
	assert.False(t, cs.Match("Shop", "order_1"))
	assert.False(t, cs.MatchSchema("SHOP"))
	assert.Equal(t, TableRef{"shop", "order_1"}, cs.Route("shop", "order_1"))
}

func TestExclude(t *testing.T) {
	r := mustNew(t, []MigrateRule{{SchemaPattern: "*", TargetSchema: "all"}}, nil, false)
	assert.True(t, r.Match("dm_meta", "t_syncer_checkpoint"))
	r.Exclude("DM_META")
	r.Exclude("dm_meta") // idempotent
	assert.False(t, r.Match("dm_meta", "t_syncer_checkpoint"))
	assert.False(t, r.MatchSchema("dm_meta"))
	assert.False(t, r.MatchSchema("Dm_Meta"))
	assert.Equal(t, TableRef{"dm_meta", "x"}, r.Route("dm_meta", "x"))
	assert.Equal(t, "dm_meta", r.RouteSchema("dm_meta"))
	assert.True(t, r.Match("app", "t"))

	cs := mustNew(t, []MigrateRule{{SchemaPattern: "*"}}, nil, true)
	cs.Exclude("dm_meta")
	assert.False(t, cs.Match("dm_meta", "t"))
	assert.True(t, cs.Match("DM_META", "t"), "case-sensitive source: a different schema")

	// Exclude is safe concurrently with readers.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); r.Exclude(string(rune('a' + i))) }()
		go func() { defer wg.Done(); _ = r.Match("app", "t") }()
	}
	wg.Wait()
	for i := range 8 {
		assert.False(t, r.MatchSchema(string(rune('a'+i))))
	}
}

func TestRoutePrecedence(t *testing.T) {
	r := mustNew(t, []MigrateRule{
		{SchemaPattern: "shard_*", TablePattern: "t_*", TargetSchema: "db", TargetTable: "t"},
		{SchemaPattern: "shard_*", TablePattern: "*", TargetSchema: "other"},
		{SchemaPattern: "shard_1", TablePattern: "t_special", TargetSchema: "exact", TargetTable: "special"},
		{SchemaPattern: "shard_2", TablePattern: "t_keep"}, // exact, no target: identity wins
		{SchemaPattern: "shard_3", TablePattern: "t_*", TargetSchema: "later"},
		{SchemaPattern: "keep", TablePattern: "*"},
		{SchemaPattern: "schema_only", TargetSchema: "renamed"},
		{SchemaPattern: "table_only", TablePattern: "x", TargetTable: "y"},
		{SchemaPattern: "dup", TablePattern: "t", TargetSchema: "first"},
		{SchemaPattern: "dup", TablePattern: "t", TargetSchema: "second"},
	}, nil, false)

	cases := []struct {
		schema, table string
		want          TableRef
	}{
		{"shard_1", "t_1", TableRef{"db", "t"}},
		{"shard_9", "t_x", TableRef{"db", "t"}},
		{"shard_9", "u", TableRef{"other", "u"}},               // only the second wildcard rule
		{"shard_1", "t_special", TableRef{"exact", "special"}}, // exact beats earlier wildcards
		{"SHARD_1", "T_SPECIAL", TableRef{"exact", "special"}},
		{"shard_2", "t_keep", TableRef{"shard_2", "t_keep"}},
		{"shard_3", "t_1", TableRef{"db", "t"}}, // first wildcard rule wins over a later one
		{"keep", "t", TableRef{"keep", "t"}},
		{"schema_only", "a", TableRef{"renamed", "a"}},
		{"table_only", "x", TableRef{"table_only", "y"}},
		{"dup", "t", TableRef{"first", "t"}},
		{"unmatched", "t", TableRef{"unmatched", "t"}},
		{"mysql", "user", TableRef{"mysql", "user"}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, r.Route(c.schema, c.table), "%s.%s", c.schema, c.table)
	}

	assert.Equal(t, "db", r.RouteSchema("shard_1"), "first rule matching the schema")
	assert.Equal(t, "db", r.RouteSchema("shard_3"))
	assert.Equal(t, "renamed", r.RouteSchema("schema_only"))
	assert.Equal(t, "table_only", r.RouteSchema("table_only"), "rule keeps the schema name")
	assert.Equal(t, "keep", r.RouteSchema("keep"))
	assert.Equal(t, "nothing", r.RouteSchema("nothing"))
	assert.Equal(t, TableRef{Schema: "db"}, r.Route("shard_5", ""))
}

func TestShardMergeTargets(t *testing.T) {
	r := mustNew(t, []MigrateRule{
		{SchemaPattern: "shard_*", TablePattern: "t_*", TargetSchema: "db", TargetTable: "t"},
		{SchemaPattern: "shard_*", TablePattern: "u", TargetSchema: "db"},
		{SchemaPattern: "solo", TablePattern: "*"},
	}, nil, false)

	got := r.Targets([]TableRef{
		{"shard_2", "t_1"},
		{"shard_1", "t_2"},
		{"shard_1", "t_1"},
		{"shard_1", "t_1"}, // duplicate
		{"shard_1", "u"},
		{"shard_2", "u"},
		{"solo", "a"},
		{"shard_1", "other"}, // not migrated
		{"mysql", "user"},    // system
		{"solo", ""},         // not a table
	})
	want := map[TableRef][]TableRef{
		{"db", "t"}:   {{"shard_1", "t_1"}, {"shard_1", "t_2"}, {"shard_2", "t_1"}},
		{"db", "u"}:   {{"shard_1", "u"}, {"shard_2", "u"}},
		{"solo", "a"}: {{"solo", "a"}},
	}
	assert.Equal(t, want, got)
	assert.Empty(t, r.Targets(nil))
}

func TestNewErrors(t *testing.T) {
	good := map[string]Filter{"f": {IgnoreEvents: []string{"insert"}}}
	cases := []struct {
		name     string
		migrate  []MigrateRule
		filters  map[string]Filter
		sentinel error
		contains []string
	}{
		{"unknown filter", []MigrateRule{{SchemaPattern: "db", TablePattern: "t", FilterRules: []string{"f", "missing"}}}, good,
			ErrUnknownFilter, []string{"missing", "#0", "`db`.`t`"}},
		{"unknown filter second rule", []MigrateRule{{SchemaPattern: "a"}, {SchemaPattern: "b", FilterRules: []string{"x"}}}, nil,
			ErrUnknownFilter, []string{"#1", `"x"`}},
		{"unclosed schema class", []MigrateRule{{SchemaPattern: "db[", TablePattern: "t"}}, nil,
			ErrBadPattern, []string{"#0", "schema", "db["}},
		{"unclosed table class", []MigrateRule{{SchemaPattern: "db", TablePattern: "t[a-"}}, nil,
			ErrBadPattern, []string{"table", "t[a-"}},
		{"empty schema pattern", []MigrateRule{{TablePattern: "t"}}, nil,
			ErrBadPattern, []string{"empty schema"}},
		{"wildcard target schema", []MigrateRule{{SchemaPattern: "s_*", TargetSchema: "db_*"}}, nil,
			ErrBadTarget, []string{"db_*"}},
		{"wildcard target table", []MigrateRule{{SchemaPattern: "s", TablePattern: "t", TargetSchema: "db", TargetTable: "t?"}}, nil,
			ErrBadTarget, []string{"t?"}},
		{"unknown event", nil, map[string]Filter{"f1": {IgnoreEvents: []string{"insert", "upsert"}}},
			ErrUnknownEvent, []string{"f1", "upsert"}},
		{"unknown event in unreferenced filter", []MigrateRule{{SchemaPattern: "db"}}, map[string]Filter{"unused": {IgnoreEvents: []string{"alter database"}}},
			ErrUnknownEvent, []string{"unused", "alter database"}},
		{"bad regexp", nil, map[string]Filter{"f2": {IgnoreSQL: []string{"^ALTER", "(unclosed"}}},
			ErrBadSQLPattern, []string{"f2", "(unclosed"}},
		{"empty regexp", nil, map[string]Filter{"f3": {IgnoreSQL: []string{" "}}},
			ErrBadSQLPattern, []string{"f3", "empty"}},
	}
	for _, c := range cases {
		r, err := New(c.migrate, c.filters, false)
		require.Error(t, err, c.name)
		assert.Nil(t, r)
		assert.True(t, errors.Is(err, c.sentinel), "%s: %v", c.name, err)
		for _, s := range c.contains {
			assert.Contains(t, err.Error(), s, c.name)
		}
	}
}

func TestNewEmpty(t *testing.T) {
	r := mustNew(t, nil, nil, false)
	assert.False(t, r.Match("db", "t"))
	assert.False(t, r.MatchSchema("db"))
	assert.Equal(t, TableRef{"db", "t"}, r.Route("db", "t"))
	assert.False(t, r.SkipDML("db", "t", EventInsert))
	assert.False(t, r.SkipDDL("db", "t", EventAlterTable, "ALTER TABLE t ADD c INT"))
}
