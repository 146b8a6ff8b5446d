package worker

import (
	"context"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/peer"
)

// defaultRelayDir is DM's default relay directory when neither the worker nor the source sets one.
const defaultRelayDir = "./relay_log"

// relayRunner pulls one source's binlog into this worker's relay log while the desired
// relay stage is Running.
type relayRunner struct {
	mu      sync.Mutex
	source  string
	dir     string
	spec    fsm.SourceSpec // the source spec it runs with
	relay   *relay.Relay
	cancel  context.CancelFunc
	done    chan struct{}
	lastErr string
	stage   string
}

// relayDir is where this worker keeps the relay log of source: the worker's relay-dir wins
// over the one given at start-relay (as in DM v5.4+).
func (s *Server) relayDir(src *fsm.Source) string {
	base := s.cfg.RelayDir
	if base == "" && src != nil {
		base = src.RelayDir
	}
	if base == "" {
		base = defaultRelayDir
	}
	return filepath.Join(base, src.Name)
}

// relayDirFor reports whether this worker pulls relay for source (running or paused) and where.
func (s *Server) relayDirFor(source string) (string, bool) {
	return s.relayDirNoted(source, func(bool) {})
}

// relayDirNoted is relayDirFor, with note called under the relay's lock: reconcileRelay
// cannot start or stop the relay between the answer and what note records of it.
func (s *Server) relayDirNoted(source string, note func(relayed bool)) (string, bool) {
	s.relayR.mu.Lock()
	defer s.relayR.mu.Unlock()
	relayed := s.relayR.source == source && s.relayR.relay != nil
	note(relayed)
	if !relayed {
		return "", false
	}
	return s.relayR.dir, true
}

// reconcileRelay starts, pauses or stops the relay to match the desired state.
func (s *Server) reconcileRelay(ctx context.Context, view fsm.WorkerView) {
	rr := &s.relayR
	rr.mu.Lock()
	defer rr.mu.Unlock()
	want := view.Relay != nil && view.RelaySource != nil
	if !want || (rr.source != "" && (rr.source != view.RelaySource.Name || !reflect.DeepEqual(rr.spec, view.RelaySource.Spec))) {
		rr.stopLocked()
		if rr.source != "" && (!want || rr.source != view.RelaySource.Name) {
			s.metrics.forgetUnit(relayUnitKey(rr.source))
		}
		if !want {
			rr.source, rr.relay, rr.stage = "", nil, ""
			return
		}
		rr.relay = nil
	}
	src := view.RelaySource
	if rr.relay == nil {
		st := src.Spec
		cfg, err := s.upstreamConfig(st)
		if err != nil {
			rr.lastErr = err.Error()
			s.metrics.operateError.WithLabelValues(s.cfg.Name, operationStartRelay).Inc()
			return
		}
		dir := s.relayDir(src)
		rl, err := relay.New(relay.Config{
			Dir: dir, Upstream: cfg, Flavor: st.Flavor,
			ServerID:   readerServerID("relay", src.Name, s.cfg.Name, st.ServerID),
			EnableGTID: st.EnableGTID,
			Start:      binlog.Location{File: src.RelayBinlogName, GTIDSet: src.RelayBinlogGTID},
			Hub:        s.relayHub,
			Registerer: s.metrics.unit(relayUnitKey(src.Name)), // the relay labels its series with source_id
			Logger:     s.logger,
		})
		if err != nil {
			rr.lastErr = err.Error()
			s.metrics.operateError.WithLabelValues(s.cfg.Name, operationStartRelay).Inc()
			return
		}
		rr.source, rr.dir, rr.spec, rr.relay, rr.lastErr = src.Name, dir, src.Spec, rl, ""
	}
	if view.Relay.Stage == fsm.StageRunning {
		if rr.cancel == nil {
			rctx, cancel := context.WithCancel(ctx)
			rr.cancel, rr.done, rr.stage = cancel, make(chan struct{}), stageRunning
			go s.runRelay(rctx, rr.relay, rr.done)
		}
		return
	}
	rr.stopLocked()
	rr.stage = stagePaused
}

func (rr *relayRunner) stopLocked() {
	if rr.cancel != nil {
		rr.cancel()
		<-rr.done
		rr.cancel, rr.done = nil, nil
	}
}

func (s *Server) runRelay(ctx context.Context, rl *relay.Relay, done chan struct{}) {
	defer close(done)
	wait := newBackoff()
	for ctx.Err() == nil {
		// The relay reports the error that stopped it in its Status until it makes progress
		// again (a disk that was full has room again, say): keeping a copy here would show
		// it for ever.
		began := time.Now()
		err := rl.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			wait.Reset() // it ran a good while: a new failure, not the same one again
		}
		s.logger.Warn("relay stopped; retrying", "err", err, "retry_in", wait.Next())
		wait.Wait(ctx)
	}
}

// purgeLoop removes relay files no reader needs any more, on the source's purge interval.
func (s *Server) purgeLoop(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	last := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.relayR.mu.Lock()
		dir, st, source := s.relayR.dir, s.relayR.spec, s.relayR.source
		running := s.relayR.relay != nil
		s.relayR.mu.Unlock()
		if !running {
			continue
		}
		if time.Since(last) < time.Duration(st.Purge.Interval)*time.Second {
			continue
		}
		last = time.Now()
		// With no reader the relay keeps everything (a task may still start from it).
		need := s.relayNeeds(source)
		if !need.found {
			continue
		}
		removed, err := relay.Purge(dir, need.oldest, st.Purge.Expires, st.Purge.RemainSpace, time.Now())
		if err != nil {
			s.logger.Warn("relay purge", "err", err)
		} else if len(removed) > 0 {
			s.logger.Info("relay files purged", "files", removed)
		}
	}
}

// relayStatus reports the relay for the masters.
func (s *Server) relayStatus(ctx context.Context) *peer.RelayStatus {
	s.relayR.mu.Lock()
	rl, source, dir, lastErr, stage := s.relayR.relay, s.relayR.source, s.relayR.dir, s.relayR.lastErr, s.relayR.stage
	s.relayR.mu.Unlock()
	if source == "" {
		return nil
	}
	out := &peer.RelayStatus{Source: source, Error: lastErr}
	if rl != nil {
		st := rl.Status(ctx)
		out.Status = peer.RelayLogStatus{
			MasterBinlog: st.MasterBinlog, MasterBinlogGtid: st.MasterBinlogGTID,
			RelayBinlogGtid: st.RelayBinlogGTID, RelayCatchUpMaster: st.CatchUp, RelayDir: dir, Stage: stage,
		}
		if st.LastError != "" && out.Error == "" {
			out.Error = st.LastError
		}
	}
	return out
}
