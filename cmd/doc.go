// Package cmd holds the dm binaries: dm-master, dm-worker and dmctl, each in its own folder,
// and their shared flag/TOML loader in cmd/internal/config.
package cmd
