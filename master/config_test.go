package master

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolveDefaultsLikeDM(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name = "m1"
	r, err := cfg.resolve()
	require.NoError(t, err)
	require.Equal(t, ":8261", r.apiListen)
	require.Equal(t, "127.0.0.1:8261", r.apiAdvertise, "an empty host is not advertisable")
	require.Equal(t, "127.0.0.1:8291", r.raftBind)
	require.Equal(t, "127.0.0.1:8291", r.raftAdvertise)
	require.Equal(t, map[string]string{"m1": "127.0.0.1:8291"}, r.initial, "a lone master bootstraps itself")
	require.Equal(t, "default.m1", r.dataDir)
	require.False(t, r.openAPI)
	require.Equal(t, "127.0.0.1:0", r.gossipBind, "gossip gets an OS-assigned port, never a fixed one")
	require.Nil(t, r.secretKey)
}

func TestResolveDMStyleCluster(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name = "master2"
	cfg.MasterAddr = "0.0.0.0:8361"
	cfg.AdvertiseAddr = "10.0.0.2:8361"
	cfg.PeerURLs = "http://0.0.0.0:8292,http://0.0.0.0:8392"
	cfg.AdvertisePeerURLs = "http://10.0.0.2:8292"
	cfg.InitialCluster = "master1=http://10.0.0.1:8291, master2=http://10.0.0.2:8292,master3=http://10.0.0.3:8293"
	cfg.Experimental.OpenAPI = true
	r, err := cfg.resolve()
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:8292", r.raftBind, "the first peer URL is the Raft transport")
	require.Equal(t, "10.0.0.2:8292", r.raftAdvertise)
	require.Equal(t, []string{"master1", "master2", "master3"}, sortedNames(r.initial))
	require.Equal(t, "10.0.0.3:8293", r.initial["master3"])
	require.True(t, r.openAPI, "[experimental] openapi is DM v5.3's switch")
	require.Equal(t, "10.0.0.2:0", r.gossipBind)
}

func TestResolveJoin(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name = "m4"
	cfg.Join = "127.0.0.1:8261, http://127.0.0.1:8361"
	r, err := cfg.resolve()
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1:8261", "127.0.0.1:8361"}, r.join)
	require.Nil(t, r.initial)
}

func TestResolveRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	badKey := filepath.Join(dir, "bad.key")
	require.NoError(t, os.WriteFile(badKey, []byte("not hex"), 0o600))
	goodKey := filepath.Join(dir, "good.key")
	require.NoError(t, os.WriteFile(goodKey, []byte(strings.Repeat("ab", 32)+"\n"), 0o600))

	cases := map[string]func(*Config){
		"empty name":               func(c *Config) { c.Name = "" },
		"slash in name":            func(c *Config) { c.Name = "a/b" },
		"no port":                  func(c *Config) { c.MasterAddr = "127.0.0.1" },
		"join and initial-cluster": func(c *Config) { c.Join = "127.0.0.1:8261"; c.InitialCluster = "m=http://127.0.0.1:8291" },
		"self not in cluster":      func(c *Config) { c.InitialCluster = "other=http://127.0.0.1:8291" },
		"malformed cluster":        func(c *Config) { c.InitialCluster = "m1http://127.0.0.1:8291" },
		"duplicate cluster name":   func(c *Config) { c.InitialCluster = "m1=http://127.0.0.1:1,m1=http://127.0.0.1:2" },
		"bad secret key":           func(c *Config) { c.SecretKeyPath = badKey },
		"missing secret key":       func(c *Config) { c.SecretKeyPath = filepath.Join(dir, "nope") },
		"cert without key":         func(c *Config) { c.SSLCert = "x.pem" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Name = "m1"
			mutate(&cfg)
			_, err := cfg.resolve()
			require.Error(t, err)
		})
	}

	cfg := DefaultConfig()
	cfg.Name = "m1"
	cfg.SecretKeyPath = goodKey
	r, err := cfg.resolve()
	require.NoError(t, err)
	require.Len(t, r.secretKey, 32)
}

// TestResolveRecoverFrom: --recover-from takes DM's initial-cluster form or a file holding it,
// and must name this master.
func TestResolveRecoverFrom(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name = "master1"
	cfg.RecoverFrom = "master1=http://10.0.0.1:8291,master2=http://10.0.0.2:8291"
	r, err := cfg.resolve()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"master1": "10.0.0.1:8291", "master2": "10.0.0.2:8291"}, r.recover)

	file := filepath.Join(t.TempDir(), "peers")
	require.NoError(t, os.WriteFile(file, []byte("master1=http://10.0.0.1:8291\nmaster3=http://10.0.0.3:8291\n"), 0o600))
	cfg.RecoverFrom = file
	r, err = cfg.resolve()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"master1": "10.0.0.1:8291", "master3": "10.0.0.3:8291"}, r.recover)

	cfg.RecoverFrom = "master2=http://10.0.0.2:8291"
	_, err = cfg.resolve()
	require.ErrorContains(t, err, `does not name this master "master1"`)
	cfg.RecoverFrom = filepath.Join(t.TempDir(), "missing")
	_, err = cfg.resolve()
	require.ErrorContains(t, err, "recover-from")
}
