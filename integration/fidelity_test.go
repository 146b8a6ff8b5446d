package integration

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEmptyDatabaseIsMigrated is the scenario of DM's own OpenAPI suite: the database exists
// upstream but has no table when the task starts; tables and rows come later. It must work
// for every shard mode, in `all` and `incremental` mode, and so must a database created after
// the start (a routed CREATE DATABASE) and a table created in a database the task never saw
// created.
func TestEmptyDatabaseIsMigrated(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.createSource("mysql-01", e.src)
	type combo struct{ mode, shard string }
	var combos []combo
	for _, mode := range []string{"all", "incremental"} {
		for _, shard := range []string{"", "pessimistic", "optimistic"} {
			combos = append(combos, combo{mode, shard})
		}
	}
	name := func(c combo) string {
		return fmt.Sprintf("e_%s_%s", c.mode[:3], map[string]string{"": "none", "pessimistic": "pes", "optimistic": "opt"}[c.shard])
	}
	for _, c := range combos {
		n := name(c)
		e.src.Exec(t, "CREATE DATABASE "+n)
		var gtid string
		require.NoError(t, e.srcDB.QueryRow("SELECT @@gtid_binlog_pos").Scan(&gtid))
		task := e.task(n, c.mode, []string{"mysql-01"}, n, n+"_late", n+"_unseen")
		if c.shard != "" {
			task["shard_mode"] = c.shard
		}
		if c.mode == "incremental" {
			task["source_config"].(map[string]any)["source_conf"] = []map[string]any{{"source_name": "mysql-01", "binlog_gtid": gtid}}
		}
		resp := e.startTask(task)
		require.Equal(t, http.StatusCreated, resp.Status, "%s: %s", n, resp.Body)
	}
	for _, c := range combos {
		e.waitStage(name(c), "Running", 60*time.Second)
	}
	// The target has the empty database of an `all` task before any table exists.
	for _, c := range combos {
		if c.mode == "all" {
			Eventually(t, 30*time.Second, func() error { return schemaExists(e.dstDB, name(c)) })
		}
	}
	// _unseen is created with the binlog off, as if before the start position.
	for _, c := range combos {
		n := name(c)
		e.src.Exec(t, "SET sql_log_bin = 0; CREATE DATABASE "+n+"_unseen; SET sql_log_bin = 1")
		e.src.Exec(t, "CREATE TABLE "+n+".t1 (id INT PRIMARY KEY, v VARCHAR(20))")
		e.src.Exec(t, "INSERT INTO "+n+".t1 VALUES (1, 'a'), (2, 'b')")
		e.src.Exec(t, "CREATE DATABASE "+n+"_late")
		e.src.Exec(t, "CREATE TABLE "+n+"_late.t2 (id INT PRIMARY KEY, v INT)")
		e.src.Exec(t, "INSERT INTO "+n+"_late.t2 VALUES (1, 10), (2, 20), (3, 30)")
		e.src.Exec(t, "CREATE TABLE "+n+"_unseen.t3 (id INT PRIMARY KEY)")
		e.src.Exec(t, "INSERT INTO "+n+"_unseen.t3 VALUES (7), (8)")
		e.src.Exec(t, "UPDATE "+n+".t1 SET v = 'c' WHERE id = 2")
	}
	for _, c := range combos {
		n := name(c)
		e.waitSynced(n, 60*time.Second)
		for _, schema := range []string{n, n + "_late", n + "_unseen"} {
			EventuallySame(t, e.srcDB, e.dstDB, schema, 20*time.Second)
			RequireSameTables(t, e.srcDB, e.dstDB, schema)
		}
	}
}

func schemaExists(db *sql.DB, schema string) error {
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", schema).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("database %s does not exist on the target", schema)
	}
	return nil
}

