package master

import (
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
