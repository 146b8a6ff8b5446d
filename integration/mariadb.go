package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDBOptions configures one test server.
type MariaDBOptions struct {
	// Binlog makes the server a replication source: log_bin, ROW format with
	// FULL row images and GTID strict mode. Without it the server is a plain
	// target with binary logging off.
	Binlog bool
	// ExtraConfig lines are appended to the [mariadbd] section after the
	// harness defaults, so they override them (e.g. "binlog_format=STATEMENT").
	ExtraConfig []string
	// BindAddress is the address the server listens on instead of 127.0.0.1 (such as one that
	// processes in network namespaces reach); root may then log in from anywhere.
	BindAddress string
}

// MariaDB is one mariadbd process owned by a test. Its files live in a
// private directory that the test's cleanup removes.
type MariaDB struct {
	ServerID uint32
	DataDir  string
	Socket   string
	// LogFile receives the server's stdout and stderr, i.e. its error log.
	LogFile string

	h        *mdbHarness
	opts     MariaDBOptions
	dir      string
	cnf      string
	port     int
	password string
	// startTook is how long the first start took, template copy included.
	startTook time.Duration
	// logShown: a start-up failure already quoted the log; do not repeat it.
	logShown bool

	mu    sync.Mutex
	proc  *mdbProcess
	admin *sql.DB
}

type mdbProcess struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait has returned
	err  error         // cmd.Wait's result, readable after done
}

const (
	mdbStartTimeout   = 60 * time.Second
	mdbStopTimeout    = 60 * time.Second
	mdbKillTimeout    = 30 * time.Second
	mdbPollInterval   = 20 * time.Millisecond
	mdbBindAttempts   = 5
	mdbLogTailLines   = 40
	mdbDirPrefix      = "dm-mdb-"
	mdbTemplatePrefix = mdbDirPrefix + "template-"
	mdbOwnerFile      = "owner.pid"
	mdbTemplateMarker = "complete"
	mdbPIDFile        = "mariadbd.pid"
	mdbMaxScratchLen  = 64
)

// mdbCommonSettings are shared by the template install and the instances so
// that a copied datadir, redo log included, is used as it is.
var mdbCommonSettings = []string{
	"innodb_buffer_pool_size=64M",
	"innodb_log_file_size=48M",
	"performance_schema=OFF",
}

// mdbHarness is the per-process state shared by all servers. It is built on
// first use so that packages which never start a server pay nothing.
type mdbHarness struct {
	err          error
	mariadbd     string
	installDB    string
	template     string // a pristine datadir to copy
	templateTook time.Duration
	templateHit  bool // the template came from an earlier process
	idBase       uint32
	nextID       atomic.Uint32
}

var mdbSharedHarness = sync.OnceValue(newMDBHarness)

func newMDBHarness() *mdbHarness {
	h := &mdbHarness{
		// Mixing the pid in keeps server_ids apart across the test binaries
		// that `go test ./...` runs side by side, which makes their logs
		// easier to tell apart.
		idBase: uint32(os.Getpid()%(1<<20)) << 12,
	}
	h.mariadbd, h.err = findMariaDBBinary("mariadbd", "/usr/sbin/mariadbd")
	if h.err != nil {
		return h
	}
	h.installDB, h.err = findMariaDBBinary("mariadb-install-db", "/usr/bin/mariadb-install-db")
	if h.err != nil {
		return h
	}
	sweepStaleMariaDBs()
	start := time.Now()
	h.template, h.templateHit, h.err = buildMariaDBTemplate(h.mariadbd, h.installDB)
	h.templateTook = time.Since(start)
	return h
}

func findMariaDBBinary(name, fallback string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if st, err := os.Stat(fallback); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return fallback, nil
	}
	return "", fmt.Errorf("%s is not on PATH nor at %s: MariaDB is not installed; run `make deps`", name, fallback)
}

