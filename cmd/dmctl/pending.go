package main

import (
	"github.com/spf13/cobra"
)

// The seams of the verbs and arguments that need what this dmctl does not have yet: DM's
// source.yaml and task.yaml (converted to the API's model), and the binlog error operations.
// Each is one function or command below, answering a clear failure (exit 1) until it is
// replaced:
//   - taskNameArg: "task name or task file" (stop/pause/resume-task, query-status,
//     binlog-schema); a .yaml/.yml path should be read for the task's name.
//   - sourceNameArg: "source id or source file" (operate-source show|stop).
//   - operate-source create|update and --print-sample-config (sources.go calls notYet).
//   - pendingCmds: start-task, check-task, binlog skip|replace|revert|list.
//   - pendingConfigCmds: config task|source (print the YAML a user could re-apply),
//     config export|import.

// Why a pending verb is not there yet.
const (
	needsYAML   = "it needs DM's source.yaml/task.yaml support"
	needsBinlog = "it needs the binlog error operations (skip, replace, revert) in the API"
)

// notYet is the failure of a verb or argument that needs DM's YAML files.
func notYet(what string) error { return unsupported(what, needsYAML) }

// unsupported is the failure of something this dmctl does not do yet, and why.
func unsupported(what, why string) error {
	return failuref(0, "%s is not supported by this dmctl yet: %s", what, why)
}

// pendingCmd is a DM verb that answers notYet, whatever its arguments.
func pendingCmd(use, short, what, why string) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short + " (not available yet)",
		DisableFlagParsing: true,
		RunE:               verb(func(*cobra.Command, []string) error { return unsupported(what, why) }),
	}
}

func (a *app) pendingCmds() []*cobra.Command {
	return []*cobra.Command{
		pendingCmd("check-task <task-file>", "Check a task.yaml against its sources and target", "check-task", needsYAML),
		pendingCmd("binlog skip|replace|revert|list <task> [-s source ...] [-b binlog-pos] [sql ...]",
			"Skip, replace or revert the statement a paused task failed on", "binlog", needsBinlog),
	}
}

func (a *app) pendingConfigCmds() []*cobra.Command {
	return []*cobra.Command{
		pendingCmd("task <name>", "Print a task as DM's task.yaml", "config task", needsYAML),
		pendingCmd("source <name>", "Print a source as DM's source.yaml", "config source", needsYAML),
		pendingCmd("export", "Export the cluster's tasks and sources as DM's files", "config export", needsYAML),
		pendingCmd("import", "Import tasks and sources from DM's files", "config import", needsYAML),
	}
}
