package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	dmconfig "github.com/dm-oss/dm/cmd/internal/config"
)

// defaultMasterAddr is asked when neither --master-addr, --config nor DM_MASTER_ADDR names a
// master.
const defaultMasterAddr = "127.0.0.1:8261"

// globalOptions are DM's global flags, plus -o and --token.
type globalOptions struct {
	masterAddr    string
	configFile    string
	rpcTimeout    time.Duration
	sslCA         string
	sslCert       string
	sslKey        string
	secretKeyPath string
	token         string
	output        string
	sources       []string // -s/--source: DM takes it before or after the verb
	version       bool
}

// app is one run of dmctl: its options, its streams and, once a verb needs it, its client.
type app struct {
	opts   globalOptions
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	client *client
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv, opts: globalOptions{output: formatJSON}}
	root := a.rootCommand()
	root.SetArgs(dmStyleArgs(args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	code := exitCode(err)
	switch code {
	case exitFailure:
		printError(a.opts.output, stdout, stderr, err)
	case exitUsage:
		path := root.Name()
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintln(stderr, "Error:", err)
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", path)
	}
	return code
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "dmctl",
		Short: "Manage a dm cluster through the OpenAPI of its masters",
		Long: "dmctl manages a dm cluster with DM's verbs and flags, through the OpenAPI of any master\n" +
			"(which forwards to the leader). It prints DM's JSON shapes, or a table with -o table.\n" +
			"Exit codes: 0 success, 1 the operation failed, 2 the command line is wrong.",
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.prepare(cmd) },
		RunE: func(*cobra.Command, []string) error {
			return usagef("give a command (dmctl has no interactive mode)")
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usagef("%v", err) })
	a.globalFlags(root)
	root.AddCommand(
		a.listMemberCmd(), a.offlineMemberCmd(), a.configCmd(),
		a.queryStatusCmd(), a.startTaskCmd(), a.checkTaskCmd(), a.stopTaskCmd(), a.pauseTaskCmd(), a.resumeTaskCmd(),
		a.operateSourceCmd(), a.transferSourceCmd(),
		a.startRelayCmd(), a.stopRelayCmd(), a.pauseRelayCmd(), a.resumeRelayCmd(), a.purgeRelayCmd(),
		a.binlogCmd(), a.binlogSchemaCmd(), a.shardDDLLockCmd(),
		a.encryptCmd(), a.decryptCmd(),
	)
	return root
}

func (a *app) globalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	o := &a.opts
	f.StringVar(&o.masterAddr, "master-addr", "", "dm-master API addresses, comma separated, tried in turn (env DM_MASTER_ADDR; default "+defaultMasterAddr+")")
	f.StringVar(&o.configFile, "config", "", "dmctl config file (TOML: master-addr, rpc-timeout, ssl-ca, ssl-cert, ssl-key, secret-key-path)")
	f.DurationVar(&o.rpcTimeout, "rpc-timeout", 10*time.Minute, "timeout of one call")
	f.StringVar(&o.sslCA, "ssl-ca", "", "CA certificate (PEM) that signed the masters' certificates")
	f.StringVar(&o.sslCert, "ssl-cert", "", "dmctl's certificate (PEM), required by masters with ssl-* set")
	f.StringVar(&o.sslKey, "ssl-key", "", "dmctl's private key (PEM)")
	f.StringVar(&o.secretKeyPath, "secret-key-path", "", "the cluster's secret key file (64 hex characters), for encrypt and decrypt")
	f.StringVar(&o.token, "token", "", "API token of masters with api-token-path (default: env DM_TOKEN)")
	f.StringVarP(&o.output, "output", "o", formatJSON, "output format: json (DM's shapes) or table")
	f.StringSliceVarP(&o.sources, "source", "s", nil, "source names (repeat or comma separate)")
	f.BoolVarP(&o.version, "version", "V", false, "print the version and exit")
}

// prepare completes the global options before any verb: -V, the config file, the
// environment, and their checks.
func (a *app) prepare(cmd *cobra.Command) error {
	if a.opts.version {
		fmt.Fprintln(a.stdout, dmconfig.Version("dmctl"))
		return errVersionShown
	}
	if a.opts.output != formatJSON && a.opts.output != formatTable {
		out := a.opts.output
		a.opts.output = formatJSON
		return usagef("-o/--output must be json or table, not %q (DM's `shard-ddl-lock unlock -o <owner>` is --owner here)", out)
	}
	if a.opts.configFile != "" {
		if err := a.applyConfigFile(cmd); err != nil {
			return err
		}
	}
	if a.opts.masterAddr == "" {
		a.opts.masterAddr = strings.TrimSpace(a.getenv("DM_MASTER_ADDR"))
	}
	if a.opts.masterAddr == "" {
		a.opts.masterAddr = defaultMasterAddr
	}
	if a.opts.token == "" {
		a.opts.token = strings.TrimSpace(a.getenv("DM_TOKEN"))
	}
	if a.opts.rpcTimeout <= 0 {
		return usagef("--rpc-timeout must be positive, not %s", a.opts.rpcTimeout)
	}
	if len(a.masterAddrs()) == 0 {
		return usagef("--master-addr names no address")
	}
	return nil
}

// masterAddrs splits --master-addr (DM: a comma-separated list).
func (a *app) masterAddrs() []string {
	var out []string
	for _, s := range strings.Split(a.opts.masterAddr, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// api is the client of this run, built at the first call.
func (a *app) api() (*client, error) {
	if a.client != nil {
		return a.client, nil
	}
	c, err := newClient(connOptions{
		addrs: a.masterAddrs(), timeout: a.opts.rpcTimeout, token: a.opts.token,
		sslCA: a.opts.sslCA, sslCert: a.opts.sslCert, sslKey: a.opts.sslKey,
	})
	if err != nil {
		return nil, err
	}
	a.client = c
	return c, nil
}

// out prints a view in the format of -o.
func (a *app) out(v view) error { return printer{format: a.opts.output, w: a.stdout}.show(v) }

// verb turns the body of a verb into a RunE: whatever it returns that is not a usage error is
// a failure (exit 1), so that only the command line's own mistakes exit 2.
func verb(body func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := body(cmd, args)
		var ue *usageError
		if err == nil || errors.As(err, &ue) {
			return err
		}
		var f *failure
		if errors.As(err, &f) {
			return err
		}
		return &failure{err: err}
	}
}

// args checks the number of positional arguments with a usage error that names them.
func args(min, max int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usagef("%s: missing arguments, want %s", cmd.Name(), names)
		case max >= 0 && len(args) > max:
			return usagef("%s: too many arguments (%s), want %s", cmd.Name(), strings.Join(args, " "), names)
		}
		return nil
	}
}

// dmStyleArgs accepts DM's single-dash spelling of the global flags (-master-addr=...).
func dmStyleArgs(args []string) []string {
	long := []string{"-master-addr", "-config", "-rpc-timeout", "-ssl-ca", "-ssl-cert", "-ssl-key", "-secret-key-path", "-version"}
	out := make([]string, len(args))
	for i, arg := range args {
		out[i] = arg
		for _, l := range long {
			if arg == l || strings.HasPrefix(arg, l+"=") {
				out[i] = "-" + arg
			}
		}
	}
	return out
}
