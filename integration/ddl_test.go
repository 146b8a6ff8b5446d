package integration

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDDLMidStreamAndMariaDBForms: columns added, dropped and retyped while rows flow, with a
// pause/resume (a fresh sync unit restoring its tracked schema) between the DDLs, and
// MariaDB-only DDL replicated as it is.
func TestDDLMidStreamAndMariaDBForms(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY, a INT, b VARCHAR(20))")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (1, 10, 'x')")
	e.createSource("mysql-01", e.src)
	resp := e.startTask(e.task("ddl", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced("ddl", 60*time.Second)

	// Pause first, so the DDLs and their rows are replayed from the binlog afterwards, when
	// the upstream already has the final schema: only a tracked schema decodes them right.
	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/ddl/pause", nil).Status)
	e.waitStage("ddl", "Paused", 20*time.Second)
	e.src.Exec(t, "INSERT INTO shop.t VALUES (2, 20, 'y')")
	e.src.Exec(t, "ALTER TABLE shop.t ADD COLUMN c DATETIME(3) NULL")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (3, 30, 'z', '2026-11-24 10:00:00.123')")
	e.src.Exec(t, "ALTER TABLE shop.t DROP COLUMN a")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (4, 'w', NULL)")
	e.src.Exec(t, "UPDATE shop.t SET b = 'yy' WHERE id = 2")
	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/ddl/resume", nil).Status)
	e.waitSynced("ddl", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")

	// Again with a pause between two DDLs: the resumed unit restores the tracked schema from
	// the checkpoint.
	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/ddl/pause", nil).Status)
	e.waitStage("ddl", "Paused", 20*time.Second)
	e.src.Exec(t, "ALTER TABLE shop.t MODIFY COLUMN b VARCHAR(100) NOT NULL DEFAULT ''")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (5, REPEAT('long', 20), NULL)")
	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/ddl/resume", nil).Status)
	e.waitSynced("ddl", 60*time.Second)
	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/ddl/pause", nil).Status)
	e.waitStage("ddl", "Paused", 20*time.Second)
	e.src.Exec(t, "ALTER TABLE shop.t ADD COLUMN n BIGINT UNSIGNED NOT NULL DEFAULT 0")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (6, 'v', NULL, 18446744073709551615)")
	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/ddl/resume", nil).Status)
	e.waitSynced("ddl", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")

	// MariaDB-only forms.
	e.src.Exec(t, "ALTER TABLE shop.t ADD COLUMN IF NOT EXISTS d INT")
	e.src.Exec(t, "ALTER TABLE shop.t ADD COLUMN IF NOT EXISTS d INT")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (7, 'u', NULL, 1, 70)")
	e.src.Exec(t, "CREATE OR REPLACE TABLE shop.r (id INT PRIMARY KEY, x VARCHAR(10))")
	e.src.Exec(t, "INSERT INTO shop.r VALUES (1, 'one')")
	e.src.Exec(t, "CREATE OR REPLACE TABLE shop.r (id INT PRIMARY KEY, x VARCHAR(10), y INT)")
	e.src.Exec(t, "INSERT INTO shop.r VALUES (2, 'two', 2)")
	e.waitSynced("ddl", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
}

// TestOnlineDDLThroughTask: a gh-ost-style migration issued as plain SQL on the source ends
// with the target table altered and equal, and no helper table on the target.
func TestOnlineDDLThroughTask(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY, v INT)")
	e.src.Exec(t, "INSERT INTO shop.t SELECT seq, seq FROM shop.seq_1_to_100")
	e.createSource("mysql-01", e.src)
	resp := e.startTask(e.task("osc", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced("osc", 60*time.Second)

	for _, q := range []string{
		"CREATE TABLE shop._t_gho LIKE shop.t",
		"ALTER TABLE shop._t_gho ADD COLUMN c INT",
		"CREATE TABLE shop._t_ghc (id BIGINT AUTO_INCREMENT PRIMARY KEY, hint VARCHAR(64))",
		"INSERT INTO shop._t_gho SELECT id, v, NULL FROM shop.t",
		"UPDATE shop.t SET v = v + 1 WHERE id <= 10",
		"UPDATE shop._t_gho SET v = v + 1 WHERE id <= 10",
		"RENAME TABLE shop.t TO shop._t_del, shop._t_gho TO shop.t",
		"DROP TABLE shop._t_del, shop._t_ghc",
		"INSERT INTO shop.t VALUES (101, 101, 7)",
	} {
		e.src.Exec(t, q)
	}
	e.waitSynced("osc", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	var helpers int
	require.NoError(t, e.dstDB.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME LIKE '\\_t\\_%'").Scan(&helpers))
	require.Equal(t, 0, helpers, "no gh-ost helper table reaches the target")
}
