package master

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dm-oss/dm/internal/security"
)

// Config is dm-master's configuration: DM's dm-master.toml keys and flags, plus optional gossip
// keys. Field tags are DM's key names so DM's files load unchanged.
type Config struct {
	Name              string `toml:"name"`
	LogLevel          string `toml:"log-level"`
	LogFile           string `toml:"log-file"`
	MasterAddr        string `toml:"master-addr"`
	AdvertiseAddr     string `toml:"advertise-addr"`
	PeerURLs          string `toml:"peer-urls"`
	AdvertisePeerURLs string `toml:"advertise-peer-urls"`
	InitialCluster    string `toml:"initial-cluster"`
	Join              string `toml:"join"`
	DataDir           string `toml:"data-dir"`
	// OpenAPI is the top-level switch (DM v5.4+); Experimental.OpenAPI is DM v5.3's spelling.
	OpenAPI      bool         `toml:"openapi"`
	Experimental Experimental `toml:"experimental"`

	SecretKeyPath string   `toml:"secret-key-path"`
	SSLCA         string   `toml:"ssl-ca"`
	SSLCert       string   `toml:"ssl-cert"`
	SSLKey        string   `toml:"ssl-key"`
	CertAllowedCN []string `toml:"cert-allowed-cn"`

	// GossipAddr is where the membership pool listens. Empty: the advertised API host with an
	// OS-assigned port, which is advertised through the Raft state, so two nodes on one host
	// never fight over a fixed port.
	GossipAddr          string `toml:"gossip-addr"`
	AdvertiseGossipAddr string `toml:"advertise-gossip-addr"`

	// API hardening (not DM keys).

	// APITokenPath names a file of `role token` lines (roles admin and read): /api/v1 then
	// requires `Authorization: Bearer <token>`. Empty: the API is open, as DM's.
	APITokenPath string `toml:"api-token-path"`
	// APITokenPublic lists what stays readable without a token when APITokenPath is set:
	// "docs" (/api/v1/docs and /api/v1/dm.json) and "metrics" (/metrics).
	APITokenPublic []string `toml:"api-token-public"`

	// DumpDirAllowed lists the directories inside which a task's full_migrate_conf.data_dir
	// may be an absolute path (a relative one always stays inside the worker's data-dir).
	// Empty: absolute data_dirs are refused.
	DumpDirAllowed []string `toml:"dump-dir-allowed"`

	// RecoverFrom (flag --recover-from only) replaces the Raft configuration in data-dir with
	// the masters it names, to bring back a group that lost its quorum for good: DM's
	// initial-cluster form (name=http://host:port,...), or the path of a file holding it (one
	// entry a line or comma-separated).
	RecoverFrom string `toml:"-"`
}

// Experimental is DM's [experimental] table.
type Experimental struct {
	OpenAPI bool `toml:"openapi"`
}

// DefaultConfig returns DM's defaults.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Name:       "dm-master-" + host,
		LogLevel:   "info",
		MasterAddr: ":8261",
		PeerURLs:   "http://127.0.0.1:8291",
	}
}

// resolved holds the addresses derived from Config, checked once at start-up.
type resolved struct {
	apiListen     string
	apiAdvertise  string
	raftBind      string
	raftAdvertise string
	gossipBind    string
	gossipAdv     string
	initial       map[string]string // name -> raft address
	join          []string          // API addresses of existing masters
	dataDir       string
	openAPI       bool
	secretKey     []byte   // secret-key-path's key; nil without
	dumpDirs      []string // cleaned absolute DumpDirAllowed
	api           apiAuth
	recover       map[string]string // --recover-from: name -> raft address
}

