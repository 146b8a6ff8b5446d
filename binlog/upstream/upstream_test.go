package upstream

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dm-oss/dm/integration"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func configFor(m *integration.MariaDB, user, password string) Config {
	return Config{Host: m.Host(), Port: m.Port(), User: user, Password: password, ConnectTimeout: 10 * time.Second}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustOpen(t *testing.T, c Config) *sql.DB {
	t.Helper()
	db, err := Open(testCtx(t), c)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// check opens the upstream as the given user and runs Inspect and CheckSource.
func check(t *testing.T, c Config, enableGTID bool) (Info, []Problem) {
	t.Helper()
	db := mustOpen(t, c)
	info, err := Inspect(testCtx(t), db)
	require.NoError(t, err)
	problems, err := CheckSource(testCtx(t), db, info, enableGTID)
	require.NoError(t, err)
	for _, p := range problems {
		assert.NotContains(t, p.Message, c.Password, "a problem leaks the password")
	}
	return info, problems
}

func checkNames(problems []Problem) []string {
	names := []string{}
	for _, p := range problems {
		names = append(names, p.Check)
	}
	return names
}

func TestGoodSource(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	root := configFor(m, m.User(), m.Password())
	rootDB := mustOpen(t, root)

	t.Run("Inspect", func(t *testing.T) {
		m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY)")
		m.Exec(t, "INSERT INTO app.t VALUES (1)")
		info, err := Inspect(testCtx(t), rootDB)
		require.NoError(t, err)
		assert.Equal(t, FlavorMariaDB, info.Flavor)
		assert.Contains(t, info.Version, "MariaDB")
		assert.Equal(t, m.ServerID, info.ServerID)
		assert.Empty(t, info.ServerUUID)
		assert.True(t, info.LogBin)
		assert.Equal(t, "ROW", info.BinlogFormat)
		assert.Equal(t, "FULL", info.BinlogRowImage)
		assert.True(t, info.GTIDMode)
		gtid := regexp.MustCompile(fmt.Sprintf(`^0-%d-(\d+)$`, m.ServerID))
		require.Regexp(t, gtid, info.GTIDExecuted)
		assert.Equal(t, "mysql-bin.000001", info.BinlogFile)
		assert.Greater(t, info.BinlogPos, uint32(4))
		assert.Equal(t, 0, info.LowerCaseTableNames)

		m.Exec(t, "INSERT INTO app.t VALUES (2)")
		after, err := Inspect(testCtx(t), rootDB)
		require.NoError(t, err)
		var before, now int
		fmt.Sscan(gtid.FindStringSubmatch(info.GTIDExecuted)[1], &before)
		fmt.Sscan(gtid.FindStringSubmatch(after.GTIDExecuted)[1], &now)
		assert.Equal(t, before+1, now, "one transaction, one GTID: %s -> %s", info.GTIDExecuted, after.GTIDExecuted)
		assert.Equal(t, info.BinlogFile, after.BinlogFile)
		assert.Greater(t, after.BinlogPos, info.BinlogPos)

		for _, gtidOn := range []bool{false, true} {
			problems, err := CheckSource(testCtx(t), rootDB, info, gtidOn)
			require.NoError(t, err)
			assert.Empty(t, problems, "enableGTID=%v", gtidOn)
		}
		_, err = CheckSource(testCtx(t), rootDB, Info{}, false)
		assert.ErrorContains(t, err, "Inspect")
	})

	t.Run("ListSchemas and ListTables", func(t *testing.T) {
		m.Exec(t, "CREATE DATABASE `a``b`; CREATE DATABASE Zeta; CREATE DATABASE alpha; CREATE DATABASE `empty`")
		m.Exec(t, "CREATE TABLE `a``b`.t2 (id INT); CREATE TABLE `a``b`.`t``1` (id INT); CREATE TABLE `a``b`.T3 (id INT)")
		m.Exec(t, "CREATE VIEW `a``b`.v1 AS SELECT * FROM `a``b`.t2; CREATE SEQUENCE `a``b`.s1")
		m.Exec(t, "CREATE TABLE `a``b`.hist (id INT) WITH SYSTEM VERSIONING")
		m.Exec(t, "CREATE TABLE Zeta.z (id INT)")

		schemas, err := ListSchemas(testCtx(t), rootDB)
		require.NoError(t, err)
		assert.Equal(t, []string{"Zeta", "a`b", "alpha", "app", "empty"}, schemas)

		tables, err := ListTables(testCtx(t), rootDB, "a`b")
		require.NoError(t, err)
		assert.Equal(t, []string{"T3", "hist", "t2", "t`1"}, tables, "views and sequences are left out")

		tables, err = ListTables(testCtx(t), rootDB, "empty")
		require.NoError(t, err)
		assert.NotNil(t, tables)
		assert.Empty(t, tables)

		for _, name := range []string{"nope", "zeta", "a`b`", "x' OR '1'='1", ""} {
			_, err = ListTables(testCtx(t), rootDB, name)
			require.ErrorIs(t, err, ErrSchemaNotFound, "schema %q", name)
			assert.Contains(t, err.Error(), QuoteName(name))
		}

		// A user sees only the schemas it has privileges on.
		m.CreateUser(t, "lister", "lister-pw", "SELECT ON `a``b`.*")
		lister := mustOpen(t, configFor(m, "lister", "lister-pw"))
		schemas, err = ListSchemas(testCtx(t), lister)
		require.NoError(t, err)
		assert.Equal(t, []string{"a`b"}, schemas)
		_, err = ListTables(testCtx(t), lister, "alpha")
		assert.ErrorIs(t, err, ErrSchemaNotFound)
		assert.ErrorContains(t, err, "no privilege")
	})

	// Every privilege subtest creates its own user on the shared server.
	privCases := []struct {
		name   string
		grants []string
		setup  func(t *testing.T, user string)
		want   []string
		// wantIn: substrings of the messages, in order of want.
		wantIn []string
	}{
		{name: "minimal with RELOAD", grants: []string{"REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.*"}},
		{name: "LOCK TABLES instead of RELOAD", grants: []string{"REPLICATION SLAVE, REPLICATION CLIENT, SELECT, LOCK TABLES ON *.*"}},
		{name: "ALL PRIVILEGES", grants: []string{"ALL PRIVILEGES ON *.*"}},
		{
			name:   "lacks REPLICATION SLAVE",
			grants: []string{"REPLICATION CLIENT, SELECT, RELOAD ON *.*"},
			want:   []string{CheckPrivReplicationSlave},
			wantIn: []string{"lacks the REPLICATION SLAVE privilege"},
		},
		{
			name:   "neither RELOAD nor LOCK TABLES",
			grants: []string{"REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.*", "LOCK TABLES ON app.*"},
			want:   []string{CheckPrivReloadOrLockTables},
			wantIn: []string{"neither the RELOAD nor the LOCK TABLES privilege globally (it has it only ON `app`.*)"},
		},
		{
			name:   "SELECT on one schema only",
			grants: []string{"REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.*", "SELECT ON app.*"},
			want:   []string{CheckPrivSelect},
			wantIn: []string{"lacks the global SELECT privilege (it has it only ON `app`.*); dm requires SELECT ON *.*"},
		},
		{
			name:   "nothing",
			want:   []string{CheckPrivReplicationSlave, CheckPrivReplicationClient, CheckPrivSelect, CheckPrivReloadOrLockTables},
			wantIn: []string{"REPLICATION SLAVE", "REPLICATION CLIENT", "SELECT", "RELOAD"},
		},
		{
			name:   "through the default role",
			grants: []string{"REPLICATION SLAVE ON *.*"},
			setup: func(t *testing.T, user string) {
				m.Exec(t, "CREATE ROLE IF NOT EXISTS dm_reader; CREATE ROLE IF NOT EXISTS dm_locker")
				m.Exec(t, "GRANT REPLICATION CLIENT, SELECT ON *.* TO dm_reader; GRANT RELOAD ON *.* TO dm_locker; GRANT dm_locker TO dm_reader")
				m.Exec(t, "GRANT dm_reader TO "+user+"; SET DEFAULT ROLE dm_reader FOR "+user)
			},
		},
		{
			name:   "role that is not the default",
			grants: []string{"REPLICATION SLAVE, REPLICATION CLIENT ON *.*"},
			setup: func(t *testing.T, user string) {
				m.Exec(t, "CREATE ROLE IF NOT EXISTS dm_select; GRANT SELECT, RELOAD ON *.* TO dm_select; GRANT dm_select TO "+user)
			},
			want:   []string{CheckPrivSelect, CheckPrivReloadOrLockTables},
			wantIn: []string{"none is active at login", "SET DEFAULT ROLE"},
		},
	}
	for i, tc := range privCases {
		t.Run("privileges/"+tc.name, func(t *testing.T) {
			user, pass := fmt.Sprintf("priv%d", i), fmt.Sprintf("secret-pw-%d", i)
			m.CreateUser(t, user, pass, tc.grants...)
			if tc.setup != nil {
				tc.setup(t, QuoteName(user)+"@'%'")
			}
			info, problems := check(t, configFor(m, user, pass), false)
			require.Equal(t, nonNil(tc.want), checkNames(problems), "problems: %v", problems)
			for j, p := range problems {
				assert.Contains(t, p.Message, tc.wantIn[j])
				assert.Contains(t, p.Message, fmt.Sprintf("ON *.* TO `%s`@`%%`", user), "the fix names the account")
			}
			if tc.name == "nothing" {
				// SHOW MASTER STATUS needs REPLICATION CLIENT: Inspect does
				// not fail, CheckSource reports what is missing.
				assert.Empty(t, info.BinlogFile)
				assert.Equal(t, m.ServerID, info.ServerID)
			}
		})
	}

	t.Run("Open errors", func(t *testing.T) {
		const wrong = "Wr0ng-Passw0rd-xyzzy"
		c := configFor(m, m.User(), wrong)
		_, err := Open(testCtx(t), c)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "access denied")
		assert.Contains(t, err.Error(), m.Addr())
		assert.NotContains(t, err.Error(), wrong)
		assert.NotContains(t, err.Error(), m.Password())

		c = configFor(m, "nobody", wrong)
		_, err = Open(testCtx(t), c)
		require.ErrorContains(t, err, "access denied")
		assert.NotContains(t, err.Error(), wrong)

		// The server has no TLS: asking for it fails in the handshake.
		c = configFor(m, m.User(), m.Password())
		c.SSLCA = newTestPKI(t).caPEM
		_, err = Open(testCtx(t), c)
		require.ErrorContains(t, err, "TLS handshake failed")
		assert.Contains(t, err.Error(), "the server has no TLS configured")
		assert.NotContains(t, err.Error(), m.Password())
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestMisconfiguredSources(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		opts   integration.MariaDBOptions
		want   []string
		wantIn []string
		then   func(t *testing.T, m *integration.MariaDB, db *sql.DB)
	}{
		{
			name: "no binlog",
			opts: integration.MariaDBOptions{},
			// The MariaDB default binlog_format is MIXED.
			want:   []string{CheckLogBin, CheckBinlogFormat},
			wantIn: []string{"log_bin is OFF", "binlog_format is MIXED"},
		},
		{
			name:   "STATEMENT",
			opts:   integration.MariaDBOptions{Binlog: true, ExtraConfig: []string{"binlog_format=STATEMENT"}},
			want:   []string{CheckBinlogFormat},
			wantIn: []string{"binlog_format is STATEMENT; set binlog_format=ROW (SET GLOBAL binlog_format='ROW' and binlog_format=ROW in the [mariadbd] section"},
			then: func(t *testing.T, m *integration.MariaDB, db *sql.DB) {
				// MariaDB refuses server_id=0 since 10.2.2 (SET GLOBAL
				// clamps it to 1), so only MySQL can have it: check the
				// message on a doctored Info.
				info, err := Inspect(testCtx(t), db)
				require.NoError(t, err)
				info.ServerID = 0
				problems, err := CheckSource(testCtx(t), db, info, true)
				require.NoError(t, err)
				require.Equal(t, []string{CheckServerID, CheckBinlogFormat}, checkNames(problems))
				assert.Contains(t, problems[0].Message, "server_id is 0, which disables replication; set a unique non-zero server_id")
			},
		},
		{
			name:   "MINIMAL row image",
			opts:   integration.MariaDBOptions{Binlog: true, ExtraConfig: []string{"binlog_row_image=MINIMAL"}},
			want:   []string{CheckBinlogRowImage},
			wantIn: []string{"binlog_row_image is MINIMAL; set binlog_row_image=FULL"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := integration.StartMariaDB(t, tc.opts)
			m.CreateUser(t, "dm", "dm-secret", "REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.*")
			c := configFor(m, "dm", "dm-secret")
			info, problems := check(t, c, false)
			require.Equal(t, tc.want, checkNames(problems), "problems: %v", problems)
			for i, p := range problems {
				assert.Contains(t, p.Message, tc.wantIn[i])
			}
			if !tc.opts.Binlog {
				assert.False(t, info.LogBin)
				assert.Empty(t, info.BinlogFile)
				assert.Zero(t, info.BinlogPos)
			}
			if tc.then != nil {
				tc.then(t, m, mustOpen(t, configFor(m, m.User(), m.Password())))
			}
		})
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	t.Run("closed port", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		c := Config{Host: "127.0.0.1", Port: port, User: "u", Password: "hunter2-secret", ConnectTimeout: 2 * time.Second}
		start := time.Now()
		_, err = Open(context.Background(), c)
		require.Error(t, err)
		assert.Less(t, time.Since(start), 2*time.Second)
		assert.Contains(t, err.Error(), fmt.Sprintf("cannot reach 127.0.0.1:%d", port))
		assert.Contains(t, err.Error(), "connection refused")
		assert.NotContains(t, err.Error(), c.Password)
	})
	t.Run("silent server", func(t *testing.T) {
		t.Parallel()
		// Accepts TCP connections but never sends the handshake.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		var mu sync.Mutex
		var conns []net.Conn
		t.Cleanup(func() {
			l.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		})
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, conn)
				mu.Unlock()
			}
		}()
		c := Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, User: "u", Password: "hunter2-secret", ConnectTimeout: 700 * time.Millisecond}
		start := time.Now()
		_, err = Open(context.Background(), c)
		took := time.Since(start)
		require.Error(t, err)
		assert.Less(t, took, 3*time.Second)
		assert.GreaterOrEqual(t, took, 600*time.Millisecond)
		assert.Contains(t, err.Error(), "no answer within 700ms")
		assert.NotContains(t, err.Error(), c.Password)
	})
	t.Run("caller's context", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Open(ctx, Config{Host: "127.0.0.1", Port: 1, User: "u", Password: "hunter2-secret"})
		require.ErrorIs(t, err, context.Canceled)
		assert.NotContains(t, err.Error(), "hunter2-secret")
	})
	t.Run("unknown host", func(t *testing.T) {
		t.Parallel()
		_, err := Open(context.Background(), Config{Host: "no-such-host.invalid", Port: 3306, User: "u", Password: "hunter2-secret", ConnectTimeout: 3 * time.Second})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no-such-host.invalid")
		assert.NotContains(t, err.Error(), "hunter2-secret")
	})
}

