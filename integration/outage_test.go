package integration

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTargetDownWhileSyncing: with the target stopped and rows written upstream, the subtask
// stays Running but says it retries (the target error, since when), is not synced, and its
// seconds_behind_master and the worker's lag gauge keep growing; when the target is back
// everything clears and the rows arrive.
func TestTargetDownWhileSyncing(t *testing.T) {
	e := syncedShopTask(t, "down")

	stopped := time.Now()
	e.dst.Stop(t)
	for i := range 20 {
		e.src.Exec(t, fmt.Sprintf("INSERT INTO shop.t VALUES (%d, 'while the target is down')", 2000+i))
	}
	e.src.Exec(t, "UPDATE shop.t SET v = 'changed' WHERE id <= 500")

	var first subtaskStatus
	var firstGauge float64
	Eventually(t, 30*time.Second, func() error {
		st := e.status("down")[0]
		gauge, err := e.lagGauge("down")
		if err != nil {
			return err
		}
		if st.Stage != "Running" || st.Unit != "Sync" || st.SyncStatus == nil {
			t.Fatalf("the subtask must keep running while it retries: %s %s, error %v", st.Stage, st.Unit, st.ErrorMsg)
		}
		if st.ErrorMsg == nil || st.SyncStatus.SecondsBehindMaster < 3 || gauge < 3 {
			return fmt.Errorf("no retry and lag in the status yet: error %v, %+v, gauge %v", st.ErrorMsg, *st.SyncStatus, gauge)
		}
		first, firstGauge = st, gauge
		return nil
	})
	requireRetryMessage(t, *first.ErrorMsg, stopped)
	require.False(t, first.SyncStatus.Synced, "synced while the target is down")
	Eventually(t, 20*time.Second, func() error {
		st := e.status("down")[0]
		gauge, err := e.lagGauge("down")
		if err != nil {
			return err
		}
		if st.ErrorMsg == nil || st.SyncStatus.Synced {
			t.Fatalf("the retry vanished from the status while the target is down: %+v", st)
		}
		if st.SyncStatus.SecondsBehindMaster <= first.SyncStatus.SecondsBehindMaster || gauge <= firstGauge {
			return fmt.Errorf("lag not growing: %d then %d, gauge %v then %v", first.SyncStatus.SecondsBehindMaster, st.SyncStatus.SecondsBehindMaster, firstGauge, gauge)
		}
		return nil
	})

	e.dst.Restart(t)
	e.waitRetryOver("down")
	e.waitSynced("down", 60*time.Second)
	Eventually(t, 10*time.Second, func() error {
		if gauge, err := e.lagGauge("down"); err != nil || gauge != 0 {
			return fmt.Errorf("lag gauge %v (%v) once synced", gauge, err)
		}
		return nil
	})
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
}

