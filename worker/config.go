package worker

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/dm-oss/dm/internal/security"
)

// Config is dm-worker's configuration with DM's dm-worker.toml keys and flags, plus optional
// data-dir and gossip keys.
type Config struct {
	Name              string   `toml:"name"`
	LogLevel          string   `toml:"log-level"`
	LogFile           string   `toml:"log-file"`
	WorkerAddr        string   `toml:"worker-addr"`
	AdvertiseAddr     string   `toml:"advertise-addr"`
	Join              string   `toml:"join"`
	KeepaliveTTL      int64    `toml:"keepalive-ttl"`
	RelayKeepaliveTTL int64    `toml:"relay-keepalive-ttl"`
	RelayDir          string   `toml:"relay-dir"`
	SSLCA             string   `toml:"ssl-ca"`
	SSLCert           string   `toml:"ssl-cert"`
	SSLKey            string   `toml:"ssl-key"`
	CertAllowedCN     []string `toml:"cert-allowed-cn"`
	// SecretKeyPath names the file with the cluster's AES-256 key (the same file as the
	// masters'): the worker decrypts upstream passwords with it.
	SecretKeyPath string `toml:"secret-key-path"`

	// DataDir holds the worker's files: dump files go under it (a task's relative data_dir is
	// taken inside it). Not a DM dm-worker key; empty: default.<name>, as dm-master's.
	DataDir string `toml:"data-dir"`

	// GossipAddr: empty means the advertised host with an OS-assigned port, reported to the
	// masters at registration, so several workers on one host never collide.
	GossipAddr          string `toml:"gossip-addr"`
	AdvertiseGossipAddr string `toml:"advertise-gossip-addr"`
}

// DefaultConfig returns DM's defaults.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Name:              "dm-worker-" + host,
		LogLevel:          "info",
		WorkerAddr:        ":8262",
		KeepaliveTTL:      60,
		RelayKeepaliveTTL: 1800,
	}
}

type resolved struct {
	secretKey  []byte
	listen     string
	advertise  string
	join       []string
	gossipBind string
	dataDir    string
}

func (c Config) resolve() (resolved, error) {
	var r resolved
	if c.Name == "" {
		return r, fmt.Errorf("name must not be empty")
	}
	if strings.ContainsAny(c.Name, "/=, \t") {
		return r, fmt.Errorf("name %q must not contain '/', '=', ',' or spaces", c.Name)
	}
	h, p, err := net.SplitHostPort(c.WorkerAddr)
	if err != nil || p == "" || p == "0" {
		return r, fmt.Errorf("worker-addr %q: want host:port", c.WorkerAddr)
	}
	r.listen = net.JoinHostPort(h, p)
	adv := c.AdvertiseAddr
	if adv == "" {
		adv = c.WorkerAddr
	}
	ah, ap, err := net.SplitHostPort(adv)
	if err != nil {
		return r, fmt.Errorf("advertise-addr %q: want host:port", adv)
	}
	if ah == "" || ah == "0.0.0.0" || ah == "::" {
		ah = "127.0.0.1"
	}
	r.advertise = net.JoinHostPort(ah, ap)
	for _, a := range strings.Split(c.Join, ",") {
		if a = strings.TrimSpace(a); a != "" {
			r.join = append(r.join, a)
		}
	}
	if len(r.join) == 0 {
		return r, fmt.Errorf("join must name at least one dm-master address")
	}
	if c.KeepaliveTTL <= 0 {
		return r, fmt.Errorf("keepalive-ttl must be positive, got %d", c.KeepaliveTTL)
	}
	if c.RelayKeepaliveTTL < 0 {
		return r, fmt.Errorf("relay-keepalive-ttl must not be negative, got %d", c.RelayKeepaliveTTL)
	}
	r.dataDir = c.DataDir
	if r.dataDir == "" {
		r.dataDir = "default." + c.Name
	}
	r.gossipBind = c.GossipAddr
	if r.gossipBind == "" {
		r.gossipBind = net.JoinHostPort(ah, "0")
	}
	if (c.SSLCert == "") != (c.SSLKey == "") {
		return r, fmt.Errorf("ssl-cert and ssl-key go together")
	}
	if c.SecretKeyPath != "" {
		if r.secretKey, err = security.ReadSecretKey(c.SecretKeyPath); err != nil {
			return r, err
		}
	}
	return r, nil
}
