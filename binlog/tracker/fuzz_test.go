package tracker

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/schema"
)

// FuzzTrackerExec runs a script of random and mutated DDL over tracked tables. No statement may
// panic the tracker, every table it keeps must be well formed (unique column names, keys that
// point at its columns), and what it persists must read back as the same tables: the tracker's
// CREATE TABLE text re-creates the same definition, and a snapshot restores the same state.
func FuzzTrackerExec(f *testing.F) {
	for _, script := range []string{
		"ALTER TABLE t ADD COLUMN c INT AFTER id;\nALTER TABLE t DROP COLUMN name",
		"ALTER TABLE k MODIFY v varchar(20) NOT NULL, ADD UNIQUE KEY uv (v);\nRENAME TABLE k TO k2",
		"ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (u, id);\nALTER TABLE t DROP COLUMN u",
		"CREATE TABLE n LIKE t;\nALTER TABLE n CHANGE COLUMN e e2 SET('a','b') NULL FIRST",
		"CREATE DATABASE d2 CHARACTER SET latin1;\nCREATE TABLE d2.x (a text, b uuid, c inet6 INVISIBLE)",
		"ALTER TABLE k ADD COLUMN IF NOT EXISTS w int, DROP INDEX IF EXISTS nope;\nDROP TABLE t",
		"CREATE OR REPLACE TABLE k (id int primary key) WITH SYSTEM VERSIONING;\nTRUNCATE k",
		"ALTER TABLE t RENAME COLUMN name TO nm, ALTER COLUMN u SET DEFAULT 3, CONVERT TO CHARACTER SET utf8mb4",
	} {
		f.Add(script)
	}
	f.Fuzz(func(t *testing.T, script string) {
		tr := New(nil)
		if err := tr.CreateTable("s", "t", mariaShow); err != nil {
			t.Fatal(err)
		}
		mustExec(t, tr, "s", "CREATE TABLE k (id int primary key, v varchar(10))")
		for _, stmt := range ddl.SplitStatements(script) {
			_, _ = tr.Exec("s", stmt) // an error leaves the state as it was; checked below
			requireWellFormed(t, tr)
		}
		requireReadsBack(t, tr)
	})
}

// requireWellFormed checks every tracked table's definition.
func requireWellFormed(t *testing.T, tr *Tracker) {
	t.Helper()
	for _, s := range tr.Schemas() {
		for _, name := range tr.Tables(s) {
			tb, ok := tr.Table(s, name)
			if !ok {
				t.Fatalf("%s.%s is listed but has no definition", s, name)
			}
			seen := map[string]bool{}
			for _, c := range tb.Columns {
				if seen[strings.ToLower(c.Name)] {
					t.Fatalf("%s.%s has column %q twice: %+v", s, name, c.Name, tb.Columns)
				}
				seen[strings.ToLower(c.Name)] = true
			}
			keys := append([][]int{tb.PrimaryKey}, append(tb.UniqueKeys, tb.NullableUniqueKeys...)...)
			for _, key := range keys {
				for _, i := range key {
					if i < 0 || i >= len(tb.Columns) {
						t.Fatalf("%s.%s has a key on column %d of %d", s, name, i, len(tb.Columns))
					}
				}
			}
		}
	}
}

// requireReadsBack re-creates every table from the tracker's text and restores its snapshot.
func requireReadsBack(t *testing.T, tr *Tracker) {
	t.Helper()
	snap, err := tr.Snapshot()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	restored := New(nil)
	if err := restored.Restore(snap); err != nil {
		t.Fatalf("restore of our own snapshot: %v\n%s", err, snap)
	}
	for _, s := range tr.Schemas() {
		for _, name := range tr.Tables(s) {
			want, _ := tr.Table(s, name)
			text, ok := tr.CreateStatement(s, name)
			if !ok {
				t.Fatalf("%s.%s has no CREATE TABLE text", s, name)
			}
			fresh := New(nil)
			if cs, coll, ok := tr.SchemaDefaults(s); ok {
				fresh.SetSchemaDefaults(s, cs, coll)
			}
			if err := fresh.CreateTable(s, name, text); err != nil {
				t.Fatalf("%s.%s: its own text %q does not re-create it: %v", s, name, text, err)
			}
			if got, _ := fresh.Table(s, name); !reflect.DeepEqual(want, asMariaDBTypes(got, want)) {
				t.Fatalf("%s.%s re-created from %q differs:\n%+v\n%+v", s, name, text, want, got)
			}
			if got, _ := restored.Table(s, name); !reflect.DeepEqual(want, got) {
				t.Fatalf("%s.%s restored from the snapshot differs:\n%+v\n%+v", s, name, want, got)
			}
		}
	}
}

// asMariaDBTypes gives got's BINARY(n) columns the MariaDB-only types want has there: the
// CREATE TABLE text writes UUID, INET4 and INET6 in their BINARY form on purpose (see
// CreateStatement), while the snapshot keeps the types.
func asMariaDBTypes(got, want *schema.Table) *schema.Table {
	if got == nil || want == nil || len(got.Columns) != len(want.Columns) {
		return got
	}
	out := *got
	out.Columns = append([]schema.Column(nil), got.Columns...)
	for i, c := range out.Columns {
		switch w := want.Columns[i]; w.DataType {
		case "uuid", "inet4", "inet6":
			if c.DataType == "binary" {
				out.Columns[i].DataType, out.Columns[i].ColumnType = w.DataType, w.ColumnType
			}
		}
	}
	return &out
}
