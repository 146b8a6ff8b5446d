package main

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/restapi"
)

// dmShardLocks is DM's answer of shard-ddl-lock: the locks as DM's DDLLock, with dm's
// resolution state after DM's fields.
type dmShardLocks struct {
	Result bool        `json:"result"`
	Msg    string      `json:"msg"`
	Locks  []dmDDLLock `json:"locks"`
}

type dmDDLLock struct {
	ID       string   `json:"ID"`
	Task     string   `json:"task"`
	Mode     string   `json:"mode"`
	Owner    string   `json:"owner"`
	DDLs     []string `json:"DDLs"`
	Synced   []string `json:"synced"`
	Unsynced []string `json:"unsynced"`
	Resolved bool     `json:"resolved"`
	Action   string   `json:"action"`
	Done     bool     `json:"done"`
}

// shardDDLLockCmd is DM's `shard-ddl-lock [task]`: list the shard-DDL locks (of one task);
// `shard-ddl-lock unlock` resolves one by hand.
func (a *app) shardDDLLockCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "shard-ddl-lock [task]",
		Short: "List the shard-DDL locks (of one task); see `shard-ddl-lock unlock` to resolve one",
		Args:  args(0, 1, "at most one task"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			var q url.Values
			if len(args) == 1 {
				task, err := taskNameArg(args[0])
				if err != nil {
					return err
				}
				q = url.Values{"task_name": {task}}
			}
			c, err := a.api()
			if err != nil {
				return err
			}
			var l restapi.GetShardDDLLockListResponse
			if err := c.get(cmd.Context(), pathOf("shard-ddl-locks"), q, &l); err != nil {
				return err
			}
			return a.out(shardLocksView(l.Data))
		}),
	}
	cmd.AddCommand(a.unlockCmd())
	return cmd
}

func shardLocksView(locks []restapi.ShardDDLLock) view {
	out := dmShardLocks{Result: true, Locks: []dmDDLLock{}}
	for _, l := range locks {
		out.Locks = append(out.Locks, dmDDLLock{
			ID: l.Id, Task: l.TaskName, Mode: string(l.Mode), Owner: l.Owner, DDLs: nonNil(l.Ddls),
			Synced: nonNil(l.Synced), Unsynced: nonNil(l.Unsynced), Resolved: l.Resolved, Action: l.Action, Done: l.Done,
		})
	}
	return view{dm: out, table: func(tw *tabwriter.Writer) {
		row(tw, "ID", "TASK", "MODE", "OWNER", "SYNCED", "UNSYNCED", "STATE", "DDLS")
		for _, l := range locks {
			state := "waiting"
			switch {
			case l.Done:
				state = "done"
			case l.Resolved:
				state = "resolved (" + l.Action + ")"
			}
			row(tw, l.Id, l.TaskName, string(l.Mode), l.Owner, listCell(l.Synced), listCell(l.Unsynced), state, strings.Join(l.Ddls, "; "))
		}
	}}
}

func listCell(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

func (a *app) unlockCmd() *cobra.Command {
	var owner, action string
	cmd := &cobra.Command{
		Use:   "unlock <lock-id>",
		Short: "Resolve a shard-DDL lock now: exec (the owner runs its DDLs) or skip (nobody does)",
		Long: "Resolve a shard-DDL lock without waiting for the sources that have not reported its DDLs.\n" +
			"--action exec (default) has the owner (--owner, or the current owner) run the DDLs in the target;\n" +
			"--action skip has nobody run them. Lock ids look like task-`db`.`tbl` (quote them in the shell).\n" +
			"DM's -o for the owner is --owner here: -o is dmctl's output format.",
		Args: args(1, 1, "the lock id"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			if action != "exec" && action != "skip" {
				return usagef("--action must be exec or skip, not %q", action)
			}
			body := restapi.UnlockShardDDLLockRequest{Action: (*restapi.UnlockShardDDLLockRequestAction)(&action)}
			if owner != "" {
				body.Owner = &owner
			}
			c, err := a.api()
			if err != nil {
				return err
			}
			var lock restapi.ShardDDLLock
			if err := c.post(cmd.Context(), pathOf("shard-ddl-locks", args[0], "unlock"), body, &lock); err != nil {
				return err
			}
			return a.out(messageView(ok(), fmt.Sprintf("lock %s resolved: %s by %s", lock.Id, lock.Action, dash(lock.Owner))))
		}),
	}
	cmd.Flags().StringVar(&owner, "owner", "", "source that runs the DDLs (exec only; default: the lock's owner)")
	cmd.Flags().StringVarP(&action, "action", "a", "exec", "exec or skip")
	return cmd
}
