package upstream

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Problem is one thing that makes the upstream unusable as a replication
// source.
type Problem struct {
	// Check names what was checked, e.g. "binlog_format" or
	// "privilege_replication_slave"; callers may match on it.
	Check string
	// Message is a full sentence that says what is wrong and how to fix it.
	Message string
}

func (p Problem) String() string { return p.Check + ": " + p.Message }

// Names of the checks, in the order CheckSource reports them.
const (
	CheckLogBin                 = "log_bin"
	CheckServerID               = "server_id"
	CheckBinlogFormat           = "binlog_format"
	CheckBinlogRowImage         = "binlog_row_image"
	CheckGTIDMode               = "gtid_mode"
	CheckEnforceGTIDConsistency = "enforce_gtid_consistency"
	CheckPrivReplicationSlave   = "privilege_replication_slave"
	CheckPrivReplicationClient  = "privilege_replication_client"
	CheckPrivSelect             = "privilege_select"
	CheckPrivReloadOrLockTables = "privilege_reload_or_lock_tables"
)

// CheckSource verifies that the server can be a replication source: log_bin
// ON, binlog_format ROW, binlog_row_image FULL, server_id != 0, and that the
// connected user has, globally (ON *.*), REPLICATION SLAVE, REPLICATION
// CLIENT, SELECT and RELOAD or LOCK TABLES. With enableGTID on MySQL,
// gtid_mode and enforce_gtid_consistency must be ON (MariaDB always has
// GTIDs). info is Inspect's result for the same server. It returns every
// problem found, in a fixed order, and an error only if it could not check.
func CheckSource(ctx context.Context, db *sql.DB, info Info, enableGTID bool) ([]Problem, error) {
	if info.Flavor != FlavorMySQL && info.Flavor != FlavorMariaDB {
		return nil, fmt.Errorf("check upstream: unknown flavor %q: pass the Info that Inspect returned", info.Flavor)
	}
	problems := []Problem{}
	add := func(check, format string, args ...any) {
		problems = append(problems, Problem{Check: check, Message: fmt.Sprintf(format, args...)})
	}
	section := "[mysqld]"
	if info.Flavor == FlavorMariaDB {
		section = "[mariadbd]"
	}

	if !info.LogBin {
		add(CheckLogBin, "log_bin is OFF, so the server writes no binary log to replicate from; enable it in the server config (log_bin=mysql-bin in the %s section) and restart the server, since log_bin cannot be changed at run time", section)
	}
	if info.ServerID == 0 {
		add(CheckServerID, "server_id is 0, which disables replication; set a unique non-zero server_id (SET GLOBAL server_id=N and server_id=N in the %s section of the server config)", section)
	}
	if info.BinlogFormat != "ROW" {
		add(CheckBinlogFormat, "binlog_format is %s; set binlog_format=ROW (SET GLOBAL binlog_format='ROW' and binlog_format=ROW in the %s section of the server config), then reconnect the applications, since open sessions keep their format", orUnset(info.BinlogFormat), section)
	}
	if info.BinlogRowImage != "" && info.BinlogRowImage != "FULL" {
		add(CheckBinlogRowImage, "binlog_row_image is %s; set binlog_row_image=FULL (SET GLOBAL binlog_row_image='FULL' and binlog_row_image=FULL in the %s section of the server config), then reconnect the applications, since open sessions keep their setting", info.BinlogRowImage, section)
	}
	if enableGTID && info.Flavor == FlavorMySQL {
		vars, err := globalVariables(ctx, db, "gtid_mode", "enforce_gtid_consistency")
		if err != nil {
			return nil, fmt.Errorf("check upstream: %w", err)
		}
		if !info.GTIDMode {
			add(CheckGTIDMode, "gtid_mode is %s but the source has enable_gtid set; turn GTIDs on (gtid_mode=ON and enforce_gtid_consistency=ON in the %s section of the server config; on a running server step through SET GLOBAL gtid_mode=OFF_PERMISSIVE, ON_PERMISSIVE, ON) or set enable_gtid to false", orUnset(vars["gtid_mode"]), section)
		}
		if v := vars["enforce_gtid_consistency"]; !isOn(v) {
			add(CheckEnforceGTIDConsistency, "enforce_gtid_consistency is %s but the source has enable_gtid set; set enforce_gtid_consistency=ON (SET GLOBAL enforce_gtid_consistency=ON and in the %s section of the server config) or set enable_gtid to false", orUnset(v), section)
		}
	}

	privProblems, err := checkPrivileges(ctx, db, info.Flavor)
	if err != nil {
		return nil, fmt.Errorf("check upstream privileges: %w", err)
	}
	return append(problems, privProblems...), nil
}

func orUnset(v string) string {
	if v == "" {
		return "not set"
	}
	return v
}

