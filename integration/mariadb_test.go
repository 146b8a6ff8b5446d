package integration

import (
	"database/sql"
	"errors"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

func mdbQueryString(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	var s sql.NullString
	require.NoError(t, db.QueryRow(q, args...).Scan(&s), q)
	return s.String
}

func mdbQueryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(q, args...).Scan(&n), q)
	return n
}

type mdbBinlogFile struct {
	name string
	size int64
}

func mdbBinaryLogs(t *testing.T, db *sql.DB) []mdbBinlogFile {
	t.Helper()
	rows, err := db.Query("SHOW BINARY LOGS")
	require.NoError(t, err)
	defer rows.Close()
	var files []mdbBinlogFile
	for rows.Next() {
		var f mdbBinlogFile
		require.NoError(t, rows.Scan(&f.name, &f.size))
		files = append(files, f)
	}
	require.NoError(t, rows.Err())
	return files
}

func logMDBHarness(t *testing.T) {
	h := mdbSharedHarness()
	if h.templateHit {
		t.Logf("template datadir reused from an earlier run (%v to find)", h.templateTook)
	} else {
		t.Logf("template datadir built by mariadb-install-db in %v", h.templateTook)
	}
}

func TestMariaDBSources(t *testing.T) {
	t.Parallel()
	ms := StartMariaDBs(t, 2, MariaDBOptions{Binlog: true})
	logMDBHarness(t)
	ids := map[uint32]bool{}
	for _, m := range ms {
		t.Logf("source %s server_id=%d started in %v", m.Addr(), m.ServerID, m.startTook)
		db := m.DB(t)

		id := mdbQueryInt(t, db, "SELECT @@server_id")
		require.EqualValues(t, m.ServerID, id)
		require.False(t, ids[m.ServerID], "server_id %d used twice", m.ServerID)
		ids[m.ServerID] = true

		require.EqualValues(t, 1, mdbQueryInt(t, db, "SELECT @@log_bin"))
		require.Equal(t, "ROW", mdbQueryString(t, db, "SELECT @@binlog_format"))
		require.Equal(t, "FULL", mdbQueryString(t, db, "SELECT @@binlog_row_image"))
		require.EqualValues(t, 1, mdbQueryInt(t, db, "SELECT @@gtid_strict_mode"))
		require.EqualValues(t, 0, mdbQueryInt(t, db, "SELECT @@gtid_domain_id"))
		require.Equal(t, "utf8mb4", mdbQueryString(t, db, "SELECT @@character_set_server"))
		require.Equal(t, "127.0.0.1", mdbQueryString(t, db, "SELECT @@bind_address"))
		require.EqualValues(t, 500, mdbQueryInt(t, db, "SELECT @@max_connections"))
		require.EqualValues(t, 1, mdbQueryInt(t, db, "SELECT @@innodb_flush_log_at_trx_commit"))
		// The harness' account set-up must not show up to a binlog reader.
		require.Empty(t, mdbQueryString(t, db, "SELECT @@gtid_binlog_pos"))
		files := mdbBinaryLogs(t, db)
		require.Len(t, files, 1)

		m.Exec(t, "CREATE DATABASE app")
		m.Exec(t, "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))")
		m.Exec(t, "INSERT INTO app.t VALUES (?, ?), (?, ?)", 1, "one", 2, "two")
		require.EqualValues(t, 2, mdbQueryInt(t, db, "SELECT COUNT(*) FROM app.t"))

		after := mdbBinaryLogs(t, db)
		require.Len(t, after, 1)
		require.Equal(t, files[0].name, after[0].name)
		require.Greater(t, after[0].size, files[0].size)
		require.Equal(t, "0-"+mdbItoa(m.ServerID)+"-3", mdbQueryString(t, db, "SELECT @@gtid_binlog_pos"))
	}
}

func mdbItoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func TestMariaDBTarget(t *testing.T) {
	t.Parallel()
	m := StartMariaDB(t, MariaDBOptions{})
	t.Logf("target %s started in %v", m.Addr(), m.startTook)
	db := m.DB(t)
	require.EqualValues(t, 0, mdbQueryInt(t, db, "SELECT @@log_bin"))

	m.CreateUser(t, "reader", "secret", "SELECT ON *.*")
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (7)")

	cfg, err := mysql.ParseDSN(m.DSN("app"))
	require.NoError(t, err)
	cfg.User, cfg.Passwd = "reader", "secret"
	reader, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	defer reader.Close()
	require.EqualValues(t, 7, mdbQueryInt(t, reader, "SELECT id FROM t"))
	_, err = reader.Exec("INSERT INTO t VALUES (8)")
	var me *mysql.MySQLError
	require.ErrorAs(t, err, &me)
	require.EqualValues(t, 1142, me.Number, "INSERT must be denied: %v", err)

	// Password authentication is what tools use, so a wrong one must fail.
	cfg.Passwd = "wrong"
	bad, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	defer bad.Close()
	require.Error(t, bad.Ping())
}

