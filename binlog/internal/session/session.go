// Package session opens dedicated connections whose session the unit sets up itself (time
// zone, sql_mode, timeouts), and closes them so that the pool never hands such a session to
// anyone else. The dump, load and sync units share it.
package session

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// Setup is what a unit runs on each new connection: Required statements must succeed,
// Optional ones may fail (a variable one server flavour lacks).
type Setup struct {
	Required, Optional []string
}

// Open takes a dedicated connection from db and runs the setup on it.
func Open(ctx context.Context, db *sql.DB, setup Setup) (*sql.Conn, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	for _, q := range setup.Required {
		if _, err := c.ExecContext(ctx, q); err != nil {
			Discard(c)
			return nil, fmt.Errorf("session setup: %s: %w", q, err)
		}
	}
	for _, q := range setup.Optional {
		c.ExecContext(ctx, q) // the server may not have the variable
	}
	return c, nil
}

// Discard closes c without returning it to the pool: its session is the unit's own (or it
// may hold a lock). A nil c is fine.
func Discard(c *sql.Conn) {
	if c == nil {
		return
	}
	c.Raw(func(any) error { return driver.ErrBadConn })
	c.Close()
}
