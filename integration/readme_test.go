package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readmeCurl is one curl command of the README.
type readmeCurl struct {
	method, path string
	body         string // the -d payload, "" when none
}

// readmeCurls reads the curl commands of the README's shell blocks (a -d payload may span
// lines).
func readmeCurls(t *testing.T) []readmeCurl {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	var out []readmeCurl
	inShell := false
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(line, "```sh"):
			inShell = true
			continue
		case strings.HasPrefix(line, "```"):
			inShell = false
			continue
		}
		if !inShell || !strings.HasPrefix(line, "curl ") {
			continue
		}
		cmd := line
		for strings.Count(cmd, "'")%2 == 1 && i+1 < len(lines) {
			i++
			cmd += "\n" + lines[i]
		}
		c := readmeCurl{method: http.MethodGet}
		if strings.Contains(cmd, "-X POST") {
			c.method = http.MethodPost
		}
		for _, f := range strings.Fields(cmd) {
			if strings.HasPrefix(f, "127.0.0.1:8261/") {
				c.path = strings.TrimPrefix(f, "127.0.0.1:8261")
			}
		}
		if at := strings.Index(cmd, "-d '"); at >= 0 {
			rest := cmd[at+len("-d '"):]
			c.body = rest[:strings.LastIndex(rest, "'")]
		}
		require.NotEmpty(t, c.path, "README curl without a URL: %s", cmd)
		out = append(out, c)
	}
	return out
}

// TestReadmeCurlExamples runs the README's curl examples as written (their bodies sent as curl
// -d sends them), with only the addresses and accounts of this test's servers put in.
func TestReadmeCurlExamples(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.orders (id INT PRIMARY KEY, v VARCHAR(20))")
	e.src.Exec(t, "INSERT INTO shop.orders VALUES (1, 'a'), (2, 'b')")
	curls := readmeCurls(t)
	require.GreaterOrEqual(t, len(curls), 5)
	for _, c := range curls {
		body := c.body
		if body != "" {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(body), &m), "README body is not JSON: %s", body)
			localise(m, e)
			b, err := json.Marshal(m)
			require.NoError(t, err)
			body = string(b)
		}
		req, err := http.NewRequest(c.method, "http://"+e.addr+c.path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Less(t, resp.StatusCode, 300, "%s %s: %s", c.method, c.path, bytes.TrimSpace(got))
	}
	e.waitSynced("t1", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
}

// localise points a README body at this test's servers.
func localise(m map[string]any, e *migrationEnv) {
	if _, ok := m["source_name"]; ok && m["host"] != nil {
		m["host"], m["port"], m["user"], m["password"] = e.src.Host(), e.src.Port(), e.src.User(), e.src.Password()
	}
	if task, ok := m["task"].(map[string]any); ok {
		if tc, ok := task["target_config"].(map[string]any); ok {
			tc["host"], tc["port"], tc["user"], tc["password"] = e.dst.Host(), e.dst.Port(), "dmtarget", taskPassword
		}
	}
}
