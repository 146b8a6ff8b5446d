package syncer

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/fence"

	"github.com/dm-oss/dm/internal/backoff"

	"github.com/dm-oss/dm/binlog/internal/retry"
	"github.com/dm-oss/dm/binlog/internal/session"
)

// control is the sync unit's control connection to the target. The checkpoint's global row,
// DDL, the online-DDL record and the optimistic shard lock go through it, one statement at a
// time, from the event loop. Transient errors are retried on a new connection for RetryFor;
// while they are, the retry board (and so the status) says so.
type control struct {
	db       *sql.DB
	conn     *sql.Conn // nil after a lost connection, until the next attempt
	retries  *retry.Board
	retryFor time.Duration
	log      *slog.Logger
	// fence (nil without Config.Epoch) is checked before every operation: the control
	// connection's DDL and checkpoint writes must stop once another run owns the source.
	fence *fence.Fence
}

// controlRetryKey: the event loop is the control connection's only user, so all its retries
// are one entry on the board.
const controlRetryKey = "control"

// open connects (at Run start; a failure is the caller's).
func (c *control) open(ctx context.Context) error {
	conn, err := session.Open(ctx, c.db, targetSession)
	if err != nil {
		return err
	}
	c.conn = conn
	return nil
}

func (c *control) close() {
	session.Discard(c.conn)
	c.conn = nil
}

// do runs f on the connection until it succeeds, fails for good, or transient errors last
// RetryFor; what names the step in the status and the log.
func (c *control) do(ctx context.Context, what string, f func(conn *sql.Conn) error) error {
	deadline := time.Now().Add(c.retryFor)
	wait := backoff.Backoff{First: 50 * time.Millisecond, Max: 5 * time.Second}
	defer c.retries.Done(controlRetryKey)
	for {
		err := c.reconnect(ctx)
		if err == nil {
			err = c.fence.CheckNow(ctx, c.conn, controlSlot)
		}
		if err == nil {
			err = f(c.conn)
		}
		if err == nil || !binlog.IsTransient(err) || ctx.Err() != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after retrying for %v: %w", c.retryFor, err)
		}
		c.retries.Failed(controlRetryKey, fmt.Errorf("%s: %w", what, err))
		c.log.Warn("transient target error, retrying", "what", what, "error", err, "backoff", wait.Next())
		if err := wait.Wait(ctx); err != nil {
			return err
		}
		c.close()
	}
}

// exec runs one statement through do.
func (c *control) exec(ctx context.Context, what, query string, args ...any) error {
	return c.do(ctx, what, func(conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, query, args...)
		return err
	})
}

// reconnect opens the connection when there is none (it was lost).
func (c *control) reconnect(ctx context.Context) error {
	if c.conn != nil {
		return nil
	}
	if err := c.open(ctx); err != nil {
		return fmt.Errorf("reconnect: %w", err)
	}
	if err := c.fence.Register(ctx, c.conn, controlSlot); err != nil {
		c.close()
		return fmt.Errorf("reconnect: %w", err)
	}
	return nil
}