// TestTargetDownDuringLoad: the target stops in the middle of the full load; the subtask stays
// Running in Load and says it retries, then loads the rest once the target is back.
func TestTargetDownDuringLoad(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.a (id INT PRIMARY KEY, v VARCHAR(40))")
	e.src.Exec(t, "INSERT INTO shop.a SELECT seq, MD5(seq) FROM shop.seq_1_to_30000")
	e.src.Exec(t, "CREATE TABLE shop.b (id INT PRIMARY KEY, v VARCHAR(40))")
	e.src.Exec(t, "INSERT INTO shop.b SELECT seq, MD5(seq) FROM shop.seq_1_to_5000")
	e.createSource("mysql-01", e.src)

	// A gap lock over the whole (still empty) table b holds the load up on it, so that the
	// target stops while the load runs.
	var create string
	require.NoError(t, e.srcDB.QueryRow("SHOW CREATE TABLE shop.b").Scan(new(string), &create))
	e.dst.Exec(t, "CREATE DATABASE shop")
	e.dst.Exec(t, strings.Replace(create, "CREATE TABLE `b`", "CREATE TABLE shop.b", 1))
	lock, err := e.dstDB.Conn(context.Background())
	require.NoError(t, err)
	defer lock.Close()
	_, err = lock.ExecContext(context.Background(), "BEGIN")
	require.NoError(t, err)
	_, err = lock.ExecContext(context.Background(), "SELECT * FROM shop.b FOR UPDATE")
	require.NoError(t, err)

	resp := e.startTask(e.task("download", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	Eventually(t, 60*time.Second, func() error {
		st := e.status("download")[0]
		if st.Unit != "Load" {
			return fmt.Errorf("unit %q, stage %s, error %v", st.Unit, st.Stage, st.ErrorMsg)
		}
		var n int
		if err := e.dstDB.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO `shop`.`b`%' AND TIME_MS > 200").Scan(&n); err != nil || n == 0 {
			return fmt.Errorf("the load is not waiting on shop.b yet (%v)", err)
		}
		return nil
	})
	stopped := time.Now()
	e.dst.Stop(t)

	var st subtaskStatus
	Eventually(t, 30*time.Second, func() error {
		st = e.status("download")[0]
		if st.Stage != "Running" || st.Unit != "Load" {
			t.Fatalf("the subtask must keep loading while it retries: %s %s, error %v", st.Stage, st.Unit, st.ErrorMsg)
		}
		if st.ErrorMsg == nil {
			return fmt.Errorf("no retry in the status yet")
		}
		return nil
	})
	requireRetryMessage(t, *st.ErrorMsg, stopped)
	require.NotNil(t, st.LoadStatus)
	require.Less(t, st.LoadStatus.FinishedBytes, st.LoadStatus.TotalBytes)

	e.dst.Restart(t)
	e.waitRetryOver("download")
	e.waitSynced("download", 90*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
}

// TestTargetDownWhileResuming: a subtask resumed while the target is down (or restarting)
// cannot even start (its first connection, its checkpoint); it stays Running and says it
// retries its start, never Paused, and syncs what was written meanwhile once the target is back.
func TestTargetDownWhileResuming(t *testing.T) {
	e := syncedShopTask(t, "resume")
	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/resume/pause", nil).Status)
	e.waitStage("resume", "Paused", 30*time.Second)

	stopped := time.Now()
	e.dst.Stop(t)
	e.src.Exec(t, "INSERT INTO shop.t SELECT seq, 'while the target is down' FROM shop.seq_1001_to_1100")
	e.src.Exec(t, "DELETE FROM shop.t WHERE id <= 100")
	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/resume/resume", nil).Status)

	// Several attempts (a second, two, four, five apart) while the target stays down.
	retrying := 0
	Eventually(t, 30*time.Second, func() error {
		st := e.status("resume")[0]
		if st.Stage == "Paused" && st.ErrorMsg == nil {
			return fmt.Errorf("the worker has not taken the resume yet")
		}
		if st.Stage != "Running" {
			t.Fatalf("the subtask must keep retrying its start: %s %s, error %v", st.Stage, st.Unit, deref(st.ErrorMsg))
		}
		if st.ErrorMsg == nil {
			return fmt.Errorf("no retry in the status yet")
		}
		requireStartRetryMessage(t, *st.ErrorMsg, stopped)
		if retrying++; time.Since(stopped) < 12*time.Second {
			return fmt.Errorf("still retrying after %v (%d polls), as it should", time.Since(stopped), retrying)
		}
		return nil
	})

	e.dst.Restart(t)
	e.waitRetryOver("resume")
	e.waitSynced("resume", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
}

var startRetryMessageRE = regexp.MustCompile(`^retrying the start of the subtask since (\S+) \(it pauses if this lasts 5m0s\): (.+)$`)

// requireStartRetryMessage checks the error_msg of a subtask retrying its start: since when
// (not before the target stopped) and the target's error.
func requireStartRetryMessage(t *testing.T, msg string, stopped time.Time) {
	t.Helper()
	cause, _ := retryingSince(t, startRetryMessageRE, msg, stopped)
	require.Contains(t, cause, "target", "error_msg %q", msg)
	require.Contains(t, cause, "connection refused", "error_msg %q", msg)
}

// retryingSince parses a retry's error_msg with re (since, then the error) and checks that
// the retry began no earlier than the target stopped; it returns the error and since.
func retryingSince(t *testing.T, re *regexp.Regexp, msg string, stopped time.Time) (string, time.Time) {
	t.Helper()
	m := re.FindStringSubmatch(msg)
	require.NotNil(t, m, "error_msg %q", msg)
	since, err := time.Parse(time.RFC3339, m[1])
	require.NoError(t, err, "error_msg %q", msg)
	require.False(t, since.Before(stopped.Truncate(time.Second)), "retrying since %v, but the target stopped at %v", since, stopped)
	return m[2], since
}

// waitRetryOver waits until the subtasks no longer report a retry once the target is back
// (their next attempt is at most a backoff of 5 s away), running all along.
func (e *migrationEnv) waitRetryOver(task string) {
	e.t.Helper()
	Eventually(e.t, 20*time.Second, func() error {
		for _, st := range e.status(task) {
			if st.Stage != "Running" {
				e.t.Fatalf("subtask %s/%s is %s: %v", st.Name, st.SourceName, st.Stage, st.ErrorMsg)
			}
			if st.ErrorMsg != nil {
				return fmt.Errorf("still retrying: %s", *st.ErrorMsg)
			}
		}
		return nil
	})
}

var retryMessageRE = regexp.MustCompile(`^retrying a target error since (\S+) \(the subtask pauses if it lasts 5m0s\): (.+)$`)

// requireRetryMessage checks an error_msg of a retrying subtask: since when (not before the
// target stopped, and at least a second ago), and the target's error.
func requireRetryMessage(t *testing.T, msg string, stopped time.Time) {
	t.Helper()
	cause, since := retryingSince(t, retryMessageRE, msg, stopped)
	require.True(t, since.Before(time.Now()), "retrying since %v", since)
	require.True(t, strings.Contains(cause, "connection refused") || strings.Contains(cause, "shutdown") ||
		strings.Contains(cause, "bad connection") || strings.Contains(cause, "invalid connection"), "the target error: %s", cause)
}

var lagGaugeRE = regexp.MustCompile(`(?m)^dm_syncer_replication_lag_gauge\{([^}]*)\} (\S+)$`)

// lagGauge reads the task's dm_syncer_replication_lag_gauge from the worker's /metrics.
func (e *migrationEnv) lagGauge(task string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := Call(ctx, http.MethodGet, e.c.Workers[0].APIAddr, "/metrics", nil)
	if err != nil {
		return 0, err
	}
	for _, m := range lagGaugeRE.FindAllStringSubmatch(string(resp.Body), -1) {
		if strings.Contains(m[1], `task="`+task+`"`) {
			return strconv.ParseFloat(m[2], 64)
		}
	}
	return 0, fmt.Errorf("no dm_syncer_replication_lag_gauge for task %s", task)
}
