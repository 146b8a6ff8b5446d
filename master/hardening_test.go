package master

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDumpDirAllowedMustBeAbsolute(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name = "m1"
	cfg.DumpDirAllowed = []string{"/data/dumps/", "/srv//dm"}
	r, err := cfg.resolve()
	require.NoError(t, err)
	require.Equal(t, []string{"/data/dumps", "/srv/dm"}, r.dumpDirs)

	cfg.DumpDirAllowed = []string{"relative/dir"}
	_, err = cfg.resolve()
	require.ErrorContains(t, err, "dump-dir-allowed")
}

// TestDataDirMustStayInsideAnAllowedBase: a relative data_dir stays in the worker's data-dir,
// an absolute one in a dump-dir-allowed directory, '..' and look-alike prefixes included.
func TestDataDirMustStayInsideAnAllowedBase(t *testing.T) {
	allowed := []string{"/data/dumps", "/srv/dm"}
	for dir, ok := range map[string]bool{
		"./dumped_data":          true,
		"dumps/a/b":              true,
		"dumps/../here":          true,
		"../../../../tmp/x":      false,
		"dumps/../../elsewhere":  false,
		"..":                     false,
		"/data/dumps":            true,
		"/data/dumps/task":       true,
		"/srv/dm/./x":            true,
		"/data/dumps/../../etc":  false,
		"/data/dumps2":           false,
		"/tmp/x":                 false,
		"/":                      false,
		"/data/dumps/x/../../..": false,
	} {
		problem := dataDirProblem(dir, allowed)
		require.Equal(t, ok, problem == "", "%q: %s", dir, problem)
	}
	require.Contains(t, dataDirProblem("/tmp/x", nil), "dump-dir-allowed")
	require.Equal(t, "", dataDirProblem("rel", nil))
}

func TestAPITokenConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens")
	require.NoError(t, os.WriteFile(path, []byte("admin admin-token-0123456789\nread read-token-0123456789\n"), 0o600))
	resolve := func(mutate func(*Config)) (resolved, error) {
		cfg := DefaultConfig()
		cfg.Name = "m1"
		mutate(&cfg)
		return cfg.resolve()
	}

	r, err := resolve(func(c *Config) { c.APITokenPath = path; c.APITokenPublic = []string{"docs"} })
	require.NoError(t, err)
	require.NotNil(t, r.api.tokens)
	require.True(t, r.api.publicDocs)
	require.False(t, r.api.publicMetrics)
	require.Empty(t, r.api.warnings(path, []string{"docs"}))

	require.NoError(t, os.Chmod(path, 0o644))
	r, err = resolve(func(c *Config) { c.APITokenPath = path })
	require.NoError(t, err)
	require.Len(t, r.api.warnings(path, nil), 1)
	require.Contains(t, r.api.warnings(path, nil)[0], "chmod 600")

	r, err = resolve(func(c *Config) { c.APITokenPublic = []string{"metrics"} })
	require.NoError(t, err)
	require.Nil(t, r.api.tokens, "no token file: the API is open")
	require.Contains(t, r.api.warnings("", []string{"metrics"})[0], "open")

	_, err = resolve(func(c *Config) { c.APITokenPath = path; c.APITokenPublic = []string{"tasks"} })
	require.ErrorContains(t, err, "api-token-public")
	_, err = resolve(func(c *Config) { c.APITokenPath = filepath.Join(dir, "missing") })
	require.ErrorContains(t, err, "api-token-path")
	require.NoError(t, os.WriteFile(path, []byte("# nothing\n"), 0o600))
	_, err = resolve(func(c *Config) { c.APITokenPath = path })
	require.ErrorContains(t, err, "no tokens")
}
