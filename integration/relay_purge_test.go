package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/fsm"
)

// dmPurgeOut is DM's answer to purge-relay: one entry per relay worker.
type dmPurgeOut struct {
	Result  bool `json:"result"`
	Sources []struct {
		Result bool   `json:"result"`
		Msg    string `json:"msg"`
		Source string `json:"source"`
		Worker string `json:"worker"`
	} `json:"sources"`
}

// TestPurgeRelayByDmctl: dmctl purge-relay on a relay log with several files removes the
// files before the one named and keeps the later ones; it never removes the file a paused
// task will read from (the purge stops there and says so) nor the one being written; the
// task goes on syncing; a bad source, a source without relay and a bad name are exit 1 with
// their code.
func TestPurgeRelayByDmctl(t *testing.T) {
	e := newMigrationEnv(t, 1)
	ctl := dmctlEnv{me: e, bound: "worker1"}
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))")
	e.src.Exec(t, "INSERT INTO shop.t (v) VALUES ('a'), ('b')")
	e.createSource("mysql-01", e.src)

	ctl.fails(t, fsm.CodeSourceNotExist, "purge-relay", "-s", "ghost", "-f", "mysql-bin.000002")
	require.Contains(t, ctl.fails(t, fsm.CodeOpenAPICommon, "purge-relay", "-s", "mysql-01", "-f", "mysql-bin.000002"), "not enabled")

	ctl.ok(t, nil, "start-relay", "-s", "mysql-01")
	dir := e.waitRelayCaughtUp("mysql-01")
	require.Equal(t, http200Task(e, "purgetask"), "local")

	require.Contains(t, ctl.fails(t, 0, "purge-relay", "-s", "mysql-01", "-f", "../mysql-bin.000002"), "relay_binlog_name")
	require.Contains(t, ctl.fails(t, fsm.CodeRequestInvalid, "purge-relay", "-s", "mysql-01", "-f", "other-bin.000002"), "other-bin")
	require.Contains(t, ctl.fails(t, fsm.CodeRequestInvalid, "purge-relay", "-s", "mysql-01", "-f", "mysql-bin.000002", "--sub-dir", "elsewhere"), "elsewhere")

	// Three rotations; the task follows to the last file.
	e.rotateWithRows(3)
	files := e.relayFilesCaughtUp("mysql-01", dir)
	require.GreaterOrEqual(t, len(files), 4, "relay files %v", files)
	last := files[len(files)-1]
	e.waitCheckpointIn("purgetask", last)

	// Purge before the next to last file: the older ones go, it and the last stay.
	keep := files[len(files)-2]
	out := ctl.purge(t, "mysql-01", keep, "--sub-dir", "mysql-01")
	require.Equal(t, "worker1", out.Sources[0].Worker)
	require.Equal(t, "purged "+strings.Join(files[:len(files)-2], ", ")+"; kept from "+keep, out.Sources[0].Msg)
	requireRelayFiles(t, dir, files[len(files)-2:], files[:len(files)-2])

	// The task pauses in the last file; three more rotations. A purge up to the newest file
	// stops at the paused task's checkpoint.
	ctl.ok(t, nil, "pause-task", "purgetask")
	e.waitStage("purgetask", "Paused", 20*time.Second)
	require.Equal(t, last, checkpointFile(e.status("purgetask")[0].SyncStatus.SyncerBinlog))
	e.rotateWithRows(3)
	files = e.relayFilesCaughtUp("mysql-01", dir)
	newest := files[len(files)-1]
	out = ctl.purge(t, "mysql-01", newest)
	require.True(t, strings.HasPrefix(out.Sources[0].Msg,
		fmt.Sprintf("purged %s; kept from %s (purged before %s only: task %q still reads from (%s, ", keep, last, last, "purgetask", last)), out.Sources[0].Msg)
	requireRelayFiles(t, dir, files[slices.Index(files, last):], []string{keep})

	// Resumed, the task reads on from the relay log and the data converges.
	ctl.ok(t, nil, "resume-task", "purgetask")
	e.src.Exec(t, "INSERT INTO shop.t (v) VALUES ('after')")
	EventuallySame(t, e.srcDB, e.dstDB, "shop", 60*time.Second)
	requireSameCount(t, e, "shop.t")

	// Past every file: the purge stops at the file the relay writes.
	e.waitCheckpointIn("purgetask", newest)
	out = ctl.purge(t, "mysql-01", "mysql-bin.999999")
	require.Contains(t, out.Sources[0].Msg, "kept from "+newest+" (purged before "+newest+" only: the relay is writing it)")
	requireRelayFiles(t, dir, []string{newest}, files[:len(files)-1])
	e.src.Exec(t, "FLUSH BINARY LOGS")
	e.src.Exec(t, "INSERT INTO shop.t (v) VALUES ('after the last purge')")
	EventuallySame(t, e.srcDB, e.dstDB, "shop", 60*time.Second)
	requireSameCount(t, e, "shop.t")
}