// mdbScratchDir holds the template and the instance directories. Unix socket
// paths are limited to 108 bytes, so a long TMPDIR falls back to /tmp.
func mdbScratchDir() string {
	if d := os.TempDir(); len(d) <= mdbMaxScratchLen {
		return d
	}
	return "/tmp"
}

// buildMariaDBTemplate runs mariadb-install-db once and caches the result in the
// scratch directory, keyed by the binaries and the install settings, so
// later test processes skip the multi-second install as well. The template is
// built aside and renamed into place, so a crashed or concurrent build never
// leaves a half-made template behind.
func buildMariaDBTemplate(mariadbd, installDB string) (dataDir string, cached bool, err error) {
	settings := append([]string{"[mariadbd]", "user=root", "skip-log-bin"}, mdbCommonSettings...)
	args := []string{"--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"}
	key := sha256.New()
	for _, bin := range []string{mariadbd, installDB} {
		st, err := os.Stat(bin)
		if err != nil {
			return "", false, err
		}
		fmt.Fprintf(key, "%s %d %d\n", bin, st.Size(), st.ModTime().UnixNano())
	}
	fmt.Fprintln(key, strings.Join(settings, "\n"), args)
	final := filepath.Join(mdbScratchDir(), mdbTemplatePrefix+hex.EncodeToString(key.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(final, mdbTemplateMarker)); err == nil {
		return filepath.Join(final, "data"), true, nil
	}

	build, err := os.MkdirTemp(mdbScratchDir(), mdbDirPrefix+"build-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(build) // a no-op once renamed
	if err := writeMDBOwner(build); err != nil {
		return "", false, err
	}
	cnf := filepath.Join(build, "install.cnf")
	body := strings.Join(append(settings, "datadir="+filepath.Join(build, "data")), "\n") + "\n"
	if err := os.WriteFile(cnf, []byte(body), 0o644); err != nil {
		return "", false, err
	}
	cmd := exec.Command(installDB, append([]string{"--defaults-file=" + cnf}, args...)...)
	cmd.Dir = build
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", false, fmt.Errorf("mariadb-install-db: %v\n%s", err, lastLines(out, mdbLogTailLines))
	}
	if err := os.WriteFile(filepath.Join(build, mdbTemplateMarker), nil, 0o644); err != nil {
		return "", false, err
	}
	if err := os.Rename(build, final); err != nil {
		// Another process may have won the race; its template is as good.
		if _, statErr := os.Stat(filepath.Join(final, mdbTemplateMarker)); statErr == nil {
			return filepath.Join(final, "data"), true, nil
		}
		return "", false, fmt.Errorf("install MariaDB template: %w (remove %s if it is stale)", err, final)
	}
	return filepath.Join(final, "data"), false, nil
}

func writeMDBOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, mdbOwnerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// sweepStaleMariaDBs removes what test processes that died without running their
// cleanups (timeout, SIGKILL) left behind: tens of MB per instance add up on a
// CI machine that is reused. Pdeathsig should already have killed their
// servers; the check is a safety net.
func sweepStaleMariaDBs() {
	root := mdbScratchDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, mdbDirPrefix) || strings.HasPrefix(name, mdbTemplatePrefix) {
			continue
		}
		dir := filepath.Join(root, name)
		// Directories without an owner are being set up right now.
		b, err := os.ReadFile(filepath.Join(dir, mdbOwnerFile))
		if err != nil {
			continue
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || owner == os.Getpid() || !errors.Is(syscall.Kill(owner, 0), syscall.ESRCH) {
			continue
		}
		killOrphanMariaDB(dir)
		os.RemoveAll(dir)
	}
}

func killOrphanMariaDB(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, mdbPIDFile))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return
	}
	// The pid may have been reused; only kill a mariadbd that runs our cnf.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err == nil && bytes.Contains(cmdline, []byte(dir)) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// StartMariaDB starts one server and registers a cleanup that kills it and
