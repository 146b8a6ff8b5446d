package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

// TestTaskSchemaRoutes: list, read, replace and forget tables in a subtask's schema tracker.
func TestTaskSchemaRoutes(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t1 (id INT PRIMARY KEY, name VARCHAR(20))")
	e.src.Exec(t, "INSERT INTO shop.t1 VALUES (1, 'a')")
	e.createSource("mysql-01", e.src)
	resp := e.startTask(e.task("sch", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced("sch", 60*time.Second)
	// A row after the task started makes the sync unit track the table.
	e.src.Exec(t, "INSERT INTO shop.t1 VALUES (2, 'b')")
	EventuallySame(t, e.srcDB, e.dstDB, "shop", 30*time.Second)

	base := "/api/v1/tasks/sch/sources/mysql-01/schemas"
	var names []string
	require.NoError(t, e.api.call(http.MethodGet, e.addr, base, nil).JSON(&names))
	require.Contains(t, names, "shop")
	require.NoError(t, e.api.call(http.MethodGet, e.addr, base+"/shop", nil).JSON(&names))
	require.Equal(t, []string{"t1"}, names)
	var tbl struct {
		SchemaName      string `json:"schema_name"`
		TableName       string `json:"table_name"`
		SchemaCreateSql string `json:"schema_create_sql"`
	}
	resp = e.api.call(http.MethodGet, e.addr, base+"/shop/t1", nil)
	require.NoError(t, resp.JSON(&tbl), "%s", resp.Body)
	require.Equal(t, "shop", tbl.SchemaName)
	require.Equal(t, "t1", tbl.TableName)
	require.Contains(t, strings.ToLower(tbl.SchemaCreateSql), "create table")
	require.Contains(t, tbl.SchemaCreateSql, "name")

	put := map[string]any{"sql_content": "CREATE TABLE shop.t1 (id INT PRIMARY KEY, name VARCHAR(20), extra INT)"}
	requireAPIError(t, e.api.call(http.MethodPut, e.addr, base+"/shop/t2", put), 400, fsm.CodeWorkerNotPaused)
	// Forgetting a table while the subtask runs is refused like replacing one: the table stays.
	requireAPIError(t, e.api.call(http.MethodDelete, e.addr, base+"/shop/t1", nil), 400, fsm.CodeWorkerNotPaused)
	require.NoError(t, e.api.call(http.MethodGet, e.addr, base+"/shop", nil).JSON(&names))
	require.Equal(t, []string{"t1"}, names)

	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/sch/pause", nil).Status)
	e.waitStage("sch", "Paused", 20*time.Second)
	// The path's name wins over the statement's.
	resp = e.api.call(http.MethodPut, e.addr, base+"/shop/t2", put)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.NoError(t, e.api.call(http.MethodGet, e.addr, base+"/shop", nil).JSON(&names))
	require.Equal(t, []string{"t1", "t2"}, names)
	resp = e.api.call(http.MethodGet, e.addr, base+"/shop/t2", nil)
	require.NoError(t, resp.JSON(&tbl), "%s", resp.Body)
	require.Equal(t, "t2", tbl.TableName)
	require.Contains(t, tbl.SchemaCreateSql, "extra")

	resp = e.api.call(http.MethodDelete, e.addr, base+"/shop/t2", nil)
	require.Equal(t, http.StatusNoContent, resp.Status, "%s", resp.Body)
	requireTemplate(t, e.api.call(http.MethodGet, e.addr, base+"/shop/t2", nil), http.StatusBadRequest)
	requireAPIError(t, e.api.call(http.MethodGet, e.addr, "/api/v1/tasks/ghost/sources/mysql-01/schemas", nil), 400, fsm.CodeTaskNotExist)
	requireAPIError(t, e.api.call(http.MethodGet, e.addr, "/api/v1/tasks/sch/sources/ghost/schemas", nil), 400, fsm.CodeSourceNotInTask)

	// Resume: replication goes on with the tracked schema.
	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/sch/resume", nil).Status)
	e.src.Exec(t, "INSERT INTO shop.t1 VALUES (3, 'c')")
	e.waitSynced("sch", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
}
