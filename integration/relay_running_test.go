package integration

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRelayStartedAndStoppedUnderARunningTask: a task syncing from the upstream switches to
// the relay log when the relay starts on its worker (binlog_type local), and back to the
// upstream when it stops (a reader of a stopped relay would wait for ever), as DM resets its
// subtasks then; no row is lost or repeated on the way.
func TestRelayStartedAndStoppedUnderARunningTask(t *testing.T) {
	e := syncedShopTask(t, "running")
	require.Equal(t, "remote", e.status("running")[0].SyncStatus.BinlogType)

	for i, step := range []struct{ op, binlogType string }{{"start-relay", "local"}, {"stop-relay", "remote"}} {
		resp := e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/"+step.op, map[string]any{"worker_name_list": []string{"worker1"}})
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		e.src.Exec(t, fmt.Sprintf("INSERT INTO shop.t VALUES (%d, 'after %s'), (%d, '%d')", 2001+2*i, step.op, 2002+2*i, i))
		Eventually(t, 30*time.Second, func() error {
			st := e.status("running")[0]
			if st.SyncStatus == nil || st.SyncStatus.BinlogType != step.binlogType {
				return fmt.Errorf("after %s the subtask is %s %s, error %q, sync %+v", step.op, st.Stage, st.Unit, deref(st.ErrorMsg), st.SyncStatus)
			}
			return nil
		})
		e.waitSynced("running", 60*time.Second)
		RequireSameTables(t, e.srcDB, e.dstDB, "shop")
		requireSameCount(t, e, "shop.t")
	}
}

// TestRelayErrorClearsOnceItGoesOn: a relay stopped by an error it retries (here the
// upstream refusing its password for a while) shows the error in the source's status, and
// no longer once it pulls again by itself.
func TestRelayErrorClearsOnceItGoesOn(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))")
	e.src.CreateUser(t, "dmrelay", "Rel4y-Pa55", "ALL PRIVILEGES ON *.*")
	resp := e.api.call(http.MethodPost, e.addr, "/api/v1/sources", map[string]any{
		"source_name": "mysql-01", "host": e.src.Host(), "port": e.src.Port(), "user": "dmrelay", "password": "Rel4y-Pa55", "enable_gtid": true,
	})
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	Eventually(t, 30*time.Second, func() error {
		if e.api.bindings(e.addr)["mysql-01"] != "worker1" {
			return fmt.Errorf("mysql-01 not bound to worker1")
		}
		return nil
	})
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/start-relay", map[string]any{"worker_name_list": []string{"worker1"}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	e.waitRelayCaughtUp("mysql-01")

	// The password changes under the relay and its connection drops: reconnecting fails.
	e.src.Exec(t, "ALTER USER 'dmrelay'@'%' IDENTIFIED BY 'Other-Pa55'")
	killBinlogDumps(t, e.src)
	Eventually(t, 30*time.Second, func() error {
		st := e.sourceStatus("mysql-01")
		if msg := deref(st[0].ErrorMsg); len(st) != 1 || !strings.HasPrefix(msg, "relay: ") || !strings.Contains(strings.ToLower(msg), "access denied") {
			return fmt.Errorf("the relay does not say it was refused yet: %+v", st)
		}
		return nil
	})

	// The password is back: the relay pulls again and its status no longer shows the error.
	e.src.Exec(t, "ALTER USER 'dmrelay'@'%' IDENTIFIED BY 'Rel4y-Pa55'")
	e.src.Exec(t, "INSERT INTO shop.t (v) VALUES ('after')")
	Eventually(t, 30*time.Second, func() error {
		st := e.sourceStatus("mysql-01")
		if len(st) != 1 || st[0].ErrorMsg != nil || st[0].RelayStatus == nil || !st[0].RelayStatus.RelayCatchUpMaster {
			return fmt.Errorf("relay not going on without an error: %s %+v", deref(st[0].ErrorMsg), st[0].RelayStatus)
		}
		return nil
	})
}

// killBinlogDumps kills the binlog dump threads of m (the replication connections).
func killBinlogDumps(t *testing.T, m *MariaDB) {
	t.Helper()
	ids, err := binlogDumpIDs(m.DB(t))
	require.NoError(t, err)
	require.NotEmpty(t, ids, "no binlog dump thread")
	for _, id := range ids {
		m.Exec(t, fmt.Sprintf("KILL %d", id))
	}
}

// binlogDumpIDs lists the connection ids of a server's binlog dump threads.
func binlogDumpIDs(db *sql.DB) ([]int64, error) {
	return queryColumn[int64](context.Background(), db, "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
}
