package rules

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEventKind(t *testing.T) {
	for _, s := range []string{
		"all", "all dml", "all ddl", "none", "none dml", "none ddl", "insert", "update", "delete",
		"create database", "drop database", "create table", "drop table", "truncate table",
		"rename table", "create index", "drop index", "create view", "drop view", "alter table",
	} {
		k, err := ParseEventKind(s)
		require.NoError(t, err, s)
		assert.Equal(t, EventKind(s), k)
	}
	k, err := ParseEventKind("  ALL   DML ")
	require.NoError(t, err)
	assert.Equal(t, EventAllDML, k)
	k, err = ParseEventKind("Alter Table")
	require.NoError(t, err)
	assert.Equal(t, EventAlterTable, k)

	for _, s := range []string{"", "upsert", "alltable", "alter database", "create"} {
		_, err := ParseEventKind(s)
		assert.True(t, errors.Is(err, ErrUnknownEvent), s)
	}
}

// oneFilter builds Rules with one rule db.t* using filter "f".
func oneFilter(t *testing.T, f Filter) *Rules {
	t.Helper()
	return mustNew(t, []MigrateRule{{SchemaPattern: "db", TablePattern: "t*", FilterRules: []string{"f"}}},
		map[string]Filter{"f": f}, false)
}

var (
	dmlKinds = []EventKind{EventInsert, EventUpdate, EventDelete}
	ddlKinds = []EventKind{
		EventCreateDatabase, EventDropDatabase, EventCreateTable, EventDropTable, EventTruncateTable,
		EventRenameTable, EventCreateIndex, EventDropIndex, EventCreateView, EventDropView, EventAlterTable,
	}
)

func TestSkipDMLPerKind(t *testing.T) {
	cases := []struct {
		events []string
		skip   map[EventKind]bool // kinds skipped; others not
	}{
		{nil, nil},
		{[]string{"insert"}, map[EventKind]bool{EventInsert: true}},
		{[]string{"UPDATE", "Delete"}, map[EventKind]bool{EventUpdate: true, EventDelete: true}},
		{[]string{"all"}, map[EventKind]bool{EventInsert: true, EventUpdate: true, EventDelete: true}},
		{[]string{"all dml"}, map[EventKind]bool{EventInsert: true, EventUpdate: true, EventDelete: true}},
		{[]string{"all ddl"}, nil},
		{[]string{"none"}, nil},
		{[]string{"none", "insert"}, nil},                                   // none stops before insert
		{[]string{"insert", "none"}, map[EventKind]bool{EventInsert: true}}, // insert seen first
		{[]string{"none dml", "all"}, nil},
		{[]string{"none ddl", "delete"}, map[EventKind]bool{EventDelete: true}}, // none ddl does not stop DML
		{[]string{"none ddl", "all"}, map[EventKind]bool{EventInsert: true, EventUpdate: true, EventDelete: true}},
		{[]string{"alter table", "truncate table"}, nil},
	}
	for _, c := range cases {
		r := oneFilter(t, Filter{IgnoreEvents: c.events})
		for _, k := range dmlKinds {
			assert.Equal(t, c.skip[k], r.SkipDML("db", "t1", k), "%v on %s", c.events, k)
		}
		// tables the rule does not match are never filtered
		assert.False(t, r.SkipDML("db", "x", EventInsert))
		assert.False(t, r.SkipDML("other", "t1", EventInsert))
	}
	// kind is normalised
	r := oneFilter(t, Filter{IgnoreEvents: []string{"insert"}})
	assert.True(t, r.SkipDML("DB", "T1", "INSERT"))
}

func TestSkipDDLGroups(t *testing.T) {
	allDDL := map[EventKind]bool{}
	for _, k := range ddlKinds {
		allDDL[k] = true
	}
	cases := []struct {
		events []string
		skip   map[EventKind]bool
	}{
		{[]string{"all"}, allDDL},
		{[]string{"all ddl"}, allDDL},
		{[]string{"all dml"}, nil},
		{[]string{"none"}, nil},
		{[]string{"none ddl", "all"}, nil},
		{[]string{"none dml", "drop table"}, map[EventKind]bool{EventDropTable: true}},
		{[]string{"drop table", "truncate table"}, map[EventKind]bool{EventDropTable: true, EventTruncateTable: true}},
		{[]string{"create index", "drop index", "none ddl", "alter table"}, map[EventKind]bool{EventCreateIndex: true, EventDropIndex: true}},
		{[]string{"insert"}, nil},
	}
	for _, c := range cases {
		r := oneFilter(t, Filter{IgnoreEvents: c.events})
		for _, k := range ddlKinds {
			assert.Equal(t, c.skip[k], r.SkipDDL("db", "t1", k, "some ddl"), "%v on %s", c.events, k)
		}
		// a DDL kind outside the vocabulary is caught only by the groups
		assert.Equal(t, c.skip[EventAlterTable] && c.skip[EventCreateTable] && c.skip[EventDropView],
			r.SkipDDL("db", "t1", "alter database", ""), "%v", c.events)
	}
	// row-event groups do not leak into DDL and vice versa
	r := oneFilter(t, Filter{IgnoreEvents: []string{"all ddl"}})
	assert.False(t, r.SkipDML("db", "t1", EventInsert))
	assert.True(t, r.SkipDDL("db", "t1", "", ""))
}