func checkPrivileges(ctx context.Context, db *sql.DB, flavor Flavor) ([]Problem, error) {
	// One connection: CURRENT_ROLE() and SHOW GRANTS describe the session.
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()

	var current string
	if err := conn.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&current); err != nil {
		return nil, fmt.Errorf("SELECT CURRENT_USER(): %w", err)
	}
	user := quoteAccount(current)
	activeRoles := currentRoles(ctx, conn, flavor)

	// MariaDB's SHOW GRANTS (without FOR) lists the user's grants, those of
	// the active role and its roles, and PUBLIC's; FOR CURRENT_USER() would
	// leave out the last two. MySQL 8 expands active roles only with USING.
	query := "SHOW GRANTS"
	if flavor == FlavorMySQL {
		query = "SHOW GRANTS FOR CURRENT_USER()"
		if activeRoles != "" {
			query += " USING " + activeRoles
		}
	}
	lines, err := queryStrings(ctx, conn, query)
	if err != nil && flavor == FlavorMySQL && activeRoles != "" {
		query = "SHOW GRANTS FOR CURRENT_USER()"
		lines, err = queryStrings(ctx, conn, query)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", query, err)
	}
	privs, err := parseGrants(lines)
	if err != nil {
		return nil, err
	}

	var roleHint string
	if len(privs.roles) > 0 && activeRoles == "" {
		roleHint = fmt.Sprintf(" (the user has the role(s) %s, but none is active at login, so their privileges do not count: make one the default role with SET DEFAULT ROLE)", strings.Join(privs.roles, ", "))
	}
	grant := func(priv string) string { return fmt.Sprintf("GRANT %s ON *.* TO %s", priv, user) }
	var problems []Problem
	add := func(check, format string, args ...any) {
		problems = append(problems, Problem{Check: check, Message: fmt.Sprintf(format, args...) + roleHint})
	}
	if !privs.has("REPLICATION SLAVE") {
		add(CheckPrivReplicationSlave, "user %s lacks the REPLICATION SLAVE privilege, which reading the binary log needs; run %s", user, grant("REPLICATION SLAVE"))
	}
	replClient := []string{"REPLICATION CLIENT", "BINLOG MONITOR"} // MariaDB 10.5+ prints BINLOG MONITOR
	if flavor == FlavorMySQL {
		replClient = append(replClient, "SUPER")
	}
	if !privs.has(replClient...) {
		add(CheckPrivReplicationClient, "user %s lacks the REPLICATION CLIENT privilege (BINLOG MONITOR in MariaDB 10.5 and later), which reading the binlog position and list of binary logs needs; run %s", user, grant("REPLICATION CLIENT"))
	}
	if !privs.has("SELECT") {
		add(CheckPrivSelect, "user %s lacks the global SELECT privilege%s; dm requires SELECT ON *.* to dump the data and read table definitions, privileges on single schemas or tables are not enough; run %s", user, scopedNote(privs, "SELECT"), grant("SELECT"))
	}
	if !privs.has("RELOAD", "LOCK TABLES") {
		add(CheckPrivReloadOrLockTables, "user %s has neither the RELOAD nor the LOCK TABLES privilege globally%s; the full dump needs one of them for a consistent snapshot (RELOAD for FLUSH TABLES WITH READ LOCK, or LOCK TABLES); run %s", user, scopedNote(privs, "LOCK TABLES"), grant("RELOAD"))
	}
	return problems, nil
}

// scopedNote mentions where priv is granted below the global level.
func scopedNote(p privSet, priv string) string {
	objs := append(append([]string(nil), p.scoped[priv]...), p.scoped["ALL PRIVILEGES"]...)
	if len(objs) == 0 {
		return ""
	}
	return " (it has it only ON " + strings.Join(objs, ", ") + ")"
}

// currentRoles returns the session's active roles as the server prints them
// (MySQL 8: "`r1`@`%`,`r2`@`%`"; MariaDB: "r1"), or "" when none is active
// or the server has no roles (MySQL 5.7).
func currentRoles(ctx context.Context, conn *sql.Conn, flavor Flavor) string {
	var role sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT CURRENT_ROLE()").Scan(&role); err != nil {
		return ""
	}
	if !role.Valid || role.String == "" || (flavor == FlavorMySQL && role.String == "NONE") {
		return ""
	}
	return role.String
}

// quoteAccount turns CURRENT_USER()'s "user@host" into `user`@`host`.
func quoteAccount(account string) string {
	i := strings.LastIndexByte(account, '@')
	if i < 0 {
		return QuoteName(account)
	}
	return QuoteName(account[:i]) + "@" + QuoteName(account[i+1:])
}

func queryStrings(ctx context.Context, conn *sql.Conn, q string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no rows")
	}
	return out, nil
}
