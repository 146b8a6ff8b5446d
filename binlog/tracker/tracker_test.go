package tracker

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/dm-oss/dm/binlog/schema"
	"github.com/pingcap/tidb/pkg/parser"
)

const mariaShow = "CREATE TABLE `t` (\n" +
	"  `id` int(11) NOT NULL AUTO_INCREMENT,\n" +
	"  `name` varchar(20) DEFAULT NULL,\n" +
	"  `e` enum('x','y''z') NOT NULL DEFAULT 'x',\n" +
	"  `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),\n" +
	"  `u` int(10) unsigned NOT NULL,\n" +
	"  `b` blob DEFAULT NULL,\n" +
	"  `g` int(11) GENERATED ALWAYS AS (`id` + 1) VIRTUAL,\n" +
	"  PRIMARY KEY (`id`),\n" +
	"  UNIQUE KEY `uk_u` (`u`),\n" +
	"  UNIQUE KEY `uk_name` (`name`),\n" +
	"  KEY `k_e` (`e`)\n" +
	") ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci"

func mustTable(t *testing.T, tr *Tracker, s, n string) *schema.Table {
	t.Helper()
	tb, ok := tr.Table(s, n)
	if !ok {
		t.Fatalf("table %s.%s not tracked", s, n)
	}
	return tb
}

func colNames(tb *schema.Table) string {
	var s []string
	for _, c := range tb.Columns {
		s = append(s, c.Name)
	}
	return strings.Join(s, ",")
}

func mustExec(t *testing.T, tr *Tracker, db, sql string) Result {
	t.Helper()
	res, err := tr.Exec(db, sql)
	if err != nil {
		t.Fatalf("Exec(%q): %v", sql, err)
	}
	return res
}

func TestCreateTableMariaDBShowCreate(t *testing.T) {
	tr := New(nil)
	if err := tr.CreateTable("db", "t", mariaShow); err != nil {
		t.Fatal(err)
	}
	tb := mustTable(t, tr, "db", "t")
	want := []schema.Column{
		{Name: "id", DataType: "int", ColumnType: "int(11)"},
		{Name: "name", DataType: "varchar", ColumnType: "varchar(20)", Nullable: true, Charset: "latin1", Collation: "latin1_swedish_ci"},
		{Name: "e", DataType: "enum", ColumnType: "enum('x','y''z')", EnumValues: []string{"x", "y'z"}, Charset: "latin1", Collation: "latin1_swedish_ci"},
		{Name: "j", DataType: "longtext", ColumnType: "longtext", Nullable: true, Charset: "utf8mb4", Collation: "utf8mb4_bin"},
		{Name: "u", DataType: "int", ColumnType: "int(10) unsigned", Unsigned: true},
		{Name: "b", DataType: "blob", ColumnType: "blob", Nullable: true},
		{Name: "g", DataType: "int", ColumnType: "int(11)", Nullable: true, Generated: true},
	}
	if !reflect.DeepEqual(tb.Columns, want) {
		t.Fatalf("columns:\n got %+v\nwant %+v", tb.Columns, want)
	}
	if !reflect.DeepEqual(tb.PrimaryKey, []int{0}) || !reflect.DeepEqual(tb.UniqueKeys, [][]int{{4}}) || !reflect.DeepEqual(tb.NullableUniqueKeys, [][]int{{1}}) {
		t.Fatalf("keys: pk %v uk %v nuk %v", tb.PrimaryKey, tb.UniqueKeys, tb.NullableUniqueKeys)
	}
	// the regenerated statement parses again and gives the same table
	text, ok := tr.CreateStatement("db", "t")
	if !ok {
		t.Fatal("no create statement")
	}
	if strings.Contains(text, "ENFORCED") {
		t.Fatalf("MariaDB rejects ENFORCED: %s", text)
	}
	tr2 := New(nil)
	if err := tr2.CreateTable("db", "t", text); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(mustTable(t, tr2, "db", "t"), tb) {
		t.Fatalf("re-created table differs:\n%+v\n%+v", mustTable(t, tr2, "db", "t"), tb)
	}
}