// TestCollationsFollowTheUpstream: a target whose server defaults differ (utf8mb4_bin, as
// TiDB's utf8mb4 default) ends with the collations the upstream resolved, in the full copy and
// in the replay of DDL that relies on defaults (collation_compatible strict, the default);
// with loose the DDL is replayed as written and the target's defaults apply.
func TestCollationsFollowTheUpstream(t *testing.T) {
	e := newMigrationEnvWith(t, 1, MariaDBOptions{ExtraConfig: []string{"character-set-server=utf8mb4", "collation-server=utf8mb4_bin"}})
	e.src.Exec(t, "CREATE DATABASE c_full")
	e.src.Exec(t, "CREATE TABLE c_full.t (id INT PRIMARY KEY, a VARCHAR(10), b VARCHAR(10) CHARACTER SET latin1, e ENUM('x','y'))")
	e.src.Exec(t, "INSERT INTO c_full.t VALUES (1, 'a', 'b', 'x')")
	e.createSource("mysql-01", e.src)
	for _, name := range []string{"strict", "loose"} {
		task := e.task("coll_"+name, "all", []string{"mysql-01"}, "c_"+name+"*")
		if name == "loose" {
			task["collation_compatible"] = "loose"
		} else {
			task["table_migrate_rule"] = append(task["table_migrate_rule"].([]map[string]any),
				map[string]any{"source": map[string]any{"source_name": "mysql-01", "schema": "c_full", "table": "*"}})
		}
		resp := e.startTask(task)
		require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
		e.waitSynced("coll_"+name, 60*time.Second)
	}
	for _, name := range []string{"strict", "loose"} {
		db := "c_" + name
		e.src.Exec(t, "CREATE DATABASE "+db)
		e.src.Exec(t, "CREATE TABLE "+db+".t (id INT PRIMARY KEY, a VARCHAR(10), b VARCHAR(10) CHARACTER SET latin1, s SET('p','q'))")
		e.src.Exec(t, "ALTER TABLE "+db+".t ADD COLUMN c VARCHAR(10), ADD COLUMN d TEXT CHARACTER SET utf8mb4")
		e.src.Exec(t, "CREATE DATABASE "+db+"_latin CHARACTER SET latin1")
		e.src.Exec(t, "CREATE TABLE "+db+"_latin.t (id INT PRIMARY KEY, a VARCHAR(10)) CHARSET utf8mb4")
		e.src.Exec(t, "INSERT INTO "+db+".t (id, a, b, c, d) VALUES (1, 'a', 'b', 'c', 'd'), (2, 'A', 'B', 'C', 'D')")
	}
	e.src.Exec(t, "ALTER TABLE c_full.t ADD COLUMN c VARCHAR(10)")
	for _, name := range []string{"strict", "loose"} {
		e.waitSynced("coll_"+name, 60*time.Second)
	}
	for _, schema := range []string{"c_full", "c_strict", "c_strict_latin"} {
		require.Equal(t, collations(t, e.srcDB, schema), collations(t, e.dstDB, schema), "collations of %s", schema)
		RequireSameTables(t, e.srcDB, e.dstDB, schema)
	}
	// loose: the statements as written, so the target's server default decides
	src, dst := collations(t, e.srcDB, "c_loose"), collations(t, e.dstDB, "c_loose")
	require.Contains(t, src, "c_loose: utf8mb4_general_ci")
	require.Contains(t, dst, "c_loose: utf8mb4_bin", "loose replays CREATE DATABASE as written")
	RequireSameTables(t, e.srcDB, e.dstDB, "c_loose")
}

// collations lists a schema's default collation and every table's and text column's.
func collations(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	var out []string
	var co string
	require.NoError(t, db.QueryRow("SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", schema).Scan(&co))
	out = append(out, schema+": "+co)
	q := func(query string) {
		rows, err := db.Query(query, schema)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var name, value sql.NullString
			require.NoError(t, rows.Scan(&name, &value))
			out = append(out, name.String+": "+value.String)
		}
		require.NoError(t, rows.Err())
	}
	q("SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'")
	q("SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME), CONCAT(CHARACTER_SET_NAME, '/', COLLATION_NAME) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND COLLATION_NAME IS NOT NULL")
	sort.Strings(out)
	return out
}

