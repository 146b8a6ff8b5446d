package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// browserTest is what running web/test/dashboard.spec.js needs: node, Debian's chromium and
// the npm packages of web/test. A missing piece fails the test: `make deps` installs them.
type browserTest struct {
	node     string
	specDir  string
	shotsDir string
}

func newBrowserTest(t *testing.T) browserTest {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the dashboard's browser test needs node (nodejs): run `make deps`")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the dashboard's browser test needs chromium at %s: run `make deps`", chromium)
	}
	specDir, err := filepath.Abs(filepath.Join("..", "web", "test"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(specDir, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is not installed in %s: run `make deps`", specDir)
	}
	shots := os.Getenv("DM_SCREENSHOT_DIR")
	if shots == "" {
		shots = filepath.Join("..", "test-artifacts", "screenshots")
	}
	shots, err = filepath.Abs(filepath.Join(shots, t.Name()))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(shots))
	require.NoError(t, os.MkdirAll(shots, 0o755))
	return browserTest{node: node, specDir: specDir, shotsDir: shots}
}

// run runs the spec with args (a --screenshots among them overrides the test's folder) and
// returns its output; it fails the test unless the spec passed.
func (b browserTest) run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.node, append([]string{"dashboard.spec.js", "--screenshots", b.shotsDir}, args...)...)
	cmd.Dir = b.specDir
	out, err := cmd.CombinedOutput()
	t.Logf("browser test output:\n%s", out)
	t.Logf("dashboard screenshots: %s", b.shotsDir)
	require.NoError(t, err, "the browser test failed (screenshots in %s)", b.shotsDir)
	require.Contains(t, string(out), "PASS dashboard")
	return string(out)
}

// TestDashboard drives the dashboard in chromium against a cluster with a running `all`
// task: the task shows its stage and progress, is paused and resumed from the page (the API
// agrees each time), refused actions show the API's error; the rows written meanwhile all
// reach the target.
func TestDashboard(t *testing.T) {
	browser := newBrowserTest(t)
	e := newMigrationEnv(t, 2)
	e.src.Exec(t, "CREATE DATABASE dash")
	e.src.Exec(t, "CREATE TABLE dash.orders (id INT PRIMARY KEY, customer VARCHAR(40), amount DECIMAL(10,2))")
	e.src.Exec(t, "INSERT INTO dash.orders SELECT seq, CONCAT('customer-', seq % 97), seq / 100 FROM dash.seq_1_to_20000")
	e.createSource("mysql-01", e.src)
	resp := e.startTask(e.task("orders", "all", []string{"mysql-01"}, "dash"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitStage("orders", "Running", 60*time.Second)

	// One list request carries every task's status; without with_status there is none.
	var tasks listResp[struct {
		Name       string          `json:"name"`
		StatusList []subtaskStatus `json:"status_list"`
	}]
	require.NoError(t, e.api.call(http.MethodGet, e.addr, "/api/v1/tasks?with_status=true", nil).JSON(&tasks))
	require.Len(t, tasks.Data, 1)
	require.Len(t, tasks.Data[0].StatusList, 1)
	require.Equal(t, "mysql-01", tasks.Data[0].StatusList[0].SourceName)
	require.Equal(t, "Running", tasks.Data[0].StatusList[0].Stage)
	plain := e.api.call(http.MethodGet, e.addr, "/api/v1/tasks", nil)
	require.NotContains(t, string(plain.Body), "status_list")

	stop := make(chan struct{})
	written := startSlowWriter(t, e.srcDB, "dash.orders", 100000, stop)
	// DM_DASHBOARD_CHART_WAIT (ms) lets the chart gather more points before its screenshot,
	// for the README's picture.
	chartWait := os.Getenv("DM_DASHBOARD_CHART_WAIT")
	if chartWait == "" {
		chartWait = "4000"
	}
	browser.run(t, "--url", "http://"+e.addr, "--task", "orders", "--chartwait", chartWait)
	close(stop)
	require.NoError(t, <-written)

	e.waitSynced("orders", 60*time.Second)
	RequireSameTable(t, e.srcDB, "dash.orders", e.dstDB, "dash.orders")

	// A row the target already has: the subtask pauses on the statement it refuses, and the
	// page shows the error with the statement.
	e.dst.Exec(t, "INSERT INTO dash.orders VALUES (999999, 'target', 0)")
	e.src.Exec(t, "INSERT INTO dash.orders VALUES (999999, 'source', 0)")
	Eventually(t, 60*time.Second, func() error {
		for _, st := range e.status("orders") {
			if st.Stage != "Paused" || st.ErrorMsg == nil || !strings.Contains(*st.ErrorMsg, "Duplicate entry") {
				return fmt.Errorf("%s: %s", st.Stage, deref(st.ErrorMsg))
			}
		}
		return nil
	})
	browser.run(t, "--url", "http://"+e.addr, "--failed", "orders", "--expect", "Duplicate entry",
		"--screenshots", filepath.Join(browser.shotsDir, "failed"))
}

// startSlowWriter inserts a row into table every 50 ms, ids from first, until stop is closed:
// a steady trickle for the lag and rate chart.
func startSlowWriter(t *testing.T, db *sql.DB, table string, first int, stop <-chan struct{}) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for id := first; ; id++ {
			select {
			case <-stop:
				done <- nil
				return
			case <-tick.C:
			}
			if _, err := db.Exec("INSERT INTO "+table+" (id, customer, amount) VALUES (?, 'live', 1.5)", id); err != nil {
				done <- fmt.Errorf("insert %d: %w", id, err)
				return
			}
		}
	}()
	return done
}

