package relay_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/relaytest"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/integration"
)

const helperEnv = "DM_RELAY_TEST_HELPER"

// TestMain runs the relay of TestCrashSafety when the test binary is started as its child
// process (which the test kills with SIGKILL), and the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		helperRelay()
	}
	os.Exit(m.Run())
}

// helperRelay runs a relay configured by the environment until SIGTERM, then exits.
func helperRelay() {
	port, _ := strconv.Atoi(os.Getenv("DM_RELAY_PORT"))
	sid, _ := strconv.ParseUint(os.Getenv("DM_RELAY_SERVER_ID"), 10, 32)
	r, err := relay.New(relay.Config{
		Dir: os.Getenv("DM_RELAY_DIR"),
		Upstream: upstream.Config{
			Host: os.Getenv("DM_RELAY_HOST"), Port: port,
			User: os.Getenv("DM_RELAY_USER"), Password: os.Getenv("DM_RELAY_PASSWORD"),
		},
		Flavor: binlog.FlavorMariaDB, ServerID: uint32(sid),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := r.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// insertWorkload inserts rows into table in transactions of random size (multi-row
// INSERTs, some transactions of several statements) until rows rows are in.
func insertWorkload(db *sql.DB, table string, rows int, seed uint64) error {
	return insertWorkloadFlushing(db, table, rows, seed, 0)
}

// insertWorkloadFlushing is insertWorkload that also rotates the binlog every flushEvery
// transactions (0: never).
func insertWorkloadFlushing(db *sql.DB, table string, rows int, seed uint64, flushEvery int) error {
	rng := rand.New(rand.NewPCG(seed, seed))
	pad := strings.Repeat("x", 60)
	stmt := func(n int) string {
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (v, n) VALUES ")
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "('%s%d', %d)", pad, rng.IntN(1000000), i)
		}
		return b.String()
	}
	txns := 0
	for done := 0; done < rows; {
		n := min(1+rng.IntN(100), rows-done)
		q := stmt(n)
		if n > 1 && rng.IntN(3) == 0 {
			k := n / 2
			q = "BEGIN; " + stmt(k) + "; " + stmt(n-k) + "; COMMIT"
		}
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		done += n
		if txns++; flushEvery > 0 && txns%flushEvery == 0 {
			if _, err := db.Exec("FLUSH BINARY LOGS"); err != nil {
				return err
			}
		}
	}
	return nil
}

// Test 2: a relay killed with SIGKILL at any moment, again and again, ends up holding every
// transaction exactly once.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	const tables, rowsPerTable = 4, 50000
	var names []string
	for i := range tables {
		names = append(names, fmt.Sprintf("app.t%d", i))
	}
	m.Exec(t, "CREATE DATABASE app")
	for _, n := range names {
		m.Exec(t, "CREATE TABLE "+n+" (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100), n INT)")
	}

	dir := filepath.Join(t.TempDir(), "source-crash")
	serverID := serverIDs.Next()
	logPath := filepath.Join(t.TempDir(), "children.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	startChild := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=1",
			"DM_RELAY_DIR="+dir, "DM_RELAY_HOST="+m.Host(), "DM_RELAY_PORT="+strconv.Itoa(m.Port()),
			"DM_RELAY_USER="+m.User(), "DM_RELAY_PASSWORD="+m.Password(),
			"DM_RELAY_SERVER_ID="+strconv.FormatUint(uint64(serverID), 10))
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("relay child output:\n%s", b)
		}
	}()

	start := time.Now()
	var workload sync.WaitGroup
	var workErr atomic.Value
	var running atomic.Bool
	running.Store(true)
	for i, n := range names {
		flushEvery := 0
		if i == 0 {
			flushEvery = 150 // a few rotations while the relay is killed
		}
		workload.Go(func() {
			if err := insertWorkloadFlushing(db, n, rowsPerTable, uint64(i+1), flushEvery); err != nil {
				workErr.Store(err)
			}
		})
	}

	// A reader in this process follows the relay written by the children all along: it
	// reads uncommitted tails that the next child truncates and pulls again, and files the
	// next child deletes and creates again.
	var followEnd atomic.Pointer[binlog.Location]
	followed := make(chan relayContent, 1)
	followErr := make(chan error, 1)
	go func() {
		c, err := followRelay(dir, binlog.Location{}, &followEnd, 60*time.Second)
		if err != nil {
			followErr <- err
			return
		}
		followed <- c
	}()
	go func() { workload.Wait(); running.Store(false) }()

	// Kill the relay again and again while the rows pour in: sometimes at a random
	// moment, sometimes right when the active relay file has an uncommitted tail.
	rng := rand.New(rand.NewPCG(7, 7))
	kills, tornKills := 0, 0
	var last relay.Meta
	for running.Load() && kills < 8 {
		child := startChild()
		last = waitProgress(t, dir, last, 15*time.Second)
		if kills%2 == 0 {
			time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond) // a random moment, not a synchronisation
		} else {
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				meta := readMeta(t, dir)
				if st, err := os.Stat(filepath.Join(dir, meta.File)); err == nil && st.Size() > int64(meta.Pos) {
					tornKills++
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		child.Process.Signal(syscall.SIGKILL)
		child.Wait()
		kills++
		last = readMeta(t, dir)
	}
	workload.Wait()
	if err, _ := workErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	t.Logf("workload of %d rows done in %v; relay killed %d times (%d with an uncommitted tail)",
		tables*rowsPerTable, time.Since(start).Round(time.Millisecond), kills, tornKills)
	if kills < 3 {
		t.Errorf("the relay was killed only %d times while the workload ran", kills)
	}

	child := startChild()
	end := relaytest.MasterPos(t, db)
	meta := relaytest.WaitCatchUp(t, dir, db, 20*time.Second)
	child.Process.Signal(syscall.SIGTERM)
	if err := child.Wait(); err != nil {
		t.Errorf("relay child after SIGTERM: %v", err)
	}
	if meta.GTIDSet != end.GTIDSet {
		t.Errorf("relay meta GTID set %q, upstream %q", meta.GTIDSet, end.GTIDSet)
	}

	c := readRelay(t, dir, end)
	checkGTIDs(t, c.gtids)
	checkCounts(t, db, c, names...)
	checkFilesCopy(t, dir, m.DataDir)
	// Starting in the middle of a (large) file.
	i := len(c.gtids) * 2 / 3
	var endp atomic.Pointer[binlog.Location]
	endp.Store(&end)
	mid, err := followRelay(dir, c.starts[i], &endp, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a reader starting at %s gets the %d transactions after it", c.starts[i], len(mid.gtids))
	if !slices.Equal(mid.gtids, c.gtids[i:]) {
		t.Errorf("reading from %s: %d GTIDs from %v, want %d from %s", c.starts[i], len(mid.gtids), mid.gtids[:min(1, len(mid.gtids))], len(c.gtids[i:]), c.gtids[i])
	}
	followEnd.Store(&end)
	select {
	case fc := <-followed:
		checkGTIDs(t, fc.gtids)
		checkCounts(t, db, fc, names...)
	case err := <-followErr:
		t.Errorf("the reader following the relay: %v", err)
	}
	files, _ := relay.ReadIndex(dir)
	t.Logf("%d relay files", len(files))
	t.Logf("relay holds %d transactions exactly once; total %v", len(c.gtids), time.Since(start).Round(time.Millisecond))
}
