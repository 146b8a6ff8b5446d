package worker

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// lease is the worker's side of keepalive-ttl. The masters rebind a source once its worker has
// been gone for its keepalive-ttl; a worker that no master has answered for a shorter time
// stops writing to the targets first, so that a worker cut off from the masters has stopped
// before its source can be bound elsewhere. (The owner fence on the target, binlog/syncer's
// fence.go, covers what a lease cannot: a worker frozen past it.)
//
// The lease runs from when a successful request to the masters was sent, not answered: the
// masters' clock for the worker's absence may have started then.
type lease struct {
	ttl time.Duration // keepalive-ttl less the margin a stop takes

	mu     sync.Mutex
	until  time.Time
	lapsed bool
}

func newLease(keepaliveTTL time.Duration) *lease {
	margin := max(keepaliveTTL/4, time.Second)
	return &lease{ttl: max(keepaliveTTL-margin, keepaliveTTL/2)}
}

// pollWait is how long one long-poll may block: short enough that a healthy worker renews the
// lease well before it lapses.
func (l *lease) pollWait() time.Duration { return min(desiredWait, l.ttl/3) }

// renew extends the lease after a request sent at sent succeeded. It reports whether the lease
// had lapsed (the caller then applies the desired state again, even an unchanged one).
func (l *lease) renew(sent time.Time) (wasLapsed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := sent.Add(l.ttl); until.After(l.until) {
		l.until = until
	}
	wasLapsed, l.lapsed = l.lapsed, false
	return wasLapsed
}

// expire marks the lease lapsed when it has run out by now; it reports whether it did just now.
func (l *lease) expire(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lapsed || l.until.IsZero() || now.Before(l.until) {
		return false
	}
	l.lapsed = true
	return true
}

// watchLease stops every subtask once the lease lapses; follow starts them again with the next
// desired state a master sends.
func (s *Server) watchLease(ctx context.Context) {
	tick := time.NewTicker(max(s.lease.ttl/10, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if s.lease.expire(now) {
				s.lapseSubtasks(fmt.Sprintf("no dm-master has answered for %v (keepalive-ttl %ds): stopped writing to the target until one does, so that the source is never applied by two workers",
					s.lease.ttl.Round(time.Second), s.cfg.KeepaliveTTL))
			}
		}
	}
}

// lapseSubtasks stops every running subtask, saying why in its status.
func (s *Server) lapseSubtasks(why string) {
	s.runnersMu.Lock()
	defer s.runnersMu.Unlock()
	if len(s.runners) > 0 {
		s.logger.Warn("lease lapsed: stopping every subtask", "reason", why, "subtasks", len(s.runners))
	}
	for _, r := range s.runners {
		r.lapse(why)
	}
}
