package syncer

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

// isTransient reports whether err is worth a retry after reconnecting: a lost connection, a
// server restart, a deadlock.
func isTransient(err error) bool {
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

// ddlExistsCodes are the errors a DDL gives when it had already been applied: tolerated for
// the one DDL that may have run before an unclean stop, and for a retry after a lost
// connection.
var ddlExistsCodes = map[uint16]bool{
	1007: true, // database exists
	1008: true, // database doesn't exist
	1050: true, // table exists
	1051: true, // unknown table
	1054: true, // unknown column
	1060: true, // duplicate column
	1061: true, // duplicate key name
	1068: true, // multiple primary key
	1091: true, // can't drop; check that it exists
	1146: true, // table doesn't exist
	1826: true, // duplicate foreign key
	1176: true, // key doesn't exist
}

func isDDLAlreadyDone(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && ddlExistsCodes[me.Number]
}

func mysqlCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}
