package upstream

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Flavor is the kind of server: FlavorMySQL, FlavorMariaDB, or (as a target) FlavorTiDB.
type Flavor string

const (
	FlavorMySQL   Flavor = "mysql"
	FlavorMariaDB Flavor = "mariadb"
	FlavorTiDB    Flavor = "tidb"
)

// FlavorOf tells a server's flavour from its VERSION() (TiDB reports a MySQL version with
// "TiDB" in it, MariaDB one with "MariaDB").
func FlavorOf(version string) Flavor {
	switch v := strings.ToLower(version); {
	case strings.Contains(v, "mariadb"):
		return FlavorMariaDB
	case strings.Contains(v, "tidb"):
		return FlavorTiDB
	}
	return FlavorMySQL
}

// Info is what we learned about a server.
type Info struct {
	Flavor     Flavor
	Version    string // @@version, e.g. "10.11.6-MariaDB-0+deb12u1-log"
	ServerID   uint32
	ServerUUID string // mysql only
	LogBin     bool
	// BinlogFormat and BinlogRowImage are the GLOBAL values, which new
	// sessions use. BinlogRowImage is empty on servers without the variable
	// (MySQL < 5.6), which always log full rows.
	BinlogFormat, BinlogRowImage string
	// GTIDMode: mysql: gtid_mode=ON; mariadb: always true (MariaDB GTIDs
	// always exist).
	GTIDMode bool
	// GTIDExecuted: mysql: @@gtid_executed ("uuid:1-n,..."); mariadb:
	// @@gtid_binlog_pos ("domain-server-seq,...").
	GTIDExecuted string
	// BinlogFile and BinlogPos come from SHOW MASTER STATUS (or its newer
	// names). They are empty when binary logging is off, or when the user
	// lacks REPLICATION CLIENT, which CheckSource then reports.
	BinlogFile          string
	BinlogPos           uint32
	LowerCaseTableNames int
}

// inspectedVariables are read with one SHOW GLOBAL VARIABLES, which unlike
// SELECT @@x tolerates variables a server version does not have.
var inspectedVariables = []string{
	"version", "server_id", "server_uuid", "log_bin", "binlog_format", "binlog_row_image",
	"gtid_mode", "gtid_executed", "gtid_binlog_pos", "lower_case_table_names",
}

// Inspect reads the server's identity, binlog settings and current binlog
// position.
func Inspect(ctx context.Context, db *sql.DB) (Info, error) {
	vars, err := globalVariables(ctx, db, inspectedVariables...)
	if err != nil {
		return Info{}, fmt.Errorf("inspect upstream: %w", err)
	}
	var info Info
	info.Version = vars["version"]
	if info.Version == "" {
		return Info{}, errors.New("inspect upstream: the server reports no version variable")
	}
	info.Flavor = FlavorOf(info.Version)
	id, err := strconv.ParseUint(vars["server_id"], 10, 32)
	if err != nil {
		return Info{}, fmt.Errorf("inspect upstream: server_id %q: %w", vars["server_id"], err)
	}
	info.ServerID = uint32(id)
	info.LogBin = isOn(vars["log_bin"])
	info.BinlogFormat = strings.ToUpper(vars["binlog_format"])
	info.BinlogRowImage = strings.ToUpper(vars["binlog_row_image"])
	if v := vars["lower_case_table_names"]; v != "" {
		if info.LowerCaseTableNames, err = strconv.Atoi(v); err != nil {
			return Info{}, fmt.Errorf("inspect upstream: lower_case_table_names %q: %w", v, err)
		}
	}
	if info.Flavor == FlavorMariaDB {
		info.GTIDMode = true
		info.GTIDExecuted = vars["gtid_binlog_pos"]
	} else {
		info.ServerUUID = vars["server_uuid"]
		info.GTIDMode = strings.EqualFold(vars["gtid_mode"], "ON")
		info.GTIDExecuted = strings.Join(strings.Fields(vars["gtid_executed"]), "")
	}
	if info.BinlogFile, info.BinlogPos, err = binlogStatus(ctx, db); err != nil {
		return Info{}, fmt.Errorf("inspect upstream: %w", err)
	}
	return info, nil
}

func isOn(v string) bool { return strings.EqualFold(v, "ON") || v == "1" }

// globalVariables returns the global values of the named variables that the
// server has. The names are constants of this package, never user input.
func globalVariables(ctx context.Context, db *sql.DB, names ...string) (map[string]string, error) {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "'" + n + "'"
	}
	q := "SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + strings.Join(quoted, ", ") + ")"
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("SHOW GLOBAL VARIABLES: %w", err)
	}
	defer rows.Close()
	vars := make(map[string]string, len(names))
	for rows.Next() {
		var name string
		var value sql.NullString
		if err := rows.Scan(&name, &value); err != nil {
			return nil, fmt.Errorf("SHOW GLOBAL VARIABLES: %w", err)
		}
		vars[strings.ToLower(name)] = value.String
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("SHOW GLOBAL VARIABLES: %w", err)
	}
	return vars, nil
}

// binlogStatus runs SHOW MASTER STATUS, or the newer names where the server
// dropped it (MySQL 8.4: SHOW BINARY LOG STATUS; MariaDB: SHOW BINLOG
// STATUS). A user without the privilege gets an empty result, not an error.
func binlogStatus(ctx context.Context, db *sql.DB) (string, uint32, error) {
	var lastErr error
	for _, q := range []string{"SHOW MASTER STATUS", "SHOW BINARY LOG STATUS", "SHOW BINLOG STATUS"} {
		file, pos, err := queryBinlogStatus(ctx, db, q)
		var myErr *mysql.MySQLError
		switch {
		case err == nil:
			return file, pos, nil
		case errors.As(err, &myErr) && myErr.Number == 1064: // ER_PARSE_ERROR: try the next name
			lastErr = err
		case errors.As(err, &myErr) && (myErr.Number == 1227 || myErr.Number == 1045): // access denied
			return "", 0, nil
		default:
			return "", 0, err
		}
	}
	return "", 0, lastErr
}

func queryBinlogStatus(ctx context.Context, db *sql.DB, q string) (string, uint32, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", q, err)
	}
	if len(cols) < 2 {
		return "", 0, fmt.Errorf("%s: got %d columns, want at least File and Position", q, len(cols))
	}
	var file, pos string
	if rows.Next() {
		dest := make([]any, len(cols))
		dest[0], dest[1] = &file, &pos
		for i := 2; i < len(cols); i++ {
			dest[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(dest...); err != nil {
			return "", 0, fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := rows.Err(); err != nil {
		return "", 0, fmt.Errorf("%s: %w", q, err)
	}
	if file == "" {
		return "", 0, nil // binary logging is off
	}
	p, err := strconv.ParseUint(pos, 10, 32)
	if err != nil {
		return "", 0, fmt.Errorf("%s: position %q: %w", q, pos, err)
	}
	return file, uint32(p), nil
}
