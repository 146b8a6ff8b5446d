package binlog

import "time"

// Retrying is what a unit reports while it retries a transient target error (the target is
// down or restarting, a connection was lost, a deadlock): the unit keeps running and pauses
// only if the error lasts For.
type Retrying struct {
	// Since is when the oldest retry in progress began (its first failure).
	Since time.Time
	// Error is the most recent failure, with what was being written.
	Error string
	// For is how long the unit retries before it gives up.
	For time.Duration
}
