package config

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

type sample struct {
	Name         string `toml:"name"`
	Addr         string `toml:"master-addr"`
	TTL          int64  `toml:"keepalive-ttl"`
	OpenAPI      bool   `toml:"openapi"`
	Experimental struct {
		OpenAPI bool `toml:"openapi"`
	} `toml:"experimental"`
}

func bind(s *sample) *flag.FlagSet {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.StringVar(&s.Name, "name", s.Name, "")
	fs.StringVar(&s.Addr, "master-addr", s.Addr, "")
	fs.Int64Var(&s.TTL, "keepalive-ttl", s.TTL, "")
	return fs
}

func TestFlagsOverrideFileOverridesDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dm-master.toml")
	require.NoError(t, os.WriteFile(path, []byte(`
name = "from-file"
master-addr = "127.0.0.1:1"
auto-compaction-retention = "1h"
[experimental]
openapi = true
`), 0o600))
	s := sample{Name: "default", Addr: ":8261", TTL: 60}
	file, unknown, err := Load(bind(&s), []string{"-config", path, "--master-addr=127.0.0.1:2"}, &s)
	require.NoError(t, err)
	require.Equal(t, path, file)
	require.Equal(t, "from-file", s.Name)
	require.Equal(t, "127.0.0.1:2", s.Addr, "an explicit flag wins over the file")
	require.EqualValues(t, 60, s.TTL, "defaults stay where neither speaks")
	require.True(t, s.Experimental.OpenAPI)
	require.Equal(t, []string{"auto-compaction-retention"}, unknown, "DM keys we don't use are reported, not fatal")
}

func TestLoadErrors(t *testing.T) {
	s := sample{}
	_, _, err := Load(bind(&s), []string{"-config", "/nonexistent.toml"}, &s)
	require.Error(t, err)
	_, _, err = Load(bind(&sample{}), []string{"--no-such-flag"}, &s)
	require.Error(t, err)
	_, _, err = Load(bind(&sample{}), []string{"stray"}, &s)
	require.Error(t, err)

	path := filepath.Join(t.TempDir(), "bad.toml")
	require.NoError(t, os.WriteFile(path, []byte("name = 1"), 0o600))
	_, _, err = Load(bind(&s), []string{"-config", path}, &s)
	require.Error(t, err, "a wrong type is an error")
}

func TestLogger(t *testing.T) {
	_, _, err := Logger("loud", "")
	require.Error(t, err)
	path := filepath.Join(t.TempDir(), "x.log")
	l, closer, err := Logger("debug", path)
	require.NoError(t, err)
	l.Info("hello")
	require.NoError(t, closer.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), "hello")
}

func TestLogFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dm.log")
	logger, closer, err := Logger("info", path)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("hello")
	closer.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("log file mode %v, want 0600", st.Mode().Perm())
	}
}