func TestNamesWinAndCase(t *testing.T) {
	tr := New(nil)
	if err := tr.CreateTable("S", "Tab", "CREATE TABLE other.x (a int)"); err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Table("S", "Tab"); !ok {
		t.Fatal("explicit names must win")
	}
	if _, ok := tr.Table("s", "tab"); ok {
		t.Fatal("lookup must be exact")
	}
	if got := tr.Schemas(); !reflect.DeepEqual(got, []string{"S"}) {
		t.Fatal(got)
	}
}

func TestAlterSequence(t *testing.T) {
	tr := New(nil)
	mustExec(t, tr, "", "CREATE DATABASE db CHARACTER SET utf8mb4")
	mustExec(t, tr, "db", "CREATE TABLE t (a int, b varchar(10), c int, PRIMARY KEY (c), UNIQUE KEY uk (b, a))")
	steps := []struct {
		sql   string
		cols  string
		check func(t *testing.T, tb *schema.Table)
	}{
		{"ALTER TABLE t ADD COLUMN d bigint unsigned NOT NULL AFTER a", "a,d,b,c", func(t *testing.T, tb *schema.Table) {
			if tb.Columns[1].ColumnType != "bigint(20) unsigned" || !tb.Columns[1].Unsigned || tb.Columns[1].Nullable {
				t.Errorf("d: %+v", tb.Columns[1])
			}
		}},
		{"ALTER TABLE t ADD COLUMN z int FIRST", "z,a,d,b,c", nil},
		{"ALTER TABLE t DROP COLUMN z", "a,d,b,c", func(t *testing.T, tb *schema.Table) {
			if !reflect.DeepEqual(tb.PrimaryKey, []int{3}) || !reflect.DeepEqual(tb.NullableUniqueKeys, [][]int{{2, 0}}) {
				t.Errorf("keys %v %v", tb.PrimaryKey, tb.NullableUniqueKeys)
			}
		}},
		{"ALTER TABLE t MODIFY b varchar(30) NOT NULL", "a,d,b,c", func(t *testing.T, tb *schema.Table) {
			if tb.Columns[2].ColumnType != "varchar(30)" || tb.Columns[2].Charset != "utf8mb4" || tb.Columns[2].Collation != "utf8mb4_general_ci" {
				t.Errorf("b: %+v", tb.Columns[2])
			}
		}},
		{"ALTER TABLE t CHANGE COLUMN b bb text", "a,d,bb,c", func(t *testing.T, tb *schema.Table) {
			if tb.Columns[2].DataType != "text" || !tb.Columns[2].Nullable {
				t.Errorf("bb: %+v", tb.Columns[2])
			}
		}},
		{"ALTER TABLE t RENAME COLUMN bb TO b2", "a,d,b2,c", func(t *testing.T, tb *schema.Table) {
			// uk is (b2, a) and b2 is nullable
			if !reflect.DeepEqual(tb.NullableUniqueKeys, [][]int{{2, 0}}) {
				t.Errorf("nuk %v", tb.NullableUniqueKeys)
			}
		}},
		{"ALTER TABLE t MODIFY a int NOT NULL FIRST, MODIFY b2 varchar(5) NOT NULL, ADD UNIQUE INDEX (d), ALTER COLUMN a SET DEFAULT 3", "a,d,b2,c", func(t *testing.T, tb *schema.Table) {
			if !reflect.DeepEqual(tb.UniqueKeys, [][]int{{1}, {2, 0}}) {
				t.Errorf("uk %v", tb.UniqueKeys)
			}
		}},
		{"ALTER TABLE t DROP INDEX d, DROP PRIMARY KEY, ADD PRIMARY KEY (a, c)", "a,d,b2,c", func(t *testing.T, tb *schema.Table) {
			if !reflect.DeepEqual(tb.PrimaryKey, []int{0, 3}) || !reflect.DeepEqual(tb.UniqueKeys, [][]int{{2, 0}}) {
				t.Errorf("keys %v %v", tb.PrimaryKey, tb.UniqueKeys)
			}
		}},
		{"ALTER TABLE t RENAME INDEX uk TO uk2, ENGINE=InnoDB, COMMENT='x'", "a,d,b2,c", nil},
		{"ALTER TABLE t DROP INDEX uk2", "a,d,b2,c", func(t *testing.T, tb *schema.Table) {
			if len(tb.UniqueKeys) != 0 {
				t.Errorf("uk %v", tb.UniqueKeys)
			}
		}},
		{"CREATE UNIQUE INDEX ux ON t (b2)", "a,d,b2,c", func(t *testing.T, tb *schema.Table) {
			if !reflect.DeepEqual(tb.UniqueKeys, [][]int{{2}}) {
				t.Errorf("uk %v", tb.UniqueKeys)
			}
		}},
		{"DROP INDEX ux ON t", "a,d,b2,c", func(t *testing.T, tb *schema.Table) {
			if len(tb.UniqueKeys) != 0 {
				t.Errorf("uk %v", tb.UniqueKeys)
			}
		}},
		{"ALTER TABLE t ADD COLUMN IF NOT EXISTS n int", "a,d,b2,c,n", nil},
		{"ALTER TABLE t ADD COLUMN IF NOT EXISTS n int", "a,d,b2,c,n", nil},
		{"ALTER TABLE t DROP COLUMN IF EXISTS nope, DROP INDEX IF EXISTS nope, ADD INDEX IF NOT EXISTS kn (n)", "a,d,b2,c,n", nil},
		{"ALTER TABLE t CONVERT TO CHARACTER SET latin1", "a,d,b2,c,n", func(t *testing.T, tb *schema.Table) {
			if tb.Columns[2].Charset != "latin1" || tb.Columns[2].Collation != "latin1_swedish_ci" {
				t.Errorf("b2: %+v", tb.Columns[2])
			}
		}},
		{"ALTER TABLE t ADD COLUMN s varchar(3), DEFAULT CHARSET=utf8mb4", "a,d,b2,c,n,s", func(t *testing.T, tb *schema.Table) {
			if tb.Columns[2].Charset != "latin1" || tb.Columns[5].Charset != "latin1" {
				t.Errorf("existing columns keep their charset: %+v %+v", tb.Columns[2], tb.Columns[5])
			}
		}},
		{"ALTER TABLE t ADD COLUMN s2 varchar(3)", "a,d,b2,c,n,s,s2", func(t *testing.T, tb *schema.Table) {
			if tb.Columns[6].Charset != "utf8mb4" {
				t.Errorf("new column takes the new default: %+v", tb.Columns[6])
			}
		}},
	}
	for _, st := range steps {
		res := mustExec(t, tr, "db", st.sql)
		if len(res.NeedsReread) > 0 || res.Ignored || !reflect.DeepEqual(res.Changed, []TableRef{{"db", "t"}}) {
			t.Fatalf("%s: result %+v", st.sql, res)
		}
		tb := mustTable(t, tr, "db", "t")
		if got := colNames(tb); got != st.cols {
			t.Fatalf("%s: columns %s, want %s", st.sql, got, st.cols)
		}
		if st.check != nil {
			t.Run(st.sql, func(t *testing.T) { st.check(t, tb) })
		}
		// every intermediate statement must be re-parsable
		text, _ := tr.CreateStatement("db", "t")
		if _, err := parser.New().ParseOneStmt(text, "", ""); err != nil {
			t.Fatalf("%s: CreateStatement %q: %v", st.sql, text, err)
		}
	}
}