func TestMariaDBExtraConfigAndUsersOutOfBinlog(t *testing.T) {
	t.Parallel()
	m := StartMariaDB(t, MariaDBOptions{Binlog: true, ExtraConfig: []string{"binlog_format=STATEMENT"}})
	db := m.DB(t)
	require.Equal(t, "STATEMENT", mdbQueryString(t, db, "SELECT @@binlog_format"))
	m.CreateUser(t, "repl", "replpw", "REPLICATION SLAVE, REPLICATION CLIENT ON *.*", "SELECT ON *.*")
	require.Empty(t, mdbQueryString(t, db, "SELECT @@gtid_binlog_pos"))
	// CreateUser must hand its connection back with binary logging on.
	m.Exec(t, "CREATE DATABASE after_user")
	require.Equal(t, "0-"+mdbItoa(m.ServerID)+"-1", mdbQueryString(t, db, "SELECT @@gtid_binlog_pos"))
}

func TestMariaDBRestartKeepsDataAndRotatesBinlog(t *testing.T) {
	t.Parallel()
	m := StartMariaDB(t, MariaDBOptions{Binlog: true})
	port := m.Port()
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (1), (2), (3)")
	db := m.DB(t)
	before := mdbBinaryLogs(t, db)

	m.Stop(t)
	require.Error(t, db.Ping(), "server must be down after Stop")
	m.Stop(t) // idempotent

	start := time.Now()
	m.Restart(t)
	t.Logf("restart after graceful stop took %v", time.Since(start))
	require.Equal(t, port, m.Port())
	require.EqualValues(t, 3, mdbQueryInt(t, db, "SELECT COUNT(*) FROM app.t"))
	after := mdbBinaryLogs(t, db)
	require.Len(t, after, len(before)+1, "each start opens a new binlog file")
	require.Equal(t, before[len(before)-1].name, after[len(after)-2].name)

	// Restart of a running server stops it first.
	m.Restart(t)
	require.Len(t, mdbBinaryLogs(t, db), len(before)+2)

	// A server shut down from SQL is simply started again.
	m.Exec(t, "SHUTDOWN")
	m.Restart(t)
	require.EqualValues(t, 3, mdbQueryInt(t, db, "SELECT COUNT(*) FROM app.t"))
}

func TestMariaDBKillRecoversCommittedRows(t *testing.T) {
	t.Parallel()
	m := StartMariaDB(t, MariaDBOptions{Binlog: true})
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v TEXT)")
	for i := range 50 {
		m.Exec(t, "INSERT INTO app.t VALUES (?, REPEAT('x', 1000))", i)
	}
	db := m.DB(t)
	gtid := mdbQueryString(t, db, "SELECT @@gtid_binlog_pos")

	m.Kill(t)
	require.Error(t, db.Ping(), "server must be down after Kill")

	start := time.Now()
	m.Restart(t)
	t.Logf("restart after SIGKILL (crash recovery) took %v", time.Since(start))
	require.EqualValues(t, 50, mdbQueryInt(t, db, "SELECT COUNT(*) FROM app.t"))
	require.Equal(t, gtid, mdbQueryString(t, db, "SELECT @@gtid_binlog_pos"), "committed transactions must survive in the binlog")
}

func TestMariaDBCleanupRemovesEverything(t *testing.T) {
	t.Parallel()
	var dataDir, dir string
	var pid int
	t.Run("server", func(t *testing.T) {
		m := StartMariaDB(t, MariaDBOptions{Binlog: true})
		dataDir, dir = m.DataDir, m.dir
		m.mu.Lock()
		pid = m.proc.cmd.Process.Pid
		m.mu.Unlock()
		_, err := os.Stat(dataDir)
		require.NoError(t, err)
	})
	_, err := os.Stat(dataDir)
	require.True(t, errors.Is(err, os.ErrNotExist), "datadir %s still there: %v", dataDir, err)
	_, err = os.Stat(dir)
	require.True(t, errors.Is(err, os.ErrNotExist), "instance dir %s still there: %v", dir, err)
	require.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "mariadbd %d still running", pid)
}

func TestFreePortsDistinct(t *testing.T) {
	t.Parallel()
	ports := FreePorts(t, 20)
	seen := map[int]bool{}
	for _, p := range ports {
		require.False(t, seen[p], "port %d twice", p)
		require.Positive(t, p)
		seen[p] = true
	}
}