func TestIgnoreSQL(t *testing.T) {
	r := oneFilter(t, Filter{
		IgnoreSQL: []string{`^ALTER\s+TABLE\s+\S+\s+ADD\s+INDEX`, `DROP\s+COLUMN`},
	})
	cases := []struct {
		sql  string
		skip bool
	}{
		{"ALTER TABLE t1 ADD INDEX idx(c)", true},
		{"alter table t1 add index idx(c)", true}, // case-insensitive
		{"ALTER TABLE `t1` DROP COLUMN c", true},  // unanchored search
		{"alter table t1 drop   column c", true},
		{"ALTER TABLE t1 ADD COLUMN c INT", false},
		{"/* hint */ ALTER TABLE t1 ADD INDEX i(c)", false}, // ^ anchors the first pattern only
		{"CREATE TABLE t1 (drop_column INT)", false},
		{"", false},
	}
	for _, c := range cases {
		assert.Equal(t, c.skip, r.SkipDDL("db", "t1", EventAlterTable, c.sql), c.sql)
	}
	// other tables: rule does not match, so its filter does not apply
	assert.False(t, r.SkipDDL("db", "x", EventAlterTable, "ALTER TABLE x DROP COLUMN c"))
	// ignore_sql never filters row events
	assert.False(t, r.SkipDML("db", "t1", EventDelete))

	// patterns are wrapped so a `|` or inline flag inside one does not bleed into the next
	r2 := oneFilter(t, Filter{IgnoreSQL: []string{`^a|^b`, `c$`}})
	assert.True(t, r2.SkipDDL("db", "t1", "", "b..."))
	assert.True(t, r2.SkipDDL("db", "t1", "", "...C"))
	assert.False(t, r2.SkipDDL("db", "t1", "", "xa"))

	// events and sql both apply
	r3 := oneFilter(t, Filter{IgnoreEvents: []string{"truncate table"}, IgnoreSQL: []string{"^DROP"}})
	assert.True(t, r3.SkipDDL("db", "t1", EventTruncateTable, "TRUNCATE TABLE t1"))
	assert.True(t, r3.SkipDDL("db", "t1", EventDropTable, "DROP TABLE t1"))
	assert.False(t, r3.SkipDDL("db", "t1", EventCreateTable, "CREATE TABLE t1 (a int)"))
}

func TestFiltersOfAllMatchingRulesApply(t *testing.T) {
	r := mustNew(t, []MigrateRule{
		{SchemaPattern: "shard_*", TablePattern: "t_*", TargetSchema: "db", TargetTable: "t", FilterRules: []string{"no-delete"}},
		{SchemaPattern: "shard_1", TablePattern: "t_1", FilterRules: []string{"no-truncate", "no-delete"}},
		{SchemaPattern: "shard_*", TablePattern: "log", FilterRules: []string{"no-db-ddl"}},
		{SchemaPattern: "plain"},
	}, map[string]Filter{
		"no-delete":   {IgnoreEvents: []string{"delete"}},
		"no-truncate": {IgnoreEvents: []string{"truncate table"}},
		"no-db-ddl":   {IgnoreEvents: []string{"create database", "drop database"}},
		"unused":      {IgnoreEvents: []string{"all"}},
	}, false)

	assert.True(t, r.SkipDML("shard_1", "t_1", EventDelete))
	assert.True(t, r.SkipDML("shard_2", "t_9", EventDelete))
	assert.False(t, r.SkipDML("shard_1", "t_1", EventInsert))
	assert.True(t, r.SkipDDL("shard_1", "t_1", EventTruncateTable, "TRUNCATE t_1"))  // second rule
	assert.False(t, r.SkipDDL("shard_2", "t_1", EventTruncateTable, "TRUNCATE t_1")) // only first rule
	assert.False(t, r.SkipDML("plain", "t", EventDelete))

	// schema-level DDL: filters of every rule whose schema pattern matches
	assert.True(t, r.SkipDDL("shard_3", "", EventDropDatabase, "DROP DATABASE shard_3"))
	assert.True(t, r.SkipDDL("SHARD_3", "", EventCreateDatabase, "CREATE DATABASE SHARD_3"))
	assert.False(t, r.SkipDDL("plain", "", EventDropDatabase, "DROP DATABASE plain"))
	assert.False(t, r.SkipDDL("shard_3", "", EventAlterTable, ""))
}

func TestUnknownFilterIsSentinel(t *testing.T) {
	_, err := New([]MigrateRule{{SchemaPattern: "db", FilterRules: []string{"nope"}}},
		map[string]Filter{"yes": {}}, false)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnknownFilter))
	assert.False(t, errors.Is(err, ErrUnknownEvent))

	// filter names are exact (map keys)
	_, err = New([]MigrateRule{{SchemaPattern: "db", FilterRules: []string{"YES"}}},
		map[string]Filter{"yes": {}}, false)
	assert.True(t, errors.Is(err, ErrUnknownFilter))
}
