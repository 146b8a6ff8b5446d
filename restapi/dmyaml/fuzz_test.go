package dmyaml

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzTaskFile reads random and mutated task.yaml files. Whatever the bytes, ParseTask answers
// a task or an error, never a panic; a task it accepts writes back (TaskYAML) as a file that
// reads as the same task, with no warning, and writes the same bytes again.
func FuzzTaskFile(f *testing.F) {
	addTestdata(f, "task_*.yaml")
	f.Add([]byte("name: t\ntask-mode: all\ntarget-database: {host: h, port: 4000, user: root}\nmysql-instances:\n- source-id: s\n  block-allow-list: b\nblock-allow-list:\n  b: {do-dbs: [\"~^db_[0-9]+$\"]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		first, _, err := ParseTask(data, Options{})
		if err != nil {
			return
		}
		out, err := TaskYAML(first)
		require.NoError(t, err, "an accepted task cannot be written back")
		second, warnings, err := ParseTask(out, Options{})
		require.NoError(t, err, "%s", out)
		require.Empty(t, warnings, "%s", out)
		require.Equal(t, first, second, "%s", out)
		again, err := TaskYAML(second)
		require.NoError(t, err)
		require.Equal(t, string(out), string(again))
	})
}

// FuzzSourceFile is FuzzTaskFile for source.yaml, except that the file written back may warn
// again about what the first one did: a deprecated relay-dir is kept, so that it applies again.
func FuzzSourceFile(f *testing.F) {
	addTestdata(f, "source_*.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		first, firstWarnings, err := ParseSource(data, Options{})
		if err != nil {
			return
		}
		out, err := SourceYAML(first)
		require.NoError(t, err, "an accepted source cannot be written back")
		second, warnings, err := ParseSource(out, Options{})
		require.NoError(t, err, "%s", out)
		require.LessOrEqual(t, len(warnings), len(firstWarnings), "%s", out)
		require.Equal(t, first, second, "%s", out)
	})
}

func addTestdata(f *testing.F, glob string) {
	f.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", glob))
	require.NoError(f, err)
	require.NotEmpty(f, names)
	for _, name := range names {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(data)
	}
}
