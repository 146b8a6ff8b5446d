package syncer

import (
	"errors"

	"github.com/go-sql-driver/mysql"
)

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
