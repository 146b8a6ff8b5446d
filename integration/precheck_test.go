package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRuleMatchingNothingIsReported: a full task with a rule whose schema matches no upstream
// database is created (not an error), with a precheck warning in X-Dm-Warning, and its status
// keeps saying so once it has finished, instead of a silent Finished with 0 bytes for the rule.
func TestRuleMatchingNothingIsReported(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY)")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (1), (2)")
	e.createSource("mysql-01", e.src)

	resp := e.startTask(e.task("copy", "full", []string{"mysql-01"}, "shop", "later_db"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	want := `source mysql-01: table_migrate_rule (schema "later_db", table "*") matched no upstream database when the task was created`
	var found []string
	for _, w := range resp.Header.Values("X-Dm-Warning") {
		if strings.Contains(w, "matched no upstream database") {
			found = append(found, w)
		}
	}
	require.Len(t, found, 1, "warnings: %q", resp.Header.Values("X-Dm-Warning"))
	require.Contains(t, found[0], want)

	e.waitStage("copy", "Finished", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	var l listResp[struct {
		Stage    string   `json:"stage"`
		Warnings []string `json:"warnings"`
	}]
	require.NoError(t, e.api.call(http.MethodGet, e.addr, "/api/v1/tasks/copy/status", nil).JSON(&l))
	require.Len(t, l.Data, 1)
	require.Equal(t, "Finished", l.Data[0].Stage)
	require.Equal(t, found, l.Data[0].Warnings)
}