func TestKeysAfterDropBeforeKeyColumn(t *testing.T) {
	tr := New(nil)
	if err := tr.CreateTable("db", "t", "CREATE TABLE t (a int, b int NOT NULL, c int NOT NULL, d int, PRIMARY KEY (c), UNIQUE KEY (b), UNIQUE KEY ud (d), KEY (a))"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, tr, "db", "ALTER TABLE t DROP COLUMN a")
	tb := mustTable(t, tr, "db", "t")
	if !reflect.DeepEqual(tb.PrimaryKey, []int{1}) || !reflect.DeepEqual(tb.UniqueKeys, [][]int{{0}}) || !reflect.DeepEqual(tb.NullableUniqueKeys, [][]int{{2}}) {
		t.Fatalf("pk %v uk %v nuk %v", tb.PrimaryKey, tb.UniqueKeys, tb.NullableUniqueKeys)
	}
	// column-level keys, unnamed keys get MySQL's names
	if err := tr.CreateTable("db", "u", "CREATE TABLE u (x int, id int PRIMARY KEY, k int UNIQUE, m int NOT NULL, UNIQUE (m), UNIQUE (m, k))"); err != nil {
		t.Fatal(err)
	}
	tb = mustTable(t, tr, "db", "u")
	if !reflect.DeepEqual(tb.PrimaryKey, []int{1}) || !reflect.DeepEqual(tb.UniqueKeys, [][]int{{3}}) || !reflect.DeepEqual(tb.NullableUniqueKeys, [][]int{{2}, {3, 2}}) {
		t.Fatalf("pk %v uk %v nuk %v", tb.PrimaryKey, tb.UniqueKeys, tb.NullableUniqueKeys)
	}
	mustExec(t, tr, "db", "ALTER TABLE u DROP INDEX m_2, DROP INDEX k, DROP COLUMN x")
	tb = mustTable(t, tr, "db", "u")
	if !reflect.DeepEqual(tb.PrimaryKey, []int{0}) || !reflect.DeepEqual(tb.UniqueKeys, [][]int{{2}}) || len(tb.NullableUniqueKeys) != 0 {
		t.Fatalf("pk %v uk %v nuk %v", tb.PrimaryKey, tb.UniqueKeys, tb.NullableUniqueKeys)
	}
	// a prefix unique key identifies nothing
	if err := tr.CreateTable("db", "p", "CREATE TABLE p (s varchar(100) NOT NULL, UNIQUE KEY (s(10)))"); err != nil {
		t.Fatal(err)
	}
	if tb := mustTable(t, tr, "db", "p"); len(tb.UniqueKeys) != 0 {
		t.Fatal(tb.UniqueKeys)
	}
}