// removes its files. It fails the test if the server does not come up.
func StartMariaDB(t testing.TB, opts MariaDBOptions) *MariaDB {
	t.Helper()
	return StartMariaDBs(t, 1, opts)[0]
}

// StartMariaDBs starts n servers in parallel, each with its own datadir,
// port and server_id.
func StartMariaDBs(t testing.TB, n int, opts MariaDBOptions) []*MariaDB {
	t.Helper()
	h := mdbSharedHarness()
	if h.err != nil {
		t.Fatalf("integration: %v", h.err)
	}
	ports, err := freePorts(n)
	if err != nil {
		t.Fatalf("integration: %v", err)
	}
	ms := make([]*MariaDB, n)
	for i := range ms {
		m := &MariaDB{
			h:        h,
			opts:     opts,
			port:     ports[i],
			ServerID: h.idBase + (h.nextID.Add(1)-1)%(1<<12-1) + 1,
			password: randomMariaDBPassword(),
		}
		// Registered before the start so that a half-started server is
		// reaped too, even if the test panics afterwards.
		t.Cleanup(func() { m.cleanup(t) })
		ms[i] = m
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			start := time.Now()
			errs[i] = m.boot()
			m.startTook = time.Since(start)
			m.logShown = errs[i] != nil
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("integration: %v", err)
	}
	return ms
}

func randomMariaDBPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "pw" + hex.EncodeToString(b)
}

// boot creates the instance directory and starts the server for the first
// time, moving to another port if the chosen one was taken meanwhile.
func (m *MariaDB) boot() error {
	dir, err := os.MkdirTemp(mdbScratchDir(), mdbDirPrefix)
	if err != nil {
		return err
	}
	m.dir = dir
	m.DataDir = filepath.Join(dir, "data")
	m.Socket = filepath.Join(dir, "mariadbd.sock")
	m.LogFile = filepath.Join(dir, "mariadbd.log")
	m.cnf = filepath.Join(dir, "my.cnf")
	if err := writeMDBOwner(dir); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		if err := m.prepareDataDir(); err != nil {
			return m.errorf("copy template datadir: %v", err)
		}
		if err := os.WriteFile(m.cnf, []byte(m.config()), 0o644); err != nil {
			return err
		}
		err := m.launchAndWait()
		if err == nil {
			break
		}
		if !errors.Is(err, errMariaDBAddrInUse) || attempt == mdbBindAttempts {
			return err
		}
		ports, perr := freePorts(1)
		if perr != nil {
			return perr
		}
		m.port = ports[0]
	}
	if err := m.setupAccounts(); err != nil {
		return m.errorf("give root a password for TCP clients: %v", err)
	}
	return m.pingTCP()
}

