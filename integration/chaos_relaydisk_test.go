package integration

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// chaosRelayFSLarge is the size of the tmpfs holding the workers' relay directories (mounted
// like the dump one, before the workers start); the relay-disk-full fault shrinks it to a
// little above what is used, chaosRelayFSHeadroom, which the traffic fills within seconds.
const (
	chaosRelayFSLarge    = "256m"
	chaosRelayFSHeadroom = 64 << 10
)

// faultRelayDiskFull: the relay log of a random source starts on its bound worker, the main
// task's subtask switches to reading it (binlog_type local), then the relay's file system is
// shrunk so that the next upstream writes do not fit. The source's status must say the disk
// is full (no space left on device) and the subtask must not say it is synced while the relay
// is stuck. With the space back the relay must go on by itself (no resume), the subtask with
// it; then the relay stops again and the subtask reads the upstream, as before the round. The
// round's checks then compare every table: a relay file cut short must not have lost or
// repeated a transaction.
func faultRelayDiskFull(e *chaosEnv, _ chaosConfig) string {
	s := e.randomSource()
	worker := e.boundWorker(s.name)
	dir := filepath.Join(e.relayDir, worker, s.name)
	e.relayOp(s, "start-relay", worker)
	started := e.sourcePositions(30 * time.Second)
	e.waitRelayed(s, worker, started[s.name], "local", 60*time.Second)

	size := e.shrinkRelayFS()
	var full, lag string
	Eventually(e.t, 60*time.Second, func() error {
		rs, err := e.relayEntry(s, worker)
		if err != nil {
			return err
		}
		if msg := deref(rs.ErrorMsg); !strings.Contains(strings.ToLower(msg), "no space left on device") {
			return fmt.Errorf("the relay of %s on %s does not say its disk is full: error %q, relay %+v", s.name, worker, msg, rs.RelayStatus)
		}
		full = deref(rs.ErrorMsg)
		st, err := e.subtaskOf(s)
		if err != nil {
			return err
		}
		if ss := st.SyncStatus; ss == nil || ss.Synced || ss.SecondsBehindMaster < 1 {
			return fmt.Errorf("the relay of %s is stuck, yet its subtask says %+v", s.name, ss)
		}
		lag = fmt.Sprintf("%d s", st.SyncStatus.SecondsBehindMaster)
		return nil
	})

	mountCmd(e, "-o", "remount,size="+chaosRelayFSLarge, e.relayDir)
	healed := e.sourcePositions(30 * time.Second)
	e.waitRelayed(s, worker, healed[s.name], "local", 60*time.Second)

	e.relayOp(s, "stop-relay", worker)
	e.waitRelayed(s, worker, 0, "remote", 60*time.Second)
	if err := os.RemoveAll(dir); err != nil {
		e.t.Fatalf("chaos: remove the stopped relay log %s: %v", dir, err)
	}
	first, _, _ := strings.Cut(strings.ReplaceAll(full, e.relayDir, "<relayfs>"), "\n")
	return fmt.Sprintf("relayed %s on %s, its disk shrunk to %d bytes: %q, subtask not synced (lag %s); went on by itself with the space back, relay stopped", s.name, worker, size, first, lag)
}

// relayOp starts or stops the relay of s on worker.
func (e *chaosEnv) relayOp(s *chaosSource, op, worker string) {
	e.t.Helper()
	resp := e.mustCall(http.MethodPost, "/api/v1/sources/"+s.name+"/"+op, map[string]any{"worker_name_list": []string{worker}})
	if resp.Status != http.StatusOK {
		e.t.Fatalf("chaos: %s of %s on %s: %d %s", op, s.name, worker, resp.Status, resp.Body)
	}
}

// waitRelayed waits until the main task's subtask of s runs in Sync reading binlogType, and,
// when it reads the relay log, the relay on worker runs without an error and holds the
// source's GTID seq from (a relay stopped has no status any more).
func (e *chaosEnv) waitRelayed(s *chaosSource, worker string, from int64, binlogType string, timeout time.Duration) {
	e.t.Helper()
	Eventually(e.t, timeout, func() error {
		rs, err := e.relayEntry(s, worker)
		if err != nil {
			return err
		}
		if rs.ErrorMsg != nil {
			return fmt.Errorf("relay of %s on %s: %s", s.name, worker, *rs.ErrorMsg)
		}
		if relayed := rs.RelayStatus != nil; relayed != (binlogType == "local") {
			return fmt.Errorf("relay of %s on %s: %+v", s.name, worker, rs.RelayStatus)
		}
		if r := rs.RelayStatus; r != nil && (r.Stage != "Running" || gtidSeq(r.RelayBinlogGtid) < from) {
			return fmt.Errorf("relay of %s on %s is %s at %s, short of %d", s.name, worker, r.Stage, r.RelayBinlogGtid, from)
		}
		st, err := e.subtaskOf(s)
		if err != nil {
			return err
		}
		if st.Stage != "Running" || st.Unit != "Sync" || st.ErrorMsg != nil || st.SyncStatus == nil || st.SyncStatus.BinlogType != binlogType {
			return fmt.Errorf("%s on %s: %s %s, error %q, sync %+v; want it reading %s", s.name, st.WorkerName, st.Stage, st.Unit, deref(st.ErrorMsg), st.SyncStatus, binlogType)
		}
		return nil
	})
}

// relayEntry is the status entry of s on worker.
func (e *chaosEnv) relayEntry(s *chaosSource, worker string) (relaySourceStatus, error) {
	resp, err := e.call(http.MethodGet, "/api/v1/sources/"+s.name+"/status", nil)
	if err != nil {
		return relaySourceStatus{}, err
	}
	var l listResp[relaySourceStatus]
	if err := resp.JSON(&l); err != nil {
		return relaySourceStatus{}, fmt.Errorf("status of %s: %d %s: %w", s.name, resp.Status, resp.Body, err)
	}
	for _, rs := range l.Data {
		if rs.WorkerName == worker {
			return rs, nil
		}
	}
	return relaySourceStatus{}, fmt.Errorf("status of %s has no entry for %s: %s", s.name, worker, resp.Body)
}

// subtaskOf is the main task's subtask of s.
func (e *chaosEnv) subtaskOf(s *chaosSource) (subtaskStatus, error) {
	sts, _, err := e.status(chaosTask)
	if err != nil {
		return subtaskStatus{}, err
	}
	for _, st := range sts {
		if st.SourceName == s.name {
			return st, nil
		}
	}
	return subtaskStatus{}, fmt.Errorf("no subtask of %s: %+v", s.name, sts)
}

// shrinkRelayFS remounts the relay tmpfs at what it uses plus chaosRelayFSHeadroom and returns
// that size. The relay writes meanwhile, so a remount below the use it reached (EINVAL) is
// measured and tried again.
func (e *chaosEnv) shrinkRelayFS() int64 {
	e.t.Helper()
	var errs []error
	for range 5 {
		var st syscall.Statfs_t
		if err := syscall.Statfs(e.relayDir, &st); err != nil {
			e.t.Fatalf("chaos: statfs %s: %v", e.relayDir, err)
		}
		size := (int64(st.Blocks-st.Bfree)*st.Bsize + chaosRelayFSHeadroom + 4095) &^ 4095
		out, err := exec.Command("mount", "-o", fmt.Sprintf("remount,size=%d", size), e.relayDir).CombinedOutput()
		if err == nil {
			return size
		}
		errs = append(errs, fmt.Errorf("size %d: %w: %s", size, err, out))
	}
	e.t.Fatalf("chaos: shrink %s: %v", e.relayDir, errors.Join(errs...))
	return 0
}