// purge runs dmctl purge-relay up to file and returns DM's answer (one relay worker).
func (e dmctlEnv) purge(t *testing.T, source, file string, extra ...string) dmPurgeOut {
	t.Helper()
	var out dmPurgeOut
	e.ok(t, &out, append([]string{"purge-relay", "-s", source, "-f", file}, extra...)...)
	require.True(t, out.Result)
	require.Len(t, out.Sources, 1, "%+v", out)
	require.True(t, out.Sources[0].Result)
	require.Equal(t, source, out.Sources[0].Source)
	return out
}

// http200Task starts a task of all of shop on mysql-01, waits for it to sync and returns its
// binlog type.
func http200Task(e *migrationEnv, name string) string {
	e.t.Helper()
	resp := e.startTask(e.task(name, "all", []string{"mysql-01"}, "shop"))
	require.Equal(e.t, 201, resp.Status, "%s", resp.Body)
	e.waitSynced(name, 60*time.Second)
	return e.status(name)[0].SyncStatus.BinlogType
}

// waitRelayCaughtUp waits for the source's relay to reach the upstream and returns its
// directory.
func (e *migrationEnv) waitRelayCaughtUp(source string) string {
	e.t.Helper()
	var dir string
	Eventually(e.t, 30*time.Second, func() error {
		st := e.sourceStatus(source)
		if len(st) != 1 || st[0].RelayStatus == nil || !st[0].RelayStatus.RelayCatchUpMaster {
			return fmt.Errorf("relay of %s: %+v", source, st)
		}
		dir = st[0].RelayStatus.RelayDir
		return nil
	})
	return dir
}

// rotateWithRows inserts rows and rotates the upstream binlog n times.
func (e *migrationEnv) rotateWithRows(n int) {
	e.t.Helper()
	for i := range n {
		e.src.Exec(e.t, fmt.Sprintf("INSERT INTO shop.t (v) VALUES ('r%d-1'), ('r%d-2')", i, i))
		e.src.Exec(e.t, "FLUSH BINARY LOGS")
	}
}

// relayFilesCaughtUp waits until the relay log's last file is the upstream's current binlog
// and returns the relay files.
func (e *migrationEnv) relayFilesCaughtUp(source, dir string) []string {
	e.t.Helper()
	var master string
	require.NoError(e.t, e.srcDB.QueryRow("SHOW MASTER STATUS").Scan(&master, new(int64), new(string), new(string)))
	var files []string
	Eventually(e.t, 30*time.Second, func() error {
		var err error
		if files, err = relay.ReadIndex(dir); err != nil {
			return err
		}
		if len(files) == 0 || files[len(files)-1] != master {
			return fmt.Errorf("relay files %v, upstream at %s", files, master)
		}
		return nil
	})
	e.waitRelayCaughtUp(source)
	return files
}

// waitCheckpointIn waits until the task's flushed checkpoint is in file (so that it needs no
// earlier relay file).
func (e *migrationEnv) waitCheckpointIn(task, file string) {
	e.t.Helper()
	Eventually(e.t, 30*time.Second, func() error {
		st := e.status(task)
		if len(st) != 1 || st[0].SyncStatus == nil || checkpointFile(st[0].SyncStatus.SyncerBinlog) != file {
			return fmt.Errorf("task %s checkpoint not in %s yet: %+v", task, file, st)
		}
		return nil
	})
}

// checkpointFile is the file of a syncer_binlog "(file, pos)".
func checkpointFile(loc string) string {
	f, _, _ := strings.Cut(strings.TrimPrefix(loc, "("), ",")
	return f
}

// requireRelayFiles checks the relay directory on disk and its index: present are there and
// indexed, gone are neither.
func requireRelayFiles(t *testing.T, dir string, present, gone []string) {
	t.Helper()
	idx, err := relay.ReadIndex(dir)
	require.NoError(t, err)
	for _, f := range present {
		_, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, "relay file %s must stay", f)
		require.Contains(t, idx, f)
	}
	for _, f := range gone {
		_, err := os.Stat(filepath.Join(dir, f))
		require.ErrorIs(t, err, os.ErrNotExist, "relay file %s must be gone", f)
		require.NotContains(t, idx, f)
	}
}

// requireSameCount compares the row counts of table on both sides.
func requireSameCount(t *testing.T, e *migrationEnv, table string) {
	t.Helper()
	var src, dst int
	require.NoError(t, e.srcDB.QueryRow("SELECT COUNT(*) FROM "+table).Scan(&src))
	require.NoError(t, e.dstDB.QueryRow("SELECT COUNT(*) FROM "+table).Scan(&dst))
	require.Equal(t, src, dst, "rows of %s", table)
	require.Greater(t, src, 2)
}
