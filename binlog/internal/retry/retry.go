// Package retry is what the units that write to the target share about retrying: which errors
// are worth a retry, and a board of the retries in progress that their status reports.
package retry

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dm-oss/dm/binlog"
)

// transientCodes are server errors worth retrying: the statement may succeed later.
var transientCodes = map[uint16]bool{
	1040: true, // too many connections
	1053: true, // server shutdown in progress
	1205: true, // lock wait timeout
	1213: true, // deadlock
	1317: true, // query interrupted
	1927: true, // connection killed (MariaDB)
	2006: true, // server has gone away
	2013: true, // lost connection
	1159: true, // net read timeout
	1161: true, // net write timeout
	3024: true, // max execution time exceeded
	// TiDB
	8002: true, 8022: true, 8027: true, 8028: true, 8176: true, 8177: true,
	9001: true, 9002: true, 9003: true, 9004: true, 9005: true, 9006: true, 9007: true,
}

// IsTransient reports whether err is worth a retry after reconnecting: a lost connection, a
// server restart, a deadlock.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return transientCodes[me.Number]
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, mysql.ErrPktSync) ||
		errors.Is(err, mysql.ErrPktSyncMul) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

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