func TestTableStatements(t *testing.T) {
	tr := New(nil)
	mustExec(t, tr, "db", "CREATE TABLE a (id int PRIMARY KEY)")
	mustExec(t, tr, "db", "CREATE TABLE b (id int PRIMARY KEY, v int)")

	res := mustExec(t, tr, "db", "CREATE TABLE IF NOT EXISTS a (x int)")
	if colNames(mustTable(t, tr, "db", "a")) != "id" || len(res.Changed) != 0 {
		t.Fatalf("IF NOT EXISTS replaced the table: %+v", res)
	}
	res = mustExec(t, tr, "other", "CREATE TABLE db2.c LIKE db.b")
	if colNames(mustTable(t, tr, "db2", "c")) != "id,v" || !reflect.DeepEqual(res.Changed, []TableRef{{"db2", "c"}}) {
		t.Fatalf("LIKE: %+v", res)
	}
	res = mustExec(t, tr, "db", "RENAME TABLE a TO a2, db2.c TO db.c2")
	if !reflect.DeepEqual(res.Dropped, []TableRef{{"db", "a"}, {"db2", "c"}}) || !reflect.DeepEqual(res.Changed, []TableRef{{"db", "a2"}, {"db", "c2"}}) {
		t.Fatalf("RENAME: %+v", res)
	}
	if got := tr.Tables("db"); !reflect.DeepEqual(got, []string{"a2", "b", "c2"}) {
		t.Fatal(got)
	}
	mustExec(t, tr, "db", "ALTER TABLE a2 RENAME TO a3")
	if _, ok := tr.Table("db", "a3"); !ok {
		t.Fatal("ALTER RENAME")
	}
	res = mustExec(t, tr, "", "DROP TABLE IF EXISTS `db`.`a3`,`db`.`nope` /* generated by server */")
	if !reflect.DeepEqual(res.Dropped, []TableRef{{"db", "a3"}, {"db", "nope"}}) {
		t.Fatalf("DROP: %+v", res)
	}
	if got := tr.Tables("db"); !reflect.DeepEqual(got, []string{"b", "c2"}) {
		t.Fatal(got)
	}
	res = mustExec(t, tr, "db", "TRUNCATE TABLE b")
	if res.Ignored || len(res.Changed)+len(res.Dropped)+len(res.NeedsReread) != 0 {
		t.Fatalf("TRUNCATE: %+v", res)
	}
	for _, s := range []string{"GRANT SELECT ON db.* TO 'u'@'%'", "CREATE USER 'x'@'%' IDENTIFIED BY 'p'",
		"CREATE VIEW v AS SELECT 1", "DROP VIEW v", "SET GLOBAL read_only = 0", "CREATE TEMPORARY TABLE tmp (a int)",
		"XA START 'x'", "CREATE PROCEDURE p() BEGIN SELECT 1; END", "FLUSH PRIVILEGES", "CREATE SEQUENCE s"} {
		res := mustExec(t, tr, "db", s)
		if !res.Ignored || len(res.Changed)+len(res.Dropped)+len(res.NeedsReread) != 0 {
			t.Errorf("%s: %+v", s, res)
		}
	}
	res = mustExec(t, tr, "db", "ALTER TABLE unknown ADD COLUMN x int")
	if !reflect.DeepEqual(res.NeedsReread, []TableRef{{"db", "unknown"}}) {
		t.Fatalf("ALTER of unknown: %+v", res)
	}
	// a DDL that contradicts the tracked state is not pretended to succeed
	res = mustExec(t, tr, "db", "ALTER TABLE b DROP COLUMN nope")
	if !reflect.DeepEqual(res.NeedsReread, []TableRef{{"db", "b"}}) {
		t.Fatalf("%+v", res)
	}
	if _, ok := tr.Table("db", "b"); ok {
		t.Fatal("a table needing a re-read must be forgotten")
	}
	if _, err := tr.Exec("", "CREATE TABLE t (a int)"); err == nil {
		t.Fatal("no schema must be an error")
	}
	if _, err := tr.Exec("db", "THIS IS NOT SQL"); err == nil {
		t.Fatal("garbage must be an error")
	}
	res = mustExec(t, tr, "", "DROP DATABASE db")
	if !reflect.DeepEqual(res.Dropped, []TableRef{{"db", "c2"}}) {
		t.Fatalf("DROP DATABASE: %+v", res)
	}
	if tr.DropTable("db2", "nothing") {
		t.Fatal("DropTable of unknown")
	}
}

