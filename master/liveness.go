package master

import (
	"sync"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/membership"
)

// liveness decides whether a registered worker is online. DM's rule is that a worker goes
// offline once it has been gone for its keepalive-ttl (a lease), or at once when it left on
// purpose. Gone means either of two things here: gossip lost it, or it has not reached the
// leader itself (a desired-state poll, its registration) for its keepalive-ttl. Gossip alone
// is not enough: a worker cut off from the masters but not from the other workers stays alive
// in gossip through their indirect probes, while its own lease stops its subtasks; its source
// would have no writer until gossip gave up on it.
type liveness struct {
	pool *membership.Pool
	now  func() time.Time

	mu sync.Mutex
	// since is when this node started watching: a worker it never saw is given its TTL from
	// then, as a new leader in DM waits for leases it cannot see.
	since time.Time
	lost  map[string]lostWorker
	// contact is when each worker last reached this master itself.
	contact map[string]time.Time
}

type lostWorker struct {
	at       time.Time
	graceful bool
}

func newLiveness(pool *membership.Pool, now func() time.Time) *liveness {
	return &liveness{pool: pool, now: now, since: now(), lost: map[string]lostWorker{}, contact: map[string]time.Time{}}
}

// resetClock restarts the grace period for workers not seen yet; called on winning leadership.
func (l *liveness) resetClock() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.since = l.now()
}

func (l *liveness) observe(ev membership.Event) {
	if ev.Member.Role != membership.RoleWorker {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev.Type {
	case membership.EventJoin, membership.EventUpdate:
		delete(l.lost, ev.Member.Name)
	case membership.EventFailed, membership.EventLeft:
		l.lost[ev.Member.Name] = lostWorker{at: l.now(), graceful: ev.Type == membership.EventLeft}
	}
}

// heardFrom records that the worker reached this master itself, an authenticated request of
// its own.
func (l *liveness) heardFrom(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.contact[name] = l.now()
}

// online reports whether the worker counts as alive.
func (l *liveness) online(w fsm.Worker) bool {
	ttl := time.Duration(w.KeepaliveTTL) * time.Second
	if !l.inContact(w.Name, ttl) {
		return false
	}
	if m, ok := l.pool.Alive(membership.RoleWorker, w.Name); ok && !m.Leaving {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lw, ok := l.lost[w.Name]
	if !ok {
		lw = lostWorker{at: l.since}
	}
	if lw.graceful {
		return false
	}
	return l.now().Sub(lw.at) < ttl
}

// inContact reports whether the worker reached this master within ttl; a worker not heard
// from since this master started watching (or won leadership) has its ttl from then, as a
// new leader in DM waits for leases it cannot see.
func (l *liveness) inContact(name string, ttl time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	last := l.contact[name]
	if last.Before(l.since) {
		last = l.since
	}
	return l.now().Sub(last) < ttl
}