// prepareDataDir copies the template afresh: a start that failed to bind has
// already opened a binlog file, and sources must begin with a pristine log.
// The redo log and system tablespace are mostly zeros; a sparse copy writes
// a tenth of the bytes and so halves the copy time.
func (m *MariaDB) prepareDataDir() error {
	if err := os.RemoveAll(m.DataDir); err != nil {
		return err
	}
	out, err := exec.Command("cp", "-a", "--sparse=always", m.h.template, m.DataDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func (m *MariaDB) config() string {
	lines := []string{
		"[mariadbd]",
		"user=root", // the server refuses to run as root without it
		"datadir=" + m.DataDir,
		"socket=" + m.Socket,
		"pid-file=" + filepath.Join(m.dir, mdbPIDFile),
		"tmpdir=" + m.dir,
		"port=" + strconv.Itoa(m.port),
		"bind-address=" + m.Host(),
		"server_id=" + strconv.FormatUint(uint64(m.ServerID), 10),
		"skip-name-resolve",
		// The harness' own probes and tests that break connections on
		// purpose must not get 127.0.0.1 blocked.
		"max_connect_errors=1000000",
		"max_connections=500",
		// Without /etc/mysql the compiled-in default is latin1.
		"character-set-server=utf8mb4",
		"collation-server=utf8mb4_general_ci",
		"max_allowed_packet=64M",
		"innodb_flush_log_at_trx_commit=1",
		"innodb_log_buffer_size=8M",
		"innodb_buffer_pool_dump_at_shutdown=OFF",
		"innodb_buffer_pool_load_at_startup=OFF",
		"key_buffer_size=8M",
		"aria_pagecache_buffer_size=8M",
		// Relay logs are named after the host by default.
		"relay_log=relay-bin",
	}
	lines = append(lines, mdbCommonSettings...)
	if m.opts.Binlog {
		lines = append(lines,
			"log_bin=mysql-bin",
			"binlog_format=ROW",
			"binlog_row_image=FULL",
			"gtid_strict_mode=ON",
			"gtid_domain_id=0",
			// Committed means in the binlog too, which crash tests rely on.
			"sync_binlog=1",
		)
	} else {
		lines = append(lines, "skip-log-bin")
	}
	lines = append(lines, m.opts.ExtraConfig...)
	return strings.Join(lines, "\n") + "\n"
}

var errMariaDBAddrInUse = errors.New("port already in use")

// launchAndWait starts mariadbd and waits until it accepts connections on its
// socket, or reports why it did not.
func (m *MariaDB) launchAndWait() error {
	var logStart int64
	if st, err := os.Stat(m.LogFile); err == nil {
		logStart = st.Size()
	}
	logf, err := os.OpenFile(m.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	// --defaults-file must come first or mariadbd also reads /etc/mysql.
	cmd := exec.Command(m.h.mariadbd, "--defaults-file="+m.cnf)
	cmd.Dir = m.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// Cleanups do not run when the test binary is killed or times out;
		// this stops the server from outliving it.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return m.errorf("start %s: %v", m.h.mariadbd, err)
	}
	p := &mdbProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()

	err = m.waitSocket(p)
	if err == nil {
		return nil
	}
	select {
	case <-p.done:
		m.mu.Lock()
		m.proc = nil
		m.mu.Unlock()
		if logContainsSince(m.LogFile, logStart, "Address already in use") {
			return fmt.Errorf("%w: %v", errMariaDBAddrInUse, m.errorf("%v", err))
		}
	default:
	}
	return m.errorf("%v", err)
}

func (m *MariaDB) waitSocket(p *mdbProcess) error {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "unix"
	cfg.Addr = m.Socket
	cfg.Timeout = time.Second
	cfg.Logger = &mysql.NopLogger{} // failed probes are expected, not news
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(mdbStartTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := connector.Connect(ctx)
		cancel()
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("mariadbd exited during start-up: %v", p.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mariadbd not ready after %v: %v", mdbStartTimeout, err)
		}
		select {
		case <-p.done:
		case <-time.After(mdbPollInterval):
		}
	}
}

// setupAccounts gives root a password over TCP. It runs with sql_log_bin=0
// so that a source's binlog starts without the harness' own events.
func (m *MariaDB) setupAccounts() error {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "unix"
	cfg.Addr = m.Socket
	cfg.InterpolateParams = true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// install-db normally creates root@127.0.0.1 without a password, but
	// do not depend on that.
	from := "127.0.0.1"
	if m.opts.BindAddress != "" {
		from = "%"
	}
	for _, q := range []string{
		"SET sql_log_bin=0",
		"CREATE USER IF NOT EXISTS 'root'@'" + from + "'",
		"ALTER USER 'root'@'" + from + "' IDENTIFIED BY ?",
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'" + from + "' WITH GRANT OPTION",
	} {
		var args []any
		if strings.Contains(q, "?") {
			args = []any{m.password}
		}
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func (m *MariaDB) pingTCP() error {
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return m.errorf("ping over TCP: %v", err)
	}
	return nil
}

// errorf decorates an error with the server's identity and the tail of its
// log, which is usually where the actual reason is.
func (m *MariaDB) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	b, _ := readLogTail(m.LogFile)
	return fmt.Errorf("mariadb %s (server_id %d, dir %s): %s\n--- tail of %s ---\n%s",
		m.Addr(), m.ServerID, m.dir, msg, m.LogFile, lastLines(b, mdbLogTailLines))
}

func readLogTail(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		f.Seek(st.Size()-max, io.SeekStart)
	}
	return io.ReadAll(f)
}

func logContainsSince(path string, offset int64, needle string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return false
	}
	b, err := io.ReadAll(f)
	return err == nil && bytes.Contains(b, []byte(needle))
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Host is where the server listens (127.0.0.1 unless BindAddress); it binds no other address.
func (m *MariaDB) Host() string {
	if m.opts.BindAddress != "" {
		return m.opts.BindAddress
	}
	return "127.0.0.1"
}

// Port is the server's TCP port, kept across restarts.
func (m *MariaDB) Port() int { return m.port }

// Addr is Host:Port.
func (m *MariaDB) Addr() string { return net.JoinHostPort(m.Host(), strconv.Itoa(m.port)) }

// User is the administrative account the harness sets up for TCP clients.
func (m *MariaDB) User() string { return "root" }

// Password is root's password; TCP clients must authenticate with it.
func (m *MariaDB) Password() string { return m.password }

// DSN is a go-sql-driver DSN for root over TCP. db may be empty.
func (m *MariaDB) DSN(db string) string {
	cfg := mysql.NewConfig()
	cfg.User = m.User()
	cfg.Passwd = m.password
	cfg.Net = "tcp"
	cfg.Addr = m.Addr()
	cfg.DBName = db
	cfg.Timeout = 10 * time.Second
	cfg.ParseTime = true
	cfg.MultiStatements = true
	cfg.InterpolateParams = true
	return cfg.FormatDSN()
}

// DB opens and pings a pool on DSN(""); the test's cleanup closes it.
func (m *MariaDB) DB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatalf("integration: mariadb %s: %v", m.Addr(), err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("integration: mariadb %s: ping: %v", m.Addr(), err)
	}
	return db
}