func TestOpenBadConfig(t *testing.T) {
	t.Parallel()
	// Nothing may connect: every error is found before dialing.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close()
		}
	}()
	pki := newTestPKI(t)
	const garbageKey = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"
	base := Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, User: "u", Password: "hunter2-secret"}
	cases := []struct {
		name   string
		modify func(c *Config)
		want   string
	}{
		{"empty host", func(c *Config) { c.Host = "" }, "upstream host is empty"},
		{"port 0", func(c *Config) { c.Port = 0 }, "port 0 is out of range"},
		{"port too big", func(c *Config) { c.Port = 70000 }, "port 70000 is out of range"},
		{"empty user", func(c *Config) { c.User = "" }, "user is empty"},
		{"CA not PEM", func(c *Config) { c.SSLCA = "garbage" }, "ssl_ca holds no PEM certificate"},
		{"CA is a path", func(c *Config) { c.SSLCA = "/etc/dm/ca.pem" }, "give the PEM contents (-----BEGIN ...), not a file path"},
		{"CA is a key", func(c *Config) { c.SSLCA = pki.clientKeyPEM }, "ssl_ca holds no PEM certificate"},
		{"cert without key", func(c *Config) { c.SSLCA, c.SSLCert = pki.caPEM, pki.clientCertPEM }, "ssl_cert is given without ssl_key"},
		{"key without cert", func(c *Config) { c.SSLKey = pki.clientKeyPEM }, "ssl_key is given without ssl_cert"},
		{"garbage key", func(c *Config) { c.SSLCert, c.SSLKey = pki.clientCertPEM, garbageKey }, "ssl_cert/ssl_key are not a valid PEM certificate and matching private key"},
		{"key of another cert", func(c *Config) { c.SSLCert, c.SSLKey = pki.clientCertPEM, pki.serverKeyPEM }, "ssl_cert/ssl_key are not a valid PEM certificate and matching private key"},
		{"allowed CN without TLS", func(c *Config) { c.CertAllowedCN = []string{"x"} }, "cert_allowed_cn is set but no TLS content is given"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.modify(&c)
			_, err := Open(context.Background(), c)
			require.ErrorContains(t, err, tc.want)
			assert.NotContains(t, err.Error(), c.Password)
			assert.NotContains(t, err.Error(), "PRIVATE KEY", "PEM contents must not be quoted")
		})
	}
	assert.Zero(t, accepted.Load(), "a bad configuration must fail before connecting")
}

func TestPublicGrants(t *testing.T) {
	t.Parallel()
	// MariaDB 10.11's PUBLIC grants apply to every account.
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	m.Exec(t, "GRANT SELECT, RELOAD ON *.* TO PUBLIC; GRANT SELECT ON `test`.* TO PUBLIC")
	m.CreateUser(t, "dm", "dm-secret", "REPLICATION SLAVE, REPLICATION CLIENT ON *.*")
	_, problems := check(t, configFor(m, "dm", "dm-secret"), false)
	assert.Empty(t, problems)
	m.CreateUser(t, "dm2", "dm2-secret", "REPLICATION CLIENT ON *.*")
	_, problems = check(t, configFor(m, "dm2", "dm2-secret"), false)
	assert.Equal(t, []string{CheckPrivReplicationSlave}, checkNames(problems))
}
