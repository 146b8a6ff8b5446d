// Command dmctl is the command-line client of a dm cluster, with DM's verbs, flags and JSON
// output. It speaks the OpenAPI of any master (which forwards to the leader), so it needs
// nothing but an address (see app.go for the global flags and exit codes, and one file per
// group of verbs).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// An interrupt ends query-status --watch cleanly; other verbs stop their call.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
