package worker

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWorkerConfigDefaultsLikeDM(t *testing.T) {
	cfg := DefaultConfig()
	require.Equal(t, ":8262", cfg.WorkerAddr)
	require.EqualValues(t, 60, cfg.KeepaliveTTL)
	require.EqualValues(t, 1800, cfg.RelayKeepaliveTTL)
	cfg.Name = "w1"
	cfg.Join = "127.0.0.1:8261,127.0.0.1:8361"
	r, err := cfg.resolve()
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8262", r.advertise)
	require.Equal(t, []string{"127.0.0.1:8261", "127.0.0.1:8361"}, r.join)
	require.Equal(t, "127.0.0.1:0", r.gossipBind)
	require.Equal(t, "default.w1", r.dataDir, "the worker's files stay out of the working directory's top level, as dm-master's")
}

func TestWorkerConfigRejectsBadInput(t *testing.T) {
	cases := map[string]func(*Config){
		"no join":      func(c *Config) { c.Join = "" },
		"no name":      func(c *Config) { c.Name = "" },
		"bad addr":     func(c *Config) { c.WorkerAddr = "nowhere" },
		"zero ttl":     func(c *Config) { c.KeepaliveTTL = 0 },
		"negative ttl": func(c *Config) { c.RelayKeepaliveTTL = -1 },
		"name with =":  func(c *Config) { c.Name = "a=b" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Name, cfg.Join = "w1", "127.0.0.1:8261"
			mutate(&cfg)
			_, err := cfg.resolve()
			require.Error(t, err)
		})
	}
}
