package integration

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFrozenWorkerIsFencedOut is the partition the chaos issue measured: the bound worker
// freezes (SIGSTOP, what a partition looks like from outside) past its keepalive-ttl while
// rows are written upstream, the masters bind its source to the other worker, which replays on,
// and then the frozen worker wakes up holding a batch and a checkpoint it had not written yet.
// The owner fence on the target must stop it: every table equal afterwards, the keyless one
// included (a transaction applied twice shows in its checksum and in its duplicate count).
func TestFrozenWorkerIsFencedOut(t *testing.T) {
	e := newMigrationEnv(t, 2)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.nokey (a INT, b VARCHAR(20))")
	e.src.Exec(t, "INSERT INTO shop.nokey SELECT seq % 10, 'seed' FROM shop.seq_1_to_1000")
	e.createSource("mysql-01", e.src)
	resp := e.startTask(e.task("fenced", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)

	stop := make(chan struct{})
	writerDone := startWriter(t, e.srcDB, "shop", stop)
	waitEvents := func(min int64) string {
		var on string
		Eventually(t, 60*time.Second, func() error {
			st := e.status("fenced")[0]
			if st.ErrorMsg != nil {
				return fmt.Errorf("subtask on %s: %s", st.WorkerName, *st.ErrorMsg)
			}
			if st.Unit != "Sync" || st.SyncStatus == nil || st.SyncStatus.TotalEvents < min {
				return fmt.Errorf("unit %s on %s", st.Unit, st.WorkerName)
			}
			on = st.WorkerName
			return nil
		})
		return on
	}
	first := waitEvents(200)
	frozen := e.worker(first)
	frozen.Freeze()
	Eventually(t, 30*time.Second, func() error {
		if w := e.api.bindings(e.addr)["mysql-01"]; w == "" || w == first {
			return fmt.Errorf("not rebound yet (bound to %q)", w)
		}
		return nil
	})
	second := waitEvents(200)
	require.NotEqual(t, first, second)
	frozen.Thaw()
	// The thawed worker learns it is unbound, or tries to write first and is fenced out: either
	// way it stops its subtask, and its log says which.
	Eventually(t, 30*time.Second, func() error {
		log, err := os.ReadFile(frozen.LogPath)
		if err != nil {
			return err
		}
		if strings.Contains(string(log), "source binding changed") || strings.Contains(string(log), "a newer run of this subtask owns the source") {
			return nil
		}
		return fmt.Errorf("%s has not noticed yet", first)
	})
	close(stop)
	require.NoError(t, <-writerDone)
	e.waitSynced("fenced", 120*time.Second)
	for _, w := range []*Proc{frozen, e.worker(second)} {
		log, _ := os.ReadFile(w.LogPath)
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, "killed") || strings.Contains(line, "newer run") || strings.Contains(line, "binding changed") {
				t.Logf("%s: %s", w.Name, line)
			}
		}
	}
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	var dupSrc, dupDst int
	countDup := "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) n FROM shop.nokey GROUP BY a, b) g"
	require.NoError(t, e.srcDB.QueryRow(countDup).Scan(&dupSrc))
	require.NoError(t, e.dstDB.QueryRow(countDup).Scan(&dupDst))
	require.Equal(t, dupSrc, dupDst, "duplicate rows of the keyless table: upstream %d, target %d", dupSrc, dupDst)
}

// worker is the harness's process of the named worker.
func (e *migrationEnv) worker(name string) *Proc {
	e.t.Helper()
	for _, p := range e.c.Workers {
		if p.Name == name {
			return p
		}
	}
	e.t.Fatalf("no worker %q", name)
	return nil
}
