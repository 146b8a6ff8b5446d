package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

const (
	apiAdminToken = "adm-7f3c9e21b54d8a60-unique"
	apiReadToken  = "rd-5b1e0a97c2f4d836-unique"
)

// callAuth sends one request with extra headers (a bearer token) and reads the whole answer.
func callAuth(t *testing.T, method, addr, path, body string, header http.Header) Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "%s %s%s", method, addr, path)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

func bearerOf(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// dmctl runs the dmctl binary with env added to the test's environment.
func dmctl(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(BinDir(t), "dmctl"), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestAPITokens: masters with api-token-path refuse /api/v1 without a valid token (401), refuse
// a read token's writes (403), and serve each role's legitimate calls, on the leader, through
// a follower, and through dmctl --token and DM_TOKEN; the documentation stays public as
// configured, /metrics does not; workers keep working (their routes are not the API's); no
// token reaches a log.
func TestAPITokens(t *testing.T) {
	c := NewCluster(t)
	tokenFile := filepath.Join(t.TempDir(), "api-tokens")
	require.NoError(t, os.WriteFile(tokenFile, []byte("# dm API tokens\nadmin "+apiAdminToken+"\nread "+apiReadToken+"\n"), 0o600))
	masters := c.StartMasters(3, MasterOptions{Extra: []string{
		fmt.Sprintf("api-token-path = %q", tokenFile),
		`api-token-public = ["docs"]`,
	}})
	leader := waitLeader(t, masters, 20*time.Second)
	var follower *Proc
	for _, m := range masters {
		if m != leader {
			follower = m
			break
		}
	}
	worker := c.StartWorker("worker1", 3)
	workers := func(addr string) map[string]string {
		resp := callAuth(t, http.MethodGet, addr, "/api/v1/cluster/workers", "", bearerOf(apiReadToken))
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
		var l listResp[clusterWorker]
		require.NoError(t, resp.JSON(&l))
		out := map[string]string{}
		for _, w := range l.Data {
			out[w.Name] = w.BoundStage
		}
		return out
	}
	Eventually(t, 20*time.Second, func() error {
		if st := workers(follower.APIAddr)["worker1"]; st != "free" {
			return fmt.Errorf("worker1 is %q", st)
		}
		return nil
	})

	for _, m := range []*Proc{leader, follower} {
		resp := callAuth(t, http.MethodGet, m.APIAddr, "/api/v1/cluster/masters", "", nil)
		requireAPIError(t, resp, http.StatusUnauthorized, fsm.CodeOpenAPICommon)
		require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
		requireAPIError(t, callAuth(t, http.MethodGet, m.APIAddr, "/api/v1/cluster/masters", "", bearerOf("not-a-token-0123456789")),
			http.StatusUnauthorized, fsm.CodeOpenAPICommon)
		for _, token := range []string{apiReadToken, apiAdminToken} {
			resp = callAuth(t, http.MethodGet, m.APIAddr, "/api/v1/cluster/masters", "", bearerOf(token))
			require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
			require.Equal(t, leader.Name, resp.Header.Get("X-Dm-Master"))
		}
		requireAPIError(t, callAuth(t, http.MethodDelete, m.APIAddr, "/api/v1/cluster/workers/worker1", "", bearerOf(apiReadToken)),
			http.StatusForbidden, fsm.CodeOpenAPICommon)
		// The admin token's write reaches the leader, which refuses to forget an online worker.
		requireAPIError(t, callAuth(t, http.MethodDelete, m.APIAddr, "/api/v1/cluster/workers/worker1", "", bearerOf(apiAdminToken)),
			http.StatusBadRequest, fsm.CodeWorkerOnline)

		// The documentation is public here; the metrics are not.
		require.Equal(t, http.StatusOK, callAuth(t, http.MethodGet, m.APIAddr, "/api/v1/dm.json", "", nil).Status)
		require.Equal(t, http.StatusOK, callAuth(t, http.MethodGet, m.APIAddr, "/api/v1/docs", "", nil).Status)
		requireAPIError(t, callAuth(t, http.MethodGet, m.APIAddr, "/metrics", "", nil), http.StatusUnauthorized, fsm.CodeOpenAPICommon)
		resp = callAuth(t, http.MethodGet, m.APIAddr, "/metrics", "", bearerOf(apiReadToken))
		require.Equal(t, http.StatusOK, resp.Status)
		require.Contains(t, string(resp.Body), "go_goroutines")
	}

	// dmctl, through the follower.
	out, err := dmctl(t, []string{"DM_TOKEN="}, "--master-addr", follower.APIAddr, "list-member", "--worker")
	requireExit(t, err, 1)
	require.Contains(t, out, `"result": false`)
	require.Contains(t, out, "requires an API token")
	require.Contains(t, out, fmt.Sprintf(`"code": %d`, fsm.CodeOpenAPICommon))
	out, err = dmctl(t, []string{"DM_TOKEN="}, "--master-addr", follower.APIAddr, "--token", apiReadToken, "list-member", "--worker")
	require.NoError(t, err, out)
	require.Contains(t, out, `"worker1"`)
	out, err = dmctl(t, []string{"DM_TOKEN=" + apiReadToken}, "--master-addr", follower.APIAddr, "list-member", "--master")
	require.NoError(t, err, out)
	require.Contains(t, out, leader.Name)

	worker.Stop() // offline at once: now the admin token may forget it
	out, err = dmctl(t, []string{"DM_TOKEN=" + apiReadToken}, "--master-addr", follower.APIAddr, "offline-member", "--worker", "--name", "worker1")
	requireExit(t, err, 1)
	require.Contains(t, out, "may only read")
	Eventually(t, 20*time.Second, func() error {
		out, err = dmctl(t, []string{"DM_TOKEN=" + apiAdminToken}, "--master-addr", follower.APIAddr, "offline-member", "--worker", "--name", "worker1")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	require.JSONEq(t, `{"result": true, "msg": ""}`, out)
	require.NotContains(t, workers(leader.APIAddr), "worker1")

	for _, p := range append(append([]*Proc{}, c.Masters...), c.Workers...) {
		log, err := os.ReadFile(p.LogPath)
		require.NoError(t, err)
		require.NotContains(t, string(log), apiAdminToken, "%s's log", p.Name)
		require.NotContains(t, string(log), apiReadToken, "%s's log", p.Name)
	}
	log, err := os.ReadFile(follower.LogPath)
	require.NoError(t, err)
	require.Contains(t, string(log), "API request refused")
}