// adminDB is the pool behind Exec and CreateUser. It is dropped whenever the
// server goes down so that no caller gets a connection to a dead server.
func (m *MariaDB) adminDB() (*sql.DB, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.admin == nil {
		db, err := sql.Open("mysql", m.DSN(""))
		if err != nil {
			return nil, err
		}
		m.admin = db
	}
	return m.admin, nil
}

func (m *MariaDB) closeAdminLocked() {
	if m.admin != nil {
		m.admin.Close()
		m.admin = nil
	}
}

// Exec runs one statement (or several: multiStatements is on) as root and
// fails the test on error. Call it from the test's goroutine.
func (m *MariaDB) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	db, err := m.adminDB()
	if err == nil {
		_, err = db.Exec(query, args...)
	}
	if err != nil {
		t.Fatalf("integration: mariadb %s: %q: %v", m.Addr(), query, err)
	}
}

// CreateUser creates user@'%' and grants it each of grants, which are
// "<privileges> ON <object>" clauses such as "REPLICATION SLAVE, REPLICATION
// CLIENT ON *.*" or "ALL ON app.*". sql_log_bin=0 keeps the accounts out of
// a source's binlog, so replicating tools do not see them.
func (m *MariaDB) CreateUser(t testing.TB, user, password string, grants ...string) {
	t.Helper()
	db, err := m.adminDB()
	if err != nil {
		t.Fatalf("integration: mariadb %s: %v", m.Addr(), err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("integration: mariadb %s: %v", m.Addr(), err)
	}
	// The session has sql_log_bin=0, even if a statement below fails: the
	// pool must never hand it out again.
	defer func() {
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}()
	queries := []string{"SET sql_log_bin=0", "CREATE USER ?@'%' IDENTIFIED BY ?"}
	for _, g := range grants {
		queries = append(queries, "GRANT "+g+" TO ?@'%'")
	}
	for i, q := range queries {
		var args []any
		switch i {
		case 0:
		case 1:
			args = []any{user, password}
		default:
			args = []any{user}
		}
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("integration: mariadb %s: create user %s: %s: %v", m.Addr(), user, q, err)
		}
	}
}

