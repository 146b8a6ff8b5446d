package integration

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

type relaySourceStatus struct {
	SourceName  string  `json:"source_name"`
	WorkerName  string  `json:"worker_name"`
	ErrorMsg    *string `json:"error_msg"`
	RelayStatus *struct {
		MasterBinlog       string `json:"master_binlog"`
		MasterBinlogGtid   string `json:"master_binlog_gtid"`
		RelayDir           string `json:"relay_dir"`
		RelayBinlogGtid    string `json:"relay_binlog_gtid"`
		RelayCatchUpMaster bool   `json:"relay_catch_up_master"`
		Stage              string `json:"stage"`
	} `json:"relay_status"`
}

func (e *migrationEnv) sourceStatus(source string) []relaySourceStatus {
	e.t.Helper()
	var l listResp[relaySourceStatus]
	resp := e.api.call(http.MethodGet, e.addr, "/api/v1/sources/"+source+"/status", nil)
	require.Equal(e.t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.NoError(e.t, resp.JSON(&l))
	return l.Data
}

// TestRelayAPIAndTaskOnRelay: relay on two workers (one bound, one free → stage relay),
// status, pause/resume, error codes, and a task reading from the relay log.
func TestRelayAPIAndTaskOnRelay(t *testing.T) {
	e := newMigrationEnv(t, 3)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(20))")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (1, 'a')")
	e.createSource("mysql-01", e.src)
	bound := e.api.bindings(e.addr)["mysql-01"]
	var free []string
	for _, w := range []string{"worker1", "worker2", "worker3"} {
		if w != bound {
			free = append(free, w)
		}
	}

	requireAPIError(t, e.api.call(http.MethodPost, e.addr, "/api/v1/sources/ghost/start-relay", map[string]any{"worker_name_list": []string{bound}}), 400, fsm.CodeSourceNotExist)
	requireAPIError(t, e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/start-relay", map[string]any{"worker_name_list": []string{"ghost"}}), 400, fsm.CodeWorkerNotExist)
	requireAPIError(t, e.api.call(http.MethodPost, e.addr, "/api/v1/sources/ghost/pause-relay", nil), 400, fsm.CodeRelayStageSourceNotExist)

	resp := e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/start-relay", map[string]any{"worker_name_list": []string{bound, free[0]}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	Eventually(t, 10*time.Second, func() error {
		st, err := workerStages(e.addr)
		if err != nil {
			return err
		}
		if st[bound] != "bound" || st[free[0]] != "relay" || st[free[1]] != "free" {
			return fmt.Errorf("stages %v", st)
		}
		return nil
	})
	// A second source cannot use a worker that relays mysql-01.
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/sources", map[string]any{
		"source_name": "mysql-02", "host": e.src.Host(), "port": e.src.Port(), "user": e.src.User(), "password": e.src.Password(), "enable_gtid": true,
	})
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	Eventually(t, 10*time.Second, func() error {
		if e.api.bindings(e.addr)["mysql-02"] != free[1] {
			return fmt.Errorf("mysql-02 not on %s", free[1])
		}
		return nil
	})
	requireAPIError(t, e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-02/start-relay", map[string]any{"worker_name_list": []string{free[0]}}), 400, fsm.CodeRelayWorkerBusy)
	requireAPIError(t, e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-02/start-relay", map[string]any{"worker_name_list": []string{bound}}), 400, fsm.CodeRelayWorkerWrongBound)
	requireAPIError(t, e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-02/stop-relay", map[string]any{"worker_name_list": []string{free[0]}}), 400, fsm.CodeRelayWorkerWrongRelay)
	requireAPIError(t, e.api.call(http.MethodDelete, e.addr, "/api/v1/sources/mysql-01?force=true", nil), 400, fsm.CodeSourceHasRelayWorkers)

	// Both relay workers catch up and say so.
	e.src.Exec(t, "INSERT INTO shop.t VALUES (2, 'b')")
	Eventually(t, 30*time.Second, func() error {
		st := e.sourceStatus("mysql-01")
		if len(st) != 2 {
			return fmt.Errorf("want 2 entries, got %+v", st)
		}
		for _, s := range st {
			if s.ErrorMsg != nil {
				return fmt.Errorf("%s: %s", s.WorkerName, *s.ErrorMsg)
			}
			if s.RelayStatus == nil || !s.RelayStatus.RelayCatchUpMaster || s.RelayStatus.Stage != "Running" {
				return fmt.Errorf("%s relay %+v", s.WorkerName, s.RelayStatus)
			}
		}
		return nil
	})

	// A task on the source reads the relay log (binlog_type local).
	resp = e.startTask(e.task("onrelay", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced("onrelay", 60*time.Second)
	require.Equal(t, "local", e.status("onrelay")[0].SyncStatus.BinlogType)

	// Pause relay: the stage says so and rows stop flowing; resume: they arrive.
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/pause-relay", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	Eventually(t, 10*time.Second, func() error {
		for _, s := range e.sourceStatus("mysql-01") {
			if s.RelayStatus == nil || s.RelayStatus.Stage != "Paused" {
				return fmt.Errorf("%s relay %+v", s.WorkerName, s.RelayStatus)
			}
		}
		return nil
	})
	e.src.Exec(t, "INSERT INTO shop.t VALUES (3, 'c')")
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/resume-relay", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	EventuallySame(t, e.srcDB, e.dstDB, "shop", 30*time.Second)

	// Stop relay on the free worker: it goes back to free.
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/stop-relay", map[string]any{"worker_name_list": []string{free[0]}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	Eventually(t, 10*time.Second, func() error {
		st, err := workerStages(e.addr)
		if err != nil {
			return err
		}
		if st[free[0]] != "free" {
			return fmt.Errorf("stages %v", st)
		}
		return nil
	})
}
