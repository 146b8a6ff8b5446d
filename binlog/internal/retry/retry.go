// Package retry is what the units that write to the target share about retrying: a board of
// the retries in progress that their status reports (which errors are worth a retry is
// binlog.IsTransient).
package retry

import (
	"sync"
	"time"

	"github.com/dm-oss/dm/binlog"
)

// minVisible: a retry shows in Current once it has lasted this long, so that a deadlock that
// the first retry resolves does not flicker through the status.
const minVisible = time.Second

// Board holds the retries in progress of one unit, whose goroutines (replay workers, the
// control connection, load threads) may retry at the same time, each under its own key. The
// zero Board is empty and ready; it is safe for concurrent use.
type Board struct {
	mu      sync.Mutex
	entries map[string]entry
}

type entry struct {
	since time.Time // the first failure of this run of failures
	at    time.Time // the last failure
	err   string
}

// Failed records that key's attempt failed with err; key's retry began at its first failure
// since the last Done.
func (b *Board) Failed(key string, err error) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.entries == nil {
		b.entries = map[string]entry{}
	}
	e, ok := b.entries[key]
	if !ok {
		e.since = now
	}
	e.at, e.err = now, err.Error()
	b.entries[key] = e
}

// Done ends key's retry: it succeeded, or gave up.
func (b *Board) Done(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.entries, key)
}

// Clear ends every retry (the unit stopped).
func (b *Board) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.entries)
}

// Busy reports whether anything is being retried.
func (b *Board) Busy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries) > 0
}

// Current reports the retries in progress as of now: since the oldest one began, with the
// most recent error; nil when none has lasted minVisible yet.
func (b *Board) Current(now time.Time, giveUpAfter time.Duration) *binlog.Retrying {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out *binlog.Retrying
	var last time.Time
	for _, e := range b.entries {
		if now.Sub(e.since) < minVisible {
			continue
		}
		if out == nil {
			out = &binlog.Retrying{Since: e.since, For: giveUpAfter}
		}
		out.Since = minTime(out.Since, e.since)
		if e.at.After(last) {
			last, out.Error = e.at, e.err
		}
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
