// Command dm-worker runs one dm worker. It accepts DM's dm-worker.toml (-config) and DM's
// flags unchanged.
package main

import (
	"flag"
	"log/slog"

	"github.com/dm-oss/dm/cmd/internal/config"
	"github.com/dm-oss/dm/worker"
)

func main() {
	cfg := worker.DefaultConfig()
	fs := flag.NewFlagSet("dm-worker", flag.ContinueOnError)
	fs.StringVar(&cfg.Name, "name", cfg.Name, "human-readable name of this worker, unique in the cluster")
	fs.StringVar(&cfg.WorkerAddr, "worker-addr", cfg.WorkerAddr, "listen address")
	fs.StringVar(&cfg.AdvertiseAddr, "advertise-addr", cfg.AdvertiseAddr, "address advertised to the masters (default: worker-addr)")
	fs.StringVar(&cfg.Join, "join", cfg.Join, "dm-master API addresses, comma separated")
	fs.Int64Var(&cfg.KeepaliveTTL, "keepalive-ttl", cfg.KeepaliveTTL, "seconds the masters wait after losing this worker before marking it offline")
	fs.Int64Var(&cfg.RelayKeepaliveTTL, "relay-keepalive-ttl", cfg.RelayKeepaliveTTL, "keepalive TTL while relay is enabled, in seconds")
	fs.StringVar(&cfg.RelayDir, "relay-dir", cfg.RelayDir, "relay log directory (overrides the source's)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the worker's files, such as dump files (default: default.<name>)")
	fs.StringVar(&cfg.LogLevel, "L", cfg.LogLevel, "log level: debug, info, warn, error")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn, error")
	fs.StringVar(&cfg.LogFile, "log-file", cfg.LogFile, "log file path (default: stderr)")
	fs.StringVar(&cfg.SecretKeyPath, "secret-key-path", cfg.SecretKeyPath, "file with the cluster's 64-hex-character AES-256 key (same file as the masters')")
	fs.StringVar(&cfg.SSLCA, "ssl-ca", cfg.SSLCA, "CA certificate (PEM)")
	fs.StringVar(&cfg.SSLCert, "ssl-cert", cfg.SSLCert, "certificate (PEM)")
	fs.StringVar(&cfg.SSLKey, "ssl-key", cfg.SSLKey, "private key (PEM)")
	fs.StringVar(&cfg.GossipAddr, "gossip-addr", cfg.GossipAddr, "gossip listen address (default: advertised host, OS-assigned port)")
	fs.StringVar(&cfg.AdvertiseGossipAddr, "advertise-gossip-addr", cfg.AdvertiseGossipAddr, "gossip address advertised to others")
	config.Main("dm-worker", fs, &cfg, &cfg.LogLevel, &cfg.LogFile, func(logger *slog.Logger) (config.Server, error) {
		return worker.New(cfg, logger)
	})
}
