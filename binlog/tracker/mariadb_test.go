package tracker

import (
	"context"
	"reflect"
	"testing"

	"github.com/dm-oss/dm/binlog/schema"
	"github.com/dm-oss/dm/integration"
)

// TestAgainstMariaDB runs DDLs on a real MariaDB and on the tracker and compares the
// tracker's view with the server's information_schema after each one.
func TestAgainstMariaDB(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a MariaDB server")
	}
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	ctx := context.Background()
	tr := New(nil)
	ddls := []string{
		"CREATE DATABASE trk CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
		"CREATE TABLE trk.t (id int PRIMARY KEY, a varchar(20), b int unsigned NOT NULL, e enum('x','y') DEFAULT 'x', UNIQUE KEY ub (b))",
		"ALTER TABLE trk.t ADD COLUMN c decimal(10,2) AFTER id, ADD COLUMN d tinyint, ADD COLUMN s set('p','q') NOT NULL",
		"ALTER TABLE trk.t DROP COLUMN c, MODIFY a varchar(40) CHARACTER SET latin1 NOT NULL",
		"ALTER TABLE trk.t CHANGE COLUMN d dd bigint unsigned, RENAME COLUMN e TO ee",
		"ALTER TABLE trk.t ADD UNIQUE KEY ua (a, b), ADD COLUMN IF NOT EXISTS b int",
		"ALTER ONLINE TABLE trk.t ADD INDEX ia (a)",
		"ALTER TABLE trk.t ADD COLUMN u UUID, ADD COLUMN g int AS (b + 1) PERSISTENT, ADD COLUMN h int INVISIBLE NOT NULL DEFAULT 0",
		"ALTER TABLE trk.t WAIT 5 ADD COLUMN tx text COMPRESSED, ADD COLUMN i6 INET6",
		"CREATE OR REPLACE TABLE trk.r (k int NOT NULL, v varchar(3), UNIQUE KEY (k)) PAGE_COMPRESSED=1",
		"CREATE TABLE trk.l LIKE trk.t",
		"ALTER TABLE trk.l DROP COLUMN id, DROP INDEX ub",
		"RENAME TABLE trk.l TO trk.l2",
		"ALTER TABLE trk.t CONVERT TO CHARACTER SET latin1",
		"CREATE INDEX ie ON trk.t (ee)",
	}
	for _, ddl := range ddls {
		m.Exec(t, ddl)
		res, err := tr.Exec("", ddl)
		if err != nil || len(res.NeedsReread) > 0 {
			t.Fatalf("%s: %+v %v", ddl, res, err)
		}
		for _, name := range tr.Tables("trk") {
			got, _ := tr.Table("trk", name)
			want, err := schema.Load(ctx, db, "trk", name)
			if err != nil {
				t.Fatalf("%s: load %s: %v", ddl, name, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("after %s: trk.%s\ntracker %+v\nserver  %+v", ddl, name, got, want)
			}
		}
	}

	// Source: an unknown table is read from the upstream and tracked from then on.
	m.Exec(t, "CREATE TABLE trk.late (x int NOT NULL, y varchar(5), PRIMARY KEY (x)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_ai_ci")
	src := New(nil).Source(db)
	got, err := src.Table(ctx, "trk", "late")
	if err != nil {
		t.Fatal(err)
	}
	if colNames(got) != "x,y" || !reflect.DeepEqual(got.PrimaryKey, []int{0}) {
		t.Fatalf("%+v", got)
	}
	if _, err := src.Table(ctx, "trk", "missing"); err == nil {
		t.Fatal("missing table found")
	}
}
