package worker

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/dm-oss/dm/restapi/peer"
)

func (s *Server) relayRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+peer.PathRelayPrefix+"{source}/purge", s.handleRelayPurge)
}

// relayNeed is what the subtasks of a source on this worker still need of its relay log.
type relayNeed struct {
	oldest binlog.Location // the oldest location a sync unit may still read
	task   string          // the task whose sync unit needs oldest
	found  bool            // some sync unit needs something
	// pending are the subtasks that will read the relay log from a position not known yet
	// (they dump or load, or have not started): "task (unit)".
	pending []string
}

// relayNeeds collects what the subtasks of source need of the relay log.
func (s *Server) relayNeeds(source string) relayNeed {
	s.runnersMu.Lock()
	defer s.runnersMu.Unlock()
	var n relayNeed
	for _, r := range s.runners {
		if r.source != source || r.spec.Mode == fsm.TaskModeFull {
			continue
		}
		r.mu.Lock()
		sy, unit := r.syncer, r.unit
		r.mu.Unlock()
		if sy == nil {
			n.pending = append(n.pending, fmt.Sprintf("%s (%s)", r.task, orNone(unit)))
			continue
		}
		loc := sy.Status().NeededFrom
		if !n.found || readsBefore(loc, n.oldest) {
			n.oldest, n.task, n.found = loc, r.task, true
		}
	}
	return n
}

// readsBefore orders the positions sync units need; one without a file (a GTID set only)
// comes first: the purge then locates it in the relay files.
func readsBefore(a, b binlog.Location) bool {
	if a.File == "" || b.File == "" {
		return a.File == "" && b.File != ""
	}
	c := binlog.CompareFileNames(a.File, b.File)
	return c < 0 || (c == 0 && a.Pos < b.Pos)
}

// handleRelayPurge removes the relay files of a source before a file (DM's purge-relay),
// keeping what the subtasks here still read.
func (s *Server) handleRelayPurge(w http.ResponseWriter, r *http.Request) {
	source := r.PathValue("source")
	var req peer.RelayPurgeRequest
	if err := apierr.DecodeJSON(r, &req); err != nil {
		apierr.WriteError(w, err)
		return
	}
	res, err := s.purgeRelay(source, req)
	if err != nil {
		apierr.WriteError(w, err)
		return
	}
	apierr.WriteJSON(w, http.StatusOK, res)
}

func (s *Server) purgeRelay(source string, req peer.RelayPurgeRequest) (peer.RelayPurgeResult, error) {
	dir, ok := s.relayDirFor(source)
	if !ok {
		return peer.RelayPurgeResult{}, apierr.Errorf(http.StatusBadRequest, fsm.CodeOpenAPICommon,
			"worker %q does not pull the relay log of source %q: start relay first", s.cfg.Name, source)
	}
	if d := strings.TrimSpace(req.RelayDir); d != "" && d != dir && d != filepath.Base(dir) {
		return peer.RelayPurgeResult{}, apierr.Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid,
			"relay_dir %q is not the relay log of source %q on worker %q: it is %s", d, source, s.cfg.Name, dir)
	}
	need := s.relayNeeds(source)
	if len(need.pending) > 0 {
		return peer.RelayPurgeResult{}, apierr.Errorf(http.StatusBadRequest, fsm.CodeOpenAPICommon,
			"purging the relay log of source %q is refused on worker %q while subtask(s) %s have not reached the Sync unit: "+
				"they will read it from a position not known yet", source, s.cfg.Name, strings.Join(need.pending, ", "))
	}
	pr, err := relay.PurgeBefore(dir, strings.TrimSpace(req.RelayBinlogName), need.oldest)
	if errors.Is(err, relay.ErrBadPurgeTarget) {
		return peer.RelayPurgeResult{}, apierr.Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "relay_binlog_name: %v", err)
	}
	if err != nil {
		return peer.RelayPurgeResult{}, fmt.Errorf("purge the relay log of source %q on worker %q: %w", source, s.cfg.Name, err)
	}
	out := peer.RelayPurgeResult{WorkerName: s.cfg.Name, RelayDir: dir, PurgedFiles: pr.Removed, KeptFrom: pr.KeptFrom}
	if out.PurgedFiles == nil {
		out.PurgedFiles = []string{}
	}
	switch pr.CappedBy {
	case relay.StopReader:
		out.Msg = fmt.Sprintf("purged before %s only: task %q still reads from %s", pr.KeptFrom, need.task, need.oldest)
	case relay.StopActive:
		out.Msg = fmt.Sprintf("purged before %s only: the relay is writing it", pr.KeptFrom)
	}
	if len(pr.Removed) > 0 {
		s.logger.Info("relay files purged by request", "source", source, "before", req.RelayBinlogName, "files", pr.Removed)
	}
	return out, nil
}
