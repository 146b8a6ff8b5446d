package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/peer"
)

// dumpDir is where this worker keeps the dump of a task's subtask: <data_dir>/<task>/<source>,
// a relative data_dir being taken inside the worker's data-dir (never the process's working
// directory). The source is part of the path so that a worker rebound to another source of the
// same task never takes the first source's dump for its own.
func (s *Server) dumpDir(spec fsm.TaskSpec, task, source string) (string, error) {
	for _, name := range []string{task, source} {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
			return "", fmt.Errorf("task %q, source %q: not usable as directory names", task, source)
		}
	}
	base := spec.Full.DataDir
	if base == "" {
		base = "."
	}
	if !filepath.IsAbs(base) {
		if !filepath.IsLocal(base) {
			return "", fmt.Errorf("full_migrate_conf.data_dir %q leaves the worker's data directory: use a path inside it, or an absolute one", base)
		}
		base = filepath.Join(s.res.dataDir, base)
	}
	return filepath.Join(base, task, source), nil
}

// cleanDumpFiles removes the subtask's dump once the load no longer needs it, unless the task
// keeps dump files (clean_dump_file: false). A failure is logged: the task goes on.
func (r *runner) cleanDumpFiles() {
	if r.spec.KeepDumpFiles {
		return
	}
	r.s.removeDump(r.spec, r.task, r.source)
}

// removeDump deletes a subtask's dump directory, and the task's directory above it once empty.
// The metadata goes first, so an interrupted removal never looks like a finished dump.
func (s *Server) removeDump(spec fsm.TaskSpec, task, source string) {
	dir, err := s.dumpDir(spec, task, source)
	if err != nil {
		return // nothing was ever written there
	}
	err = os.Remove(filepath.Join(dir, dump.MetadataFile))
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		err = os.RemoveAll(dir)
	}
	if err != nil {
		s.logger.Warn("could not remove dump files", "task", task, "source", source, "dir", dir, "err", err)
		return
	}
	// Fails harmlessly while another source's dump of the task is still there.
	_ = os.Remove(filepath.Dir(dir))
}

// forgetSubtask drops what a subtask removed from this worker leaves behind: its metric
// series always, its dump files when the task (or this source of it) was deleted.
func (s *Server) forgetSubtask(r *runner, deleted bool) {
	s.metrics.forgetSubtask(r.task, r.source)
	if deleted {
		s.removeDump(r.spec, r.task, r.source)
		s.logger.Info("subtask deleted; its series and dump files are removed", "task", r.task, "source", r.source)
	}
}

// dumpStatus is DM's dump_status.
func dumpStatus(p dump.Progress) *peer.DumpStatus {
	return &peer.DumpStatus{
		TotalTables: p.TotalTables, CompletedTables: float64(p.CompletedTables),
		FinishedBytes: float64(p.FinishedBytes), FinishedRows: float64(p.FinishedRows),
		EstimateTotalRows: float64(p.EstimateTotalRows), Bps: p.BPS,
		Progress: fmt.Sprintf("%.2f %%", p.Percent()),
	}
}