// TestJSONColumnsInBothPhases: a JSON column copied by the full phase and one created by a
// replayed CREATE TABLE come out the same (on a MariaDB target: as written, LONGTEXT with
// its json_valid check), with values equal as JSON.
func TestJSONColumnsInBothPhases(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE js")
	e.src.Exec(t, "CREATE TABLE js.full (id INT PRIMARY KEY, j JSON, n JSON NOT NULL DEFAULT '{}')")
	e.src.Exec(t, `INSERT INTO js.full VALUES (1, '{"a": [1, 2.5, "x"], "b": null}', '[]'), (2, NULL, '{"k": {"z": true}}')`)
	e.createSource("mysql-01", e.src)
	resp := e.startTask(e.task("js", "all", []string{"mysql-01"}, "js"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced("js", 60*time.Second)
	e.src.Exec(t, "CREATE TABLE js.replayed (id INT PRIMARY KEY, j JSON, n JSON NOT NULL DEFAULT '{}')")
	e.src.Exec(t, `INSERT INTO js.replayed VALUES (1, '{"a": [1, 2.5, "x"], "b": null}', '[]'), (2, NULL, '{"k": {"z": true}}')`)
	e.src.Exec(t, `UPDATE js.full SET j = JSON_SET(j, '$.c', 'new') WHERE id = 1`)
	e.src.Exec(t, `INSERT INTO js.full VALUES (3, '"just a string"', '{"unicode": "\u00e9\u4e2d"}')`)
	e.waitSynced("js", 60*time.Second)
	for _, table := range []string{"full", "replayed"} {
		require.Equal(t, columnShapes(t, e.srcDB, "js", table), columnShapes(t, e.dstDB, "js", table), "columns of js.%s", table)
		require.Equal(t, jsonRows(t, e.srcDB, "js."+table), jsonRows(t, e.dstDB, "js."+table), "values of js.%s", table)
	}
	require.Equal(t, columnShapes(t, e.dstDB, "js", "full"), columnShapes(t, e.dstDB, "js", "replayed"), "both phases give the same columns")
}

// columnShapes describes a table's columns and check constraints as information_schema does.
func columnShapes(t *testing.T, db *sql.DB, schema, table string) []string {
	t.Helper()
	var out []string
	rows, err := db.Query("SELECT COLUMN_NAME, COLUMN_TYPE, IFNULL(COLLATION_NAME, ''), IS_NULLABLE, IFNULL(COLUMN_DEFAULT, 'NULL') FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", schema, table)
	require.NoError(t, err)
	for rows.Next() {
		var c [5]string
		require.NoError(t, rows.Scan(&c[0], &c[1], &c[2], &c[3], &c[4]))
		out = append(out, strings.Join(c[:], " "))
	}
	require.NoError(t, rows.Close())
	rows, err = db.Query("SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? ORDER BY CHECK_CLAUSE", schema, table)
	require.NoError(t, err)
	for rows.Next() {
		var c string
		require.NoError(t, rows.Scan(&c))
		out = append(out, "CHECK "+c)
	}
	require.NoError(t, rows.Close())
	return out
}

// jsonRows reads (id, j, n) with the JSON values decoded, so that equal documents compare
// equal whatever their spacing.
func jsonRows(t *testing.T, db *sql.DB, table string) map[int][2]any {
	t.Helper()
	rows, err := db.Query("SELECT id, j, n FROM " + table)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int][2]any{}
	for rows.Next() {
		var id int
		var j, n sql.NullString
		require.NoError(t, rows.Scan(&id, &j, &n))
		var vals [2]any
		for i, s := range []sql.NullString{j, n} {
			if s.Valid {
				require.NoError(t, json.Unmarshal([]byte(s.String), &vals[i]), "%s row %d: %q", table, id, s.String)
			}
		}
		out[id] = vals
	}
	require.NoError(t, rows.Err())
	require.False(t, reflect.DeepEqual(out, map[int][2]any{}), "no rows in %s", table)
	return out
}