func TestMariaDBForms(t *testing.T) {
	base := "CREATE TABLE t (id int PRIMARY KEY, v varchar(10))"
	cases := []struct {
		name, sql string
		cols      string
		check     func(t *testing.T, tb *schema.Table)
		reread    bool
	}{
		{"or replace", "CREATE OR REPLACE TABLE t (x int, y int)", "x,y", nil, false},
		{"alter online", "ALTER ONLINE TABLE t ADD COLUMN w int", "id,v,w", nil, false},
		{"alter online ignore", "ALTER ONLINE IGNORE TABLE t ADD COLUMN w int", "id,v,w", nil, false},
		{"alter if exists", "ALTER TABLE IF EXISTS t ADD COLUMN w int", "id,v,w", nil, false},
		{"wait", "ALTER TABLE t WAIT 10 ADD COLUMN w int", "id,v,w", nil, false},
		{"nowait", "ALTER TABLE t NOWAIT DROP COLUMN v", "id", nil, false},
		{"page compressed", "CREATE OR REPLACE TABLE t (a int) ENGINE=InnoDB PAGE_COMPRESSED=1 PAGE_COMPRESSION_LEVEL=6", "a", nil, false},
		{"alter page compressed", "ALTER TABLE t PAGE_COMPRESSED=1", "id,v", nil, false},
		{"invisible", "ALTER TABLE t ADD COLUMN h int INVISIBLE", "id,v,h", nil, false},
		{"compressed", "ALTER TABLE t ADD COLUMN tx TEXT COMPRESSED, ADD COLUMN vc varchar(100) COMPRESSED=zlib", "id,v,tx,vc", func(t *testing.T, tb *schema.Table) {
			if tb.Columns[2].DataType != "text" || tb.Columns[3].ColumnType != "varchar(100) /*M!100301 COMPRESSED*/" {
				t.Error(tb.Columns)
			}
		}, false},
		{"row_format compressed kept", "CREATE OR REPLACE TABLE t (a int) ROW_FORMAT=COMPRESSED", "a", nil, false},
		{"persistent", "ALTER TABLE t ADD COLUMN p int AS (id * 2) PERSISTENT", "id,v,p", func(t *testing.T, tb *schema.Table) {
			if !tb.Columns[2].Generated {
				t.Error(tb.Columns[2])
			}
		}, false},
		{"uuid inet", "ALTER TABLE t ADD COLUMN u UUID NOT NULL, ADD COLUMN i4 INET4, ADD COLUMN i6 inet6", "id,v,u,i4,i6", func(t *testing.T, tb *schema.Table) {
			got := []string{tb.Columns[2].DataType, tb.Columns[3].ColumnType, tb.Columns[4].DataType}
			if !reflect.DeepEqual(got, []string{"uuid", "inet4", "inet6"}) || tb.Columns[2].Nullable {
				t.Error(tb.Columns)
			}
		}, false},
		{"uca1400", "ALTER TABLE t ADD COLUMN c varchar(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci, DEFAULT CHARSET=utf8mb4 COLLATE=uca1400_as_cs", "id,v,c", func(t *testing.T, tb *schema.Table) {
			if tb.Columns[2].Collation != "utf8mb4_unicode_ci" {
				t.Error(tb.Columns[2])
			}
		}, false},
		{"system versioning", "CREATE OR REPLACE TABLE t (a int, rs timestamp(6) GENERATED ALWAYS AS ROW START, re timestamp(6) GENERATED ALWAYS AS ROW END, PERIOD FOR SYSTEM_TIME(rs, re)) WITH SYSTEM VERSIONING", "a,rs,re", nil, false},
		{"column without versioning", "ALTER TABLE t ADD COLUMN nv int WITHOUT SYSTEM VERSIONING", "id,v,nv", nil, false},
		{"add system versioning", "ALTER TABLE t ADD SYSTEM VERSIONING", "", nil, true},
		{"unknown charset", "ALTER TABLE t ADD COLUMN x varchar(3) CHARACTER SET utf16", "", nil, true},
		{"or replace index", "CREATE OR REPLACE INDEX iv ON t (v)", "id,v", nil, false},
		{"drop table wait", "DROP TABLE t WAIT 5", "", nil, false},
		{"rename table nowait", "RENAME TABLE t NOWAIT TO t", "id,v", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := New(nil)
			if err := tr.CreateTable("db", "t", base); err != nil {
				t.Fatal(err)
			}
			res := mustExec(t, tr, "db", c.sql)
			if c.reread {
				if !reflect.DeepEqual(res.NeedsReread, []TableRef{{"db", "t"}}) {
					t.Fatalf("want a re-read: %+v", res)
				}
				if _, ok := tr.Table("db", "t"); ok {
					t.Fatal("table must be forgotten")
				}
				return
			}
			if len(res.NeedsReread) > 0 || !res.Normalized && c.name != "alter page compressed" {
				t.Fatalf("result %+v", res)
			}
			if c.cols == "" {
				if _, ok := tr.Table("db", "t"); ok {
					t.Fatal("table still tracked")
				}
				return
			}
			tb := mustTable(t, tr, "db", "t")
			if got := colNames(tb); got != c.cols {
				t.Fatalf("columns %s, want %s", got, c.cols)
			}
			if c.check != nil {
				c.check(t, tb)
			}
			text, _ := tr.CreateStatement("db", "t")
			if _, err := parser.New().ParseOneStmt(text, "", ""); err != nil {
				t.Fatalf("CreateStatement %q: %v", text, err)
			}
		})
	}
}