// fatal reports an error that already quotes the server log.
func (m *MariaDB) fatal(t testing.TB, what string, err error) {
	t.Helper()
	m.mu.Lock()
	m.logShown = true
	m.mu.Unlock()
	t.Fatalf("integration: %s%v", what, err)
}

// Stop shuts the server down gracefully (SIGTERM) and waits for it. Stopping
// a stopped server is a no-op.
func (m *MariaDB) Stop(t testing.TB) {
	t.Helper()
	if err := m.stop(false); err != nil {
		m.fatal(t, "", err)
	}
}

// stop reports a server that had already exited as an error, since that
// usually means it crashed, unless the caller is about to start it anyway.
func (m *MariaDB) stop(exitedIsFine bool) error {
	m.mu.Lock()
	p := m.proc
	m.proc = nil
	m.closeAdminLocked()
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		if exitedIsFine {
			return nil
		}
		return m.errorf("mariadbd had exited before Stop: %v", p.err)
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(mdbStopTimeout):
		killMariaDBGroup(p)
		return m.errorf("mariadbd did not stop within %v of SIGTERM; killed it", mdbStopTimeout)
	}
	if p.err != nil {
		return m.errorf("mariadbd shut down with %v", p.err)
	}
	return nil
}

// Kill crashes the server with SIGKILL, leaving InnoDB and the binlog to
// recover at the next Restart.
func (m *MariaDB) Kill(t testing.TB) {
	t.Helper()
	m.mu.Lock()
	p := m.proc
	m.proc = nil
	m.closeAdminLocked()
	m.mu.Unlock()
	if p == nil {
		return
	}
	if !killMariaDBGroup(p) {
		t.Fatalf("integration: mariadb %s: still running %v after SIGKILL", m.Addr(), mdbKillTimeout)
	}
}

// killMariaDBGroup reports whether the process is gone within mdbKillTimeout.
func killMariaDBGroup(p *mdbProcess) bool {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
		return true
	case <-time.After(mdbKillTimeout):
		return false
	}
}

// Restart stops the server gracefully if it runs, then starts it again on
// the same port and datadir and waits until it serves TCP clients. A server
// that went down by other means (SHUTDOWN, a crash) is simply started.
func (m *MariaDB) Restart(t testing.TB) {
	t.Helper()
	if err := m.stop(true); err != nil {
		m.fatal(t, "", err)
	}
	if err := m.launchAndWait(); err != nil {
		m.fatal(t, "restart: ", err)
	}
	if err := m.pingTCP(); err != nil {
		m.fatal(t, "restart: ", err)
	}
}

func (m *MariaDB) cleanup(t testing.TB) {
	m.mu.Lock()
	p := m.proc
	m.proc = nil
	m.closeAdminLocked()
	m.mu.Unlock()
	if p != nil {
		select {
		case <-p.done:
			t.Logf("integration: mariadb %s had exited on its own: %v", m.Addr(), p.err)
		default:
			// No graceful shutdown: the files are about to go anyway.
			if !killMariaDBGroup(p) {
				t.Errorf("integration: mariadb %s: still running %v after SIGKILL", m.Addr(), mdbKillTimeout)
			}
		}
	}
	if m.dir == "" {
		return
	}
	m.mu.Lock()
	logShown := m.logShown
	m.mu.Unlock()
	if t.Failed() && !logShown {
		b, _ := readLogTail(m.LogFile)
		t.Logf("integration: mariadb %s (server_id %d) log tail:\n%s", m.Addr(), m.ServerID, lastLines(b, mdbLogTailLines))
	}
	if err := os.RemoveAll(m.dir); err != nil {
		t.Errorf("integration: remove %s: %v", m.dir, err)
	}
}
