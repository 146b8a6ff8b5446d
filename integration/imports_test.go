package integration

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportRules holds the house's import rules against the code: fsm imports nothing of
// ours, binlog never imports master, worker, restapi or fsm, and workers reach masters over
// HTTP (restapi/peer), never by importing master or restapi.
func TestImportRules(t *testing.T) {
	const mod = "github.com/dm-oss/dm/"
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	deps := func(pkgs ...string) map[string][]string {
		args := append([]string{"list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`}, pkgs...)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		m := map[string][]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			for _, d := range f[1:] {
				if strings.HasPrefix(d, mod) {
					m[f[0]] = append(m[f[0]], strings.TrimPrefix(d, mod))
				}
			}
		}
		return m
	}
	for pkg, ours := range deps("./fsm") {
		require.Empty(t, ours, "%s imports nothing of ours", pkg)
	}
	forbidden := func(pkgs string, prefixes ...string) {
		for pkg, ours := range deps(pkgs) {
			for _, d := range ours {
				for _, p := range prefixes {
					require.False(t, d == p || strings.HasPrefix(d, p+"/"), "%s imports %s", pkg, d)
				}
			}
		}
	}
	forbidden("./binlog/...", "master", "worker", "restapi", "fsm")
	forbidden("./worker/...", "master")
	// The worker speaks the member protocol (restapi/peer), not the public API's package.
	for pkg, ours := range deps("./worker/...") {
		require.NotContains(t, ours, "restapi", "%s imports restapi", pkg)
	}
}
