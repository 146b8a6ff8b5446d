package relay

import (
	"path/filepath"
	"sync"
)

// Hub carries change notifications from the relays of one process to the relay readers of
// the same process, so that a reader at the end of the relay log wakes as soon as the relay
// wrote more instead of at its next poll. The process creates one Hub and gives it to each
// Relay (Config.Hub) and to each relay reader it opens; a nil *Hub is valid and signals
// nothing (readers then only poll, as they do for relays running in other processes).
type Hub struct {
	mu   sync.Mutex
	dirs map[string]chan struct{} // cleaned absolute dir -> closed at the next change
}

// NewHub returns a Hub with no directories yet.
func NewHub() *Hub { return &Hub{dirs: map[string]chan struct{}{}} }

// Changed returns a channel that is closed the next time a Relay given this Hub writes to
// dir (events, index or meta). Take it before looking at the files, then wait on it: no
// change is missed. Relays without this Hub, in this process or another, do not signal it:
// poll as well. On a nil Hub it returns nil, a channel that is never ready.
func (h *Hub) Changed(dir string) <-chan struct{} {
	if h == nil {
		return nil
	}
	key := hubKey(dir)
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.dirs[key]
	if !ok {
		ch = make(chan struct{})
		h.dirs[key] = ch
	}
	return ch
}

// wake wakes everything waiting on Changed for the directory named key (see hubKey).
func (h *Hub) wake(key string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// Nobody took a channel since the last change: there is no one to wake.
	if ch, ok := h.dirs[key]; ok {
		close(ch)
		delete(h.dirs, key)
	}
}

// hubKey names dir the same way however it was spelled (relative, with "..", ...).
func hubKey(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return filepath.Clean(dir)
}
