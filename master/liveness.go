package master

import (
	"sync"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/membership"
)

// liveness decides whether a registered worker is online. Gossip says who is alive now; DM's
// rule is that a worker only goes offline once it has been gone for its keepalive-ttl (a lease),
// except when it left on purpose, which counts at once.
type liveness struct {
	pool *membership.Pool
	now  func() time.Time

	mu sync.Mutex
	// since is when this node started watching: a worker it never saw is given its TTL from
	// then, as a new leader in DM waits for leases it cannot see.
	since time.Time
	lost  map[string]lostWorker
}

type lostWorker struct {
	at       time.Time
	graceful bool
}

func newLiveness(pool *membership.Pool, now func() time.Time) *liveness {
	return &liveness{pool: pool, now: now, since: now(), lost: map[string]lostWorker{}}
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

// online reports whether the worker counts as alive.
func (l *liveness) online(w fsm.Worker) bool {
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
	ttl := time.Duration(w.KeepaliveTTL) * time.Second
	return l.now().Sub(lw.at) < ttl
}