func TestAddColumnIfNotExistsTwice(t *testing.T) {
	tr := New(nil)
	mustExec(t, tr, "db", "CREATE TABLE t (a int)")
	for i := 0; i < 2; i++ {
		res := mustExec(t, tr, "db", "ALTER TABLE t ADD COLUMN IF NOT EXISTS b int")
		if len(res.NeedsReread) != 0 {
			t.Fatal(res)
		}
	}
	if got := colNames(mustTable(t, tr, "db", "t")); got != "a,b" {
		t.Fatal(got)
	}
	if res := mustExec(t, tr, "db", "ALTER TABLE t ADD COLUMN b int"); len(res.NeedsReread) != 1 {
		t.Fatalf("duplicate column without IF NOT EXISTS: %+v", res)
	}
}

// A table created with an ENGINE given as a string the parser's restore would write bare
// (ENGINE = My Engine) is still followed through an ALTER, and its statement parses: the
// tracker copies a table through its text.
func TestEngineNamedByAStringIsFollowed(t *testing.T) {
	tr := New(nil)
	mustExec(t, tr, "db", "CREATE TABLE t (a int) ENGINE='My Engine'")
	if res := mustExec(t, tr, "db", "ALTER TABLE t ADD COLUMN b int"); len(res.NeedsReread) != 0 {
		t.Fatalf("the table was forgotten: %+v", res)
	}
	if got := colNames(mustTable(t, tr, "db", "t")); got != "a,b" {
		t.Fatal(got)
	}
	text, ok := tr.CreateStatement("db", "t")
	if !ok || !strings.Contains(text, "ENGINE = `My Engine`") {
		t.Fatalf("%q %v", text, ok)
	}
}