// TestDashboardWithTokens: with api-token-path, the dashboard's page loads from a follower
// without a token (it holds no data) and is forwarded to the leader like the API; the API
// refuses the page's requests until the token is pasted, then the page shows the cluster; a
// read token's actions are refused with the API's message.
func TestDashboardWithTokens(t *testing.T) {
	browser := newBrowserTest(t)
	c := NewCluster(t)
	tokenFile := filepath.Join(t.TempDir(), "api-tokens")
	require.NoError(t, os.WriteFile(tokenFile, []byte("admin "+apiAdminToken+"\nread "+apiReadToken+"\n"), 0o600))
	masters := c.StartMasters(3, MasterOptions{Extra: []string{fmt.Sprintf("api-token-path = %q", tokenFile)}})
	leader := waitLeader(t, masters, 20*time.Second)
	var follower *Proc
	for _, m := range masters {
		if m != leader {
			follower = m
			break
		}
	}
	c.StartWorker("worker1", 3)

	page := callAuth(t, http.MethodGet, follower.APIAddr, "/dashboard/", "", nil)
	require.Equal(t, http.StatusOK, page.Status, "%s", page.Body)
	require.Contains(t, string(page.Body), "<title>dm dashboard</title>")
	require.Equal(t, follower.Name, page.Header.Get("X-Dm-Forwarded-By"))
	require.Equal(t, leader.Name, page.Header.Get("X-Dm-Master"))
	refused := callAuth(t, http.MethodGet, follower.APIAddr, "/api/v1/tasks?with_status=true", "", nil)
	require.Equal(t, http.StatusUnauthorized, refused.Status)
	var apiErr struct {
		ErrorMsg string `json:"error_msg"`
	}
	require.NoError(t, json.Unmarshal(refused.Body, &apiErr))
	require.True(t, strings.Contains(apiErr.ErrorMsg, "requires an API token"), apiErr.ErrorMsg)
	Eventually(t, 15*time.Second, func() error {
		resp := callAuth(t, http.MethodGet, leader.APIAddr, "/api/v1/cluster/workers", "", bearerOf(apiAdminToken))
		if !strings.Contains(string(resp.Body), `"worker1"`) {
			return fmt.Errorf("worker1 not registered: %s", resp.Body)
		}
		return nil
	})

	browser.run(t, "--url", "http://"+follower.APIAddr, "--token", apiAdminToken, "--masters", "3")
	// A read token reads everything; the page shows the API's refusal of its actions.
	browser.run(t, "--url", "http://"+follower.APIAddr, "--token", apiReadToken, "--masters", "3", "--readonly", "1",
		"--screenshots", filepath.Join(browser.shotsDir, "read-token"))
}