// resolve validates the configuration and derives the addresses the server needs.
func (c Config) resolve() (resolved, error) {
	var r resolved
	if c.Name == "" {
		return r, fmt.Errorf("name must not be empty")
	}
	if strings.ContainsAny(c.Name, "/=, \t") {
		return r, fmt.Errorf("name %q must not contain '/', '=', ',' or spaces", c.Name)
	}
	var err error
	if r.apiListen, err = hostPort(c.MasterAddr, "master-addr"); err != nil {
		return r, err
	}
	adv := c.AdvertiseAddr
	if adv == "" {
		adv = c.MasterAddr
	}
	if r.apiAdvertise, err = advertisable(adv, "advertise-addr"); err != nil {
		return r, err
	}
	peerAddr, err := firstURLHost(c.PeerURLs, "peer-urls")
	if err != nil {
		return r, err
	}
	r.raftBind = peerAddr
	advPeer := peerAddr
	if c.AdvertisePeerURLs != "" {
		if advPeer, err = firstURLHost(c.AdvertisePeerURLs, "advertise-peer-urls"); err != nil {
			return r, err
		}
	}
	if r.raftAdvertise, err = advertisable(advPeer, "advertise-peer-urls"); err != nil {
		return r, err
	}
	if c.Join != "" && c.InitialCluster != "" {
		return r, fmt.Errorf("initial-cluster and join are exclusive: join adds this master to a running cluster")
	}
	if c.Join != "" {
		for _, a := range strings.Split(c.Join, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			if strings.Contains(a, "://") {
				u, err := url.Parse(a)
				if err != nil {
					return r, fmt.Errorf("join %q: %w", a, err)
				}
				a = u.Host
			}
			if _, err := hostPort(a, "join"); err != nil {
				return r, err
			}
			r.join = append(r.join, a)
		}
	} else {
		ic := c.InitialCluster
		if ic == "" {
			ic = c.Name + "=http://" + r.raftAdvertise
		}
		if r.initial, err = parseInitialCluster(ic); err != nil {
			return r, err
		}
		if _, ok := r.initial[c.Name]; !ok {
			return r, fmt.Errorf("initial-cluster %q does not name this master %q", ic, c.Name)
		}
	}
	r.dataDir = c.DataDir
	if r.dataDir == "" {
		r.dataDir = "default." + c.Name
	}
	r.openAPI = c.OpenAPI || c.Experimental.OpenAPI
	r.gossipBind = c.GossipAddr
	if r.gossipBind == "" {
		h, _, _ := net.SplitHostPort(r.apiAdvertise)
		r.gossipBind = net.JoinHostPort(h, "0")
	}
	r.gossipAdv = c.AdvertiseGossipAddr
	if c.SecretKeyPath != "" {
		if r.secretKey, err = security.ReadSecretKey(c.SecretKeyPath); err != nil {
			return r, err
		}
	}
	if (c.SSLCert == "") != (c.SSLKey == "") {
		return r, fmt.Errorf("ssl-cert and ssl-key go together")
	}
	if r.api, err = c.resolveAPIAuth(); err != nil {
		return r, err
	}
	for _, dir := range c.DumpDirAllowed {
		if !filepath.IsAbs(dir) {
			return r, fmt.Errorf("dump-dir-allowed %q: want an absolute directory", dir)
		}
		r.dumpDirs = append(r.dumpDirs, filepath.Clean(dir))
	}
	if c.RecoverFrom != "" {
		if r.recover, err = parseRecoverFrom(c.RecoverFrom); err != nil {
			return r, err
		}
		if _, ok := r.recover[c.Name]; !ok {
			return r, fmt.Errorf("recover-from %q does not name this master %q", c.RecoverFrom, c.Name)
		}
	}
	return r, nil
}

// parseRecoverFrom reads --recover-from: the initial-cluster form, or a file holding it.
func parseRecoverFrom(v string) (map[string]string, error) {
	list := v
	if !strings.Contains(v, "=") {
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("recover-from: %w", err)
		}
		list = strings.Join(strings.Fields(string(b)), ",")
	}
	m, err := parseInitialCluster(list)
	if err != nil {
		return nil, fmt.Errorf("recover-from: %w", err)
	}
	return m, nil
}

func parseInitialCluster(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, u, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("initial-cluster entry %q: want name=http://host:port", part)
		}
		addr, err := firstURLHost(u, "initial-cluster")
		if err != nil {
			return nil, err
		}
		if addr, err = advertisable(addr, "initial-cluster"); err != nil {
			return nil, err
		}
		if prev, dup := out[name]; dup && prev != addr {
			return nil, fmt.Errorf("initial-cluster names %q twice with different addresses", name)
		}
		out[name] = addr
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("initial-cluster is empty")
	}
	return out, nil
}

// sortedNames returns the map's keys in order, so every master bootstraps the same configuration.
func sortedNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// firstURLHost takes DM's URL list form ("http://h:p,http://h2:p") or a bare host:port and
// returns the first host:port.
func firstURLHost(s, key string) (string, error) {
	first := strings.TrimSpace(strings.Split(s, ",")[0])
	if first == "" {
		return "", fmt.Errorf("%s is empty", key)
	}
	if strings.Contains(first, "://") {
		u, err := url.Parse(first)
		if err != nil {
			return "", fmt.Errorf("%s %q: %w", key, first, err)
		}
		first = u.Host
	}
	return hostPort(first, key)
}

func hostPort(s, key string) (string, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%s %q: want host:port: %w", key, s, err)
	}
	if p == "" || p == "0" {
		return "", fmt.Errorf("%s %q: a port is required", key, s)
	}
	return net.JoinHostPort(h, p), nil
}

// advertisable replaces an empty or wildcard host with 127.0.0.1: such an address can be
// listened on but not reached by peers, and DM's defaults (":8261") are of that form.
func advertisable(s, key string) (string, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%s %q: want host:port: %w", key, s, err)
	}
	if h == "" || h == "0.0.0.0" || h == "::" {
		h = "127.0.0.1"
	}
	return net.JoinHostPort(h, p), nil
}
