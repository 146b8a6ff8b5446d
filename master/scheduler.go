package master

import (
	"context"
	"sort"
	"time"

	"github.com/dm-oss/dm/fsm"
)

// The scheduler runs on the leader and keeps every source served by exactly one live worker.
// Each decision is an FSM command, so a new leader simply carries on from the state.

// wakeScheduler asks for a scheduling round now rather than at the next tick.
func (s *Server) wakeScheduler() {
	select {
	case s.schedWake <- struct{}{}:
	default:
	}
}

func (s *Server) schedulerLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.schedWake:
		}
		if s.isLeader() {
			s.schedule(ctx)
		}
	}
}

// schedule unbinds sources whose worker went offline, then binds every unbound source to a
// live worker in DM's priority order.
func (s *Server) schedule(ctx context.Context) {
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	online := map[string]bool{}
	var workers []string
	for _, w := range s.state.Workers() {
		if s.live.online(w) {
			online[w.Name] = true
			workers = append(workers, w.Name)
		}
	}
	sort.Strings(workers)

	for source, worker := range s.state.Bindings() {
		if online[worker] {
			continue
		}
		if _, err := s.apply(ctx, fsm.UnbindSource{Source: source}); err != nil {
			s.logger.Warn("unbind source from offline worker", "source", source, "worker", worker, "err", err)
			continue
		}
		s.logger.Info("source unbound: its worker is offline", "source", source, "worker", worker)
	}

	bindings := s.state.Bindings()
	for _, src := range s.state.Sources() {
		if _, bound := bindings[src.Name]; bound {
			continue
		}
		worker := s.pickWorker(src, workers)
		if worker == "" {
			continue
		}
		if _, err := s.apply(ctx, fsm.BindSource{Source: src.Name, Worker: worker}); err != nil {
			s.logger.Warn("bind source", "source", src.Name, "worker", worker, "err", err)
			continue
		}
		bindings[src.Name] = worker
		s.logger.Info("source bound", "source", src.Name, "worker", worker)
	}
}

// pickWorker chooses a free online worker for an unbound source in DM's priority order: a
// worker holding an unfinished load of it (its dump files), its previous worker if it has the
// relay log, any worker with its relay log, its previous worker, then any free worker.
func (s *Server) pickWorker(src fsm.Source, online []string) string {
	var free []string
	for _, w := range online {
		if _, bound := s.state.BoundSource(w); bound {
			continue
		}
		if relay, ok := s.state.RelaySourceOf(w); ok && relay != src.Name {
			continue
		}
		free = append(free, w)
	}
	isFree := func(w string) bool {
		for _, f := range free {
			if f == w {
				return true
			}
		}
		return false
	}
	relays := func(w string) bool {
		r, ok := s.state.RelaySourceOf(w)
		return ok && r == src.Name
	}
	for _, task := range s.state.TasksOfSource(src.Name) {
		if t, ok := s.state.Task(task); ok {
			if sub := t.Subtasks[src.Name]; sub != nil && sub.LoadWorker != "" && isFree(sub.LoadWorker) {
				return sub.LoadWorker
			}
		}
	}
	if src.LastWorker != "" && isFree(src.LastWorker) && relays(src.LastWorker) {
		return src.LastWorker
	}
	for _, w := range free {
		if relays(w) {
			return w
		}
	}
	if src.LastWorker != "" && isFree(src.LastWorker) {
		return src.LastWorker
	}
	if len(free) > 0 {
		return free[0]
	}
	return ""
}
