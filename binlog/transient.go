package binlog

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
)

// transientCode reports whether a server error is worth retrying: the statement may succeed
// later.
func transientCode(code uint16) bool {
	switch code {
	case 1040, // too many connections
		1053, // server shutdown in progress
		1205, // lock wait timeout
		1213, // deadlock
		1317, // query interrupted
		1927, // connection killed (MariaDB)
		2006, // server has gone away
		2013, // lost connection
		1159, // net read timeout
		1161, // net write timeout
		3024, // max execution time exceeded
		// TiDB
		8002, 8022, 8027, 8028, 8176, 8177,
		9001, 9002, 9003, 9004, 9005, 9006, 9007:
		return true
	}
	return false
}

// IsTransient reports whether an error from a MySQL-compatible server (upstream or target)
// is worth a retry after reconnecting: a lost connection, a refused one (the server is
// restarting), a server shutting down, a deadlock or lock wait timeout. Syntax errors,
// duplicate keys, access denied and a cancelled context are not. The units that write to the
// target retry what it accepts, and the worker retries a subtask's start with it.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return transientCode(me.Number)
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
	var ne net.Error // a timeout, or any failed network operation (*net.OpError)
	return errors.As(err, &ne)
}
