package integration

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// A failover, as a DBA runs one: a replica that logs what it applies (log_slave_updates) with
// the primary's GTIDs (GTID strict mode, one domain) is caught up and promoted; the writers
// move to it, and tools that read binlogs by GTID continue there.

// StartReplica starts a server that replicates primary by GTID and writes what it applies to
// its own binlog, so that it can be promoted with the primary's transactions under their GTIDs.
// The primary needs Binlog. The replica listens where the primary does (BindAddress). The
// cleanup kills it like any other server.
func StartReplica(t testing.TB, primary *MariaDB) *MariaDB {
	t.Helper()
	r := StartMariaDB(t, MariaDBOptions{Binlog: true, BindAddress: primary.opts.BindAddress, ExtraConfig: []string{"log_slave_updates=ON"}})
	r.Exec(t, fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%d, MASTER_USER='%s', MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos",
		primary.Host(), primary.Port(), primary.User(), primary.Password()))
	r.Exec(t, "START SLAVE")
	return r
}

// WaitCaughtUp waits until the replica has applied every transaction in primary's binlog,
// failing the test when its replication stops with an error or timeout passes.
func (m *MariaDB) WaitCaughtUp(t testing.TB, primary *MariaDB, timeout time.Duration) {
	t.Helper()
	pdb, err := primary.adminDB()
	if err != nil {
		t.Fatalf("integration: mariadb %s: %v", primary.Addr(), err)
	}
	rdb, err := m.adminDB()
	if err != nil {
		t.Fatalf("integration: mariadb %s: %v", m.Addr(), err)
	}
	Eventually(t, timeout, func() error {
		ctx := t.Context()
		want, err := queryString(ctx, pdb, "SELECT @@gtid_binlog_pos")
		if err != nil {
			return err
		}
		got, err := queryString(ctx, rdb, "SELECT @@gtid_slave_pos")
		if err != nil {
			return err
		}
		if got == want {
			return nil
		}
		if state, err := replicaError(ctx, rdb); err != nil || state != "" {
			t.Fatalf("integration: replica %s of %s stopped: %s%v", m.Addr(), primary.Addr(), state, err)
		}
		return fmt.Errorf("replica %s applied %q, primary %s is at %q", m.Addr(), got, primary.Addr(), want)
	})
}

// Promote makes the replica a primary of its own: replication stops and is forgotten (STOP
// SLAVE, RESET SLAVE ALL). Its binlog keeps the transactions it applied, under their GTIDs.
func (m *MariaDB) Promote(t testing.TB) {
	t.Helper()
	m.Exec(t, "STOP SLAVE")
	m.Exec(t, "RESET SLAVE ALL")
}

func queryString(ctx context.Context, db *sql.DB, q string) (string, error) {
	var s string
	if err := db.QueryRowContext(ctx, q).Scan(&s); err != nil {
		return "", fmt.Errorf("%s: %w", q, err)
	}
	return s, nil
}

// replicaError is the last replication error the replica reports ("" when there is none).
func replicaError(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil || !rows.Next() {
		return "", err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", err
	}
	for i, c := range cols {
		if (c == "Last_IO_Error" || c == "Last_SQL_Error") && vals[i].String != "" {
			return c + ": " + vals[i].String, nil
		}
	}
	return "", rows.Err()
}
