package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
)

// fileConfig is DM's dmctl config file (--config): TOML with the global flags' names.
type fileConfig struct {
	MasterAddr    string `toml:"master-addr"`
	RPCTimeout    string `toml:"rpc-timeout"`
	SSLCA         string `toml:"ssl-ca"`
	SSLCert       string `toml:"ssl-cert"`
	SSLKey        string `toml:"ssl-key"`
	SecretKeyPath string `toml:"secret-key-path"`
}

// applyConfigFile fills the global options the command line did not give from --config, as
// DM does: flags win over the file. Keys dmctl does not know are named on stderr and skipped.
func (a *app) applyConfigFile(cmd *cobra.Command) error {
	var fc fileConfig
	md, err := toml.DecodeFile(a.opts.configFile, &fc)
	if err != nil {
		return usagef("--config %s: %v", a.opts.configFile, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		keys := make([]string, len(un))
		for i, k := range un {
			keys[i] = k.String()
		}
		fmt.Fprintf(a.stderr, "dmctl: --config %s: ignoring keys dmctl does not use: %s\n", a.opts.configFile, strings.Join(keys, ", "))
	}
	given := func(name string) bool { return cmd.Flags().Changed(name) }
	set := func(name string, target *string, value string) {
		if !given(name) && value != "" {
			*target = value
		}
	}
	o := &a.opts
	set("master-addr", &o.masterAddr, fc.MasterAddr)
	set("ssl-ca", &o.sslCA, fc.SSLCA)
	set("ssl-cert", &o.sslCert, fc.SSLCert)
	set("ssl-key", &o.sslKey, fc.SSLKey)
	set("secret-key-path", &o.secretKeyPath, fc.SecretKeyPath)
	if !given("rpc-timeout") && fc.RPCTimeout != "" {
		d, err := time.ParseDuration(fc.RPCTimeout)
		if err != nil {
			return usagef("--config %s: rpc-timeout: %v", a.opts.configFile, err)
		}
		o.rpcTimeout = d
	}
	return nil
}