// No table is tracked under an empty name, which MariaDB refuses (found by FuzzTrackerExec:
// ALTER TABLE t RENAME to an empty quoted name): a RENAME TABLE to it is an error that leaves
// the table as it was, an ALTER ... RENAME to it one the tracker cannot follow, so it reads
// the table again.
func TestEmptyTableNameIsNotTracked(t *testing.T) {
	tr := New(nil)
	mustExec(t, tr, "db", "CREATE TABLE t (a int)")
	if _, err := tr.Exec("db", "RENAME TABLE t TO ``"); err == nil || !strings.Contains(err.Error(), "empty name") {
		t.Fatal(err)
	}
	mustTable(t, tr, "db", "t")
	res := mustExec(t, tr, "db", "ALTER TABLE t RENAME ``")
	if len(res.NeedsReread) != 1 || res.NeedsReread[0] != (TableRef{"db", "t"}) || len(res.Changed) != 0 {
		t.Fatalf("%+v", res)
	}
	if _, ok := tr.CreateStatement("db", ""); ok {
		t.Fatal("a table with an empty name is tracked")
	}
	if res := mustExec(t, tr, "db", "CREATE TABLE t (a int)"); len(res.Changed) != 1 {
		t.Fatalf("%+v", res)
	}
	if res := mustExec(t, tr, "db", "ALTER TABLE t RENAME u"); len(res.Changed) != 1 || res.Changed[0] != (TableRef{"db", "u"}) {
		t.Fatalf("a rename to a name still follows: %+v", res)
	}
}

