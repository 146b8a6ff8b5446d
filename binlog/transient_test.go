package binlog

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

// TestIsTransient: lost, refused and shut-down connections and deadlocks are retried; a
// duplicate key, a syntax error and a cancelled context are not.
func TestIsTransient(t *testing.T) {
	for _, err := range []error{
		&mysql.MySQLError{Number: 1213}, &mysql.MySQLError{Number: 1053}, mysql.ErrInvalidConn,
		fmt.Errorf("connect: %w", syscall.ECONNREFUSED),
	} {
		require.True(t, IsTransient(err), "%v", err)
	}
	for _, err := range []error{nil, &mysql.MySQLError{Number: 1062}, errors.New("syntax"), fmt.Errorf("read: %w", context.Canceled)} {
		require.False(t, IsTransient(err), "%v", err)
	}
}
