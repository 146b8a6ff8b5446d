// Package backoff is the one exponential wait between attempts that masters, workers and the
// binlog units share.
package backoff

import (
	"context"
	"time"
)

// Backoff waits First, then twice as long each time, up to Max.
type Backoff struct {
	First, Max time.Duration
	next       time.Duration
}

// Wait sleeps for the next interval (see Sleep) and doubles it.
func (b *Backoff) Wait(ctx context.Context) error {
	d := b.Next()
	b.next = min(d*2, b.Max)
	return Sleep(ctx, d)
}

// Next is the interval the next Wait sleeps.
func (b *Backoff) Next() time.Duration {
	if b.next == 0 {
		return b.First
	}
	return b.next
}

// Reset starts again from First (after a success).
func (b *Backoff) Reset() { b.next = 0 }

// Sleep waits for d, or until ctx ends (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
