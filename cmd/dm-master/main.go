// Command dm-master runs one member of the dm master cluster. It accepts DM's dm-master.toml
// (-config) and DM's flags unchanged.
package main

import (
	"flag"
	"log/slog"

	"github.com/dm-oss/dm/cmd/internal/config"
	"github.com/dm-oss/dm/master"
)

func main() {
	cfg := master.DefaultConfig()
	fs := flag.NewFlagSet("dm-master", flag.ContinueOnError)
	fs.StringVar(&cfg.Name, "name", cfg.Name, "human-readable name of this master, unique in the cluster")
	fs.StringVar(&cfg.MasterAddr, "master-addr", cfg.MasterAddr, "API (and OpenAPI) listen address")
	fs.StringVar(&cfg.AdvertiseAddr, "advertise-addr", cfg.AdvertiseAddr, "API address advertised to others (default: master-addr)")
	fs.StringVar(&cfg.PeerURLs, "peer-urls", cfg.PeerURLs, "Raft listen URL")
	fs.StringVar(&cfg.AdvertisePeerURLs, "advertise-peer-urls", cfg.AdvertisePeerURLs, "Raft URL advertised to others (default: peer-urls)")
	fs.StringVar(&cfg.InitialCluster, "initial-cluster", cfg.InitialCluster, "bootstrap members: name=http://host:port,...")
	fs.StringVar(&cfg.Join, "join", cfg.Join, "API addresses of running masters to join (instead of initial-cluster)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (default: default.<name>)")
	fs.StringVar(&cfg.LogLevel, "L", cfg.LogLevel, "log level: debug, info, warn, error")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn, error")
	fs.StringVar(&cfg.LogFile, "log-file", cfg.LogFile, "log file path (default: stderr)")
	fs.BoolVar(&cfg.OpenAPI, "openapi", cfg.OpenAPI, "serve the OpenAPI under /api/v1")
	fs.StringVar(&cfg.SecretKeyPath, "secret-key-path", cfg.SecretKeyPath, "file with the 64-hex-character AES-256 key for stored passwords")
	fs.StringVar(&cfg.SSLCA, "ssl-ca", cfg.SSLCA, "CA certificate (PEM)")
	fs.StringVar(&cfg.SSLCert, "ssl-cert", cfg.SSLCert, "certificate (PEM)")
	fs.StringVar(&cfg.SSLKey, "ssl-key", cfg.SSLKey, "private key (PEM)")
	fs.StringVar(&cfg.GossipAddr, "gossip-addr", cfg.GossipAddr, "gossip listen address (default: advertised host, OS-assigned port)")
	fs.StringVar(&cfg.AdvertiseGossipAddr, "advertise-gossip-addr", cfg.AdvertiseGossipAddr, "gossip address advertised to others")
	fs.StringVar(&cfg.APITokenPath, "api-token-path", cfg.APITokenPath, "file of 'role token' lines (roles admin, read): /api/v1 then requires Authorization: Bearer <token>")
	config.ListVar(fs, &cfg.APITokenPublic, "api-token-public", "what stays readable without a token: docs, metrics")
	config.ListVar(fs, &cfg.DumpDirAllowed, "dump-dir-allowed", "directories inside which a task's full_migrate_conf.data_dir may be absolute")
	fs.StringVar(&cfg.RecoverFrom, "recover-from", cfg.RecoverFrom,
		"bring back a master group that lost its quorum for good: the surviving masters (name=http://host:port,... or a file holding that) become the new Raft configuration; see the README")
	config.Main("dm-master", fs, &cfg, &cfg.LogLevel, &cfg.LogFile, func(logger *slog.Logger) (config.Server, error) {
		if cfg.Experimental.OpenAPI && !cfg.OpenAPI {
			logger.Warn("[experimental] openapi is DM v5.3's spelling; prefer the top-level openapi = true")
		}
		return master.New(cfg, logger)
	})
}
