package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// chaosMonitor polls the main task's status all along. The task "failed as a whole" when a
// master answers that it does not exist, or when every subtask is Paused with an error at the
// same moment, an error other than the worker lease's: that is what an operator would see as
// the task having failed. The lease's pause ("no dm-master has answered ...") is the designed
// reaction to losing every master and lifts with the next answer; it is counted with the
// transient errors. A subtask that shows a retrying error_msg, or one Paused with an error while
// the other runs, is transient as long as the round's recovery check finds it Running again
// (a subtask that never recovers fails the round).
type chaosMonitor struct {
	mu       sync.Mutex
	failures []string
	errors   map[string]int // error messages seen, by first line
	cancel   context.CancelFunc
	done     chan struct{}
}

func startChaosMonitor(e *chaosEnv) *chaosMonitor {
	ctx, cancel := context.WithCancel(context.Background())
	m := &chaosMonitor{errors: map[string]int{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			m.observe(e)
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return m
}

func (m *chaosMonitor) observe(e *chaosEnv) {
	sts, code, err := e.status(chaosTask)
	m.mu.Lock()
	defer m.mu.Unlock()
	if code == http.StatusNotFound {
		m.failures = append(m.failures, fmt.Sprintf("%s: the task is gone: %v", time.Now().Format(time.TimeOnly), err))
		return
	}
	if err != nil || len(sts) == 0 {
		return // no master answered: they are being killed
	}
	pausedWithError := 0
	for _, st := range sts {
		if st.ErrorMsg != nil {
			first, _, _ := strings.Cut(*st.ErrorMsg, "\n")
			if len(first) > 160 {
				first = first[:160]
			}
			m.errors[st.Stage+": "+first]++
			if st.Stage == "Paused" && !strings.Contains(*st.ErrorMsg, chaosLeaseMessage) {
				pausedWithError++
			}
		}
	}
	if pausedWithError == len(sts) {
		var what []string
		for _, st := range sts {
			what = append(what, fmt.Sprintf("%s on %s: %s", st.SourceName, st.WorkerName, deref(st.ErrorMsg)))
		}
		m.failures = append(m.failures, fmt.Sprintf("%s: every subtask Paused with an error: %s", time.Now().Format(time.TimeOnly), strings.Join(what, "; ")))
	}
}

// chaosLeaseMessage starts the status of a subtask the worker lease stopped (worker/lease.go).
const chaosLeaseMessage = "no dm-master has answered"

func (m *chaosMonitor) stop() {
	m.cancel()
	<-m.done
}

func (m *chaosMonitor) report() (failures []string, errs map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.failures...), m.errors
}

// waitRecovered polls until every subtask of the main task is Running in Sync without an
// error and has replayed at least what each source had written when the fault was healed
// (healed: source name => GTID seq); it returns how long that took. Traffic keeps running.
func (e *chaosEnv) waitRecovered(healed map[string]int64, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var last error
	for time.Since(start) < timeout {
		last = e.recovered(healed)
		if last == nil {
			return time.Since(start), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("not recovered within %s: %w", timeout, last)
}

func (e *chaosEnv) recovered(healed map[string]int64) error {
	sts, _, err := e.status(chaosTask)
	if err != nil {
		return err
	}
	if len(sts) != len(e.sources) {
		return fmt.Errorf("%d subtasks", len(sts))
	}
	for _, st := range sts {
		if st.Stage != "Running" || st.Unit != "Sync" || st.SyncStatus == nil || st.ErrorMsg != nil {
			return fmt.Errorf("%s on %s: %s %s, error %v", st.SourceName, st.WorkerName, st.Stage, st.Unit, deref(st.ErrorMsg))
		}
		if got := gtidSeq(st.SyncStatus.SyncerBinlogGtid); got < healed[st.SourceName] {
			return fmt.Errorf("%s on %s: replayed up to %d, the source was at %d when healed", st.SourceName, st.WorkerName, got, healed[st.SourceName])
		}
	}
	return nil
}

// sourcePositions is each source's GTID seq now, retried while an upstream restarts.
func (e *chaosEnv) sourcePositions(timeout time.Duration) map[string]int64 {
	e.t.Helper()
	out := map[string]int64{}
	Eventually(e.t, timeout, func() error {
		for _, s := range e.sources {
			pos, err := s.gtidPos()
			if err != nil {
				return err
			}
			out[s.name] = gtidSeq(pos)
		}
		return nil
	})
	return out
}

// waitAllSynced polls (traffic stopped) until every subtask is synced at its source's exact
// GTID position.
func (e *chaosEnv) waitAllSynced(timeout time.Duration) error {
	start := time.Now()
	var last error
	for time.Since(start) < timeout {
		if last = e.allSynced(); last == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not synced within %s: %w", timeout, last)
}

func (e *chaosEnv) allSynced() error {
	sts, _, err := e.status(chaosTask)
	if err != nil {
		return err
	}
	for _, st := range sts {
		pos, err := e.source(st.SourceName).gtidPos()
		if err != nil {
			return err
		}
		ss := st.SyncStatus
		if st.Stage != "Running" || st.Unit != "Sync" || ss == nil || st.ErrorMsg != nil {
			return fmt.Errorf("%s on %s: %s %s, error %v", st.SourceName, st.WorkerName, st.Stage, st.Unit, deref(st.ErrorMsg))
		}
		if !ss.Synced || ss.SyncerBinlogGtid != pos {
			return fmt.Errorf("%s on %s: synced %v, syncer at %q %s, master at %q %s, source at %q", st.SourceName, st.WorkerName, ss.Synced, ss.SyncerBinlogGtid, ss.SyncerBinlog, ss.MasterBinlogGtid, ss.MasterBinlog, pos)
		}
	}
	return nil
}

// chaosCompare is one comparison of every table.
type chaosCompare struct {
	rows, lost, duplicated int64
	diffs                  []error
}

// compareAll compares every table of every source with the target: row counts and CHECKSUM
// TABLE, and for the keyless table the rows repeated (SUM(n-1) grouped by every column).
func (e *chaosEnv) compareAll() chaosCompare {
	ctx := e.t.Context()
	var out chaosCompare
	for _, s := range e.sources {
		for _, tbl := range []string{"sbtest1", "sbtest2", "nokey", "unk"} {
			name := s.schema + "." + tbl
			n1, err1 := Count(ctx, s.pool, name)
			n2, err2 := Count(ctx, e.dstPool, name)
			if err := errors.Join(err1, err2); err != nil {
				out.diffs = append(out.diffs, err)
				continue
			}
			out.rows += n1
			if n1 > n2 {
				out.lost += n1 - n2
			}
			if tbl == "nokey" {
				d1, d2, err := e.duplicates(s, name)
				if err != nil {
					out.diffs = append(out.diffs, err)
				} else if d2 > d1 {
					out.duplicated += d2 - d1
				}
			} else if n2 > n1 {
				out.duplicated += n2 - n1
			}
			if err := CompareTable(ctx, s.pool, name, e.dstPool, name); err != nil {
				out.diffs = append(out.diffs, err)
			}
		}
	}
	return out
}

func (e *chaosEnv) duplicates(s *chaosSource, table string) (src, dst int64, err error) {
	q := "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) n FROM " + table + " GROUP BY a, b) g"
	if err := s.pool.QueryRowContext(e.t.Context(), q).Scan(&src); err != nil {
		return 0, 0, fmt.Errorf("duplicates of %s upstream: %w", table, err)
	}
	if err := e.dstPool.QueryRowContext(e.t.Context(), q).Scan(&dst); err != nil {
		return 0, 0, fmt.Errorf("duplicates of %s on the target: %w", table, err)
	}
	return src, dst, nil
}

// waitSyncedEqual waits until task's single subtask is Running in Sync without an error and
// table is equal on the source and the target.
func (e *chaosEnv) waitSyncedEqual(task string, s *chaosSource, table string, timeout time.Duration) {
	e.t.Helper()
	Eventually(e.t, timeout, func() error {
		sts, _, err := e.status(task)
		if err != nil || len(sts) != 1 {
			return fmt.Errorf("status of %s: %v", task, err)
		}
		if st := sts[0]; st.Stage != "Running" || st.Unit != "Sync" || st.ErrorMsg != nil {
			return fmt.Errorf("%s is %s in %s, error %q", task, st.Stage, st.Unit, deref(st.ErrorMsg))
		}
		return CompareTable(e.t.Context(), s.pool, table, e.dstPool, table)
	})
}

// waitRebound waits until s is bound to a worker other than from, and returns that worker.
func (e *chaosEnv) waitRebound(s *chaosSource, from string, timeout time.Duration) string {
	e.t.Helper()
	var next string
	Eventually(e.t, timeout, func() error {
		b, err := e.bindings()
		if err != nil {
			return err
		}
		if next = b[s.name]; next == "" || next == from {
			return fmt.Errorf("%s not rebound yet (bound to %q)", s.name, next)
		}
		return nil
	})
	return next
}
