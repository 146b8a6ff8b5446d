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
