// Package config is the one config loader of the dm binaries: DM's TOML file (`-config`)
// overlaid by command-line flags with DM's names, plus the log set-up they share.
package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"
)

// Load parses args into fs (whose flags point into target) and, if `-config` names a file,
// decodes that TOML file into target. Explicit flags win over the file, the file wins over
// defaults, as in DM. Keys the file has that target does not know are returned so the caller
// can warn: DM's files carry keys (etcd tuning, for instance) that have no meaning here, and
// they must still load.
func Load(fs *flag.FlagSet, args []string, target any) (configFile string, unknown []string, err error) {
	fs.StringVar(&configFile, "config", "", "path to the TOML config file")
	if err := fs.Parse(args); err != nil {
		return "", nil, err
	}
	if fs.NArg() > 0 {
		return "", nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if configFile == "" {
		return "", nil, nil
	}
	md, err := toml.DecodeFile(configFile, target)
	if err != nil {
		return "", nil, fmt.Errorf("read config file %s: %w", configFile, err)
	}
	for _, k := range md.Undecoded() {
		unknown = append(unknown, k.String())
	}
	// Parse again so that flags given on the command line override the file.
	if err := fs.Parse(args); err != nil {
		return "", nil, err
	}
	return configFile, unknown, nil
}

// Version describes the binary: its name and the module version it was built from.
func Version(binary string) string {
	v := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		v = info.Main.Version
	}
	return fmt.Sprintf("%s %s (%s)", binary, v, runtime.Version())
}

// ErrHelp is returned by Load when -h was asked for.
var ErrHelp = flag.ErrHelp

// IsHelp reports whether err is the -h request.
func IsHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }

// Logger builds the process logger from DM's `log-level` and `log-file` keys. The returned
// closer closes the log file (if any).
func Logger(level, file string) (*slog.Logger, io.Closer, error) {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "", "info":
		lv = slog.LevelInfo
	case "debug":
		lv = slog.LevelDebug
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error", "fatal":
		lv = slog.LevelError
	default:
		return nil, nil, fmt.Errorf("log-level %q: want debug, info, warn or error", level)
	}
	var out io.Writer = os.Stderr
	var closer io.Closer = io.NopCloser(nil)
	if file != "" {
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("open log-file: %w", err)
		}
		out, closer = f, f
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: lv})), closer, nil
}

// Server is what a dm binary runs: started once, stopped on SIGINT/SIGTERM.
type Server interface {
	Start(ctx context.Context) error
	Stop() error
}

// Main is the life of a dm binary: load the config (flags bound in fs point into cfg), print
// the version on -V, set up logging, warn about unused keys, build the server with build,
// run it until SIGINT/SIGTERM, then stop it. It exits the process.
func Main(binary string, fs *flag.FlagSet, cfg any, logLevel, logFile *string, build func(*slog.Logger) (Server, error)) {
	// Every file a dm process creates (Raft log and snapshots, relay, dump, logs) is the
	// process's own: 0600 files in 0700 directories, whatever a library asks for.
	syscall.Umask(0o077)
	if err := run(binary, fs, cfg, logLevel, logFile, build); err != nil {
		if IsHelp(err) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", binary, err)
		os.Exit(1)
	}
}

func run(binary string, fs *flag.FlagSet, cfg any, logLevel, logFile *string, build func(*slog.Logger) (Server, error)) error {
	showVersion := fs.Bool("V", false, "print the version and exit")
	file, unknown, err := Load(fs, os.Args[1:], cfg)
	if err != nil {
		return err
	}
	if *showVersion {
		fmt.Println(Version(binary))
		return nil
	}
	logger, closer, err := Logger(*logLevel, *logFile)
	if err != nil {
		return err
	}
	defer closer.Close()
	for _, k := range unknown {
		logger.Warn("config key not used by this "+binary+"; ignored", "key", k, "file", file)
	}
	srv, err := build(logger)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("shutting down")
	return srv.Stop()
}