func TestCreateOrReplace(t *testing.T) {
	tr := New(nil)
	mustExec(t, tr, "db", "CREATE TABLE t (a int, b int)")
	res := mustExec(t, tr, "db", "CREATE OR REPLACE TABLE t (c int PRIMARY KEY)")
	if !res.Normalized || !reflect.DeepEqual(res.Changed, []TableRef{{"db", "t"}}) {
		t.Fatal(res)
	}
	tb := mustTable(t, tr, "db", "t")
	if colNames(tb) != "c" || !reflect.DeepEqual(tb.PrimaryKey, []int{0}) {
		t.Fatal(tb)
	}
	// OR REPLACE wins over IF NOT EXISTS semantics: the table is replaced
	mustExec(t, tr, "db", "CREATE OR REPLACE TABLE t (d int)")
	if colNames(mustTable(t, tr, "db", "t")) != "d" {
		t.Fatal("not replaced")
	}
}

func TestSnapshotRestore(t *testing.T) {
	tr := New(nil)
	mustExec(t, tr, "", "CREATE DATABASE db DEFAULT CHARACTER SET latin1")
	mustExec(t, tr, "db", "CREATE TABLE t (id int PRIMARY KEY, u UUID, s varchar(3), e enum('a','b'))")
	if err := tr.CreateTable("db2", "m", mariaShow); err != nil {
		t.Fatal(err)
	}
	mustExec(t, tr, "", "CREATE DATABASE empty")
	b, err := tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	tr2 := New(nil)
	if err := tr2.Restore(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tr.Schemas(), tr2.Schemas()) || !reflect.DeepEqual(tr2.Schemas(), []string{"db", "db2", "empty"}) {
		t.Fatal(tr2.Schemas())
	}
	for _, r := range []TableRef{{"db", "t"}, {"db2", "m"}} {
		a, b := mustTable(t, tr, r.Schema, r.Table), mustTable(t, tr2, r.Schema, r.Table)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%v differs:\n%+v\n%+v", r, a, b)
		}
	}
	if tb := mustTable(t, tr2, "db", "t"); tb.Columns[1].DataType != "uuid" || tb.Columns[2].Charset != "latin1" {
		t.Fatal(tb.Columns)
	}
	// the plain {schema: {table: sql}} form is accepted too
	if err := tr2.Restore([]byte(`{"x":{"y":"CREATE TABLE y (a int)"}}`)); err != nil {
		t.Fatal(err)
	}
	if got := colNames(mustTable(t, tr2, "x", "y")); got != "a" {
		t.Fatal(got)
	}
	if err := tr2.Restore([]byte(`{"x":{"y":"not sql"}}`)); err == nil {
		t.Fatal("bad snapshot accepted")
	}
	if _, ok := tr2.Table("x", "y"); !ok {
		t.Fatal("failed restore changed the state")
	}
}

// The log says what happened: a DDL on a table the tracker never saw is not a parse failure.
func TestRereadLogSaysWhy(t *testing.T) {
	var buf strings.Builder
	tr := New(slog.New(slog.NewTextHandler(&buf, nil)))
	res := mustExec(t, tr, "db", "ALTER TABLE t ADD COLUMN c INT")
	if len(res.NeedsReread) != 1 || res.NeedsReread[0] != (TableRef{"db", "t"}) {
		t.Fatalf("NeedsReread = %v", res.NeedsReread)
	}
	out := buf.String()
	if !strings.Contains(out, "ALTER of an untracked table") || strings.Contains(out, "parse") || strings.Contains(out, "level=WARN") {
		t.Fatalf("log: %s", out)
	}
	buf.Reset()
	if err := tr.CreateTable("db", "t", "CREATE TABLE t (a int)"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, tr, "db", "ALTER TABLE t DROP COLUMN nope")
	if out := buf.String(); !strings.Contains(out, "could not apply") || !strings.Contains(out, "no such column") {
		t.Fatalf("log: %s", out)
	}
}
