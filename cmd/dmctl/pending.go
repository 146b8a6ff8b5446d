package main

import (
	"github.com/spf13/cobra"
)

// DM verbs this dmctl does not serve, each answering a clear failure (exit 1) that says why.

// Why a verb is not served.
const (
	// DM's config export writes every task and source with its password; the API never hands a
	// password out, so an exported cluster could not be imported again.
	noExport = "the API never returns passwords, so exported files could not be applied again; use `config task|source <name>` and keep the passwords yourself"
)

// unsupported is the failure of something this dmctl does not do, and why.
func unsupported(what, why string) error {
	return failuref(0, "%s is not supported by this dmctl: %s", what, why)
}

// pendingCmd is a DM verb that answers unsupported, whatever its arguments.
func pendingCmd(use, short, what, why string) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short + " (not supported)",
		DisableFlagParsing: true,
		RunE:               verb(func(*cobra.Command, []string) error { return unsupported(what, why) }),
	}
}

func (a *app) pendingConfigCmds() []*cobra.Command {
	return []*cobra.Command{
		pendingCmd("export", "Export the cluster's tasks and sources as DM's files", "config export", noExport),
		pendingCmd("import", "Import tasks and sources from DM's files", "config import", noExport),
	}
}
