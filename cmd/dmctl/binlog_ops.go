package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/restapi"
)

// binlogCmd is DM's `binlog skip|replace|revert|list <task>`: operations on the binlog event a
// paused subtask stopped on (or, with -b, on an event ahead), served by the task's
// binlog-operations route and kept in the masters' Raft state until the event is past.
func (a *app) binlogCmd() *cobra.Command {
	var pos string
	cmd := &cobra.Command{
		Use:   "binlog skip|replace|revert|list <task-name | task-file> [-s source ...] [-b binlog-pos] [sql;sql;...]",
		Short: "Skip or replace the binlog event a paused task stopped on (or one ahead with -b), revert or list such operations",
		Args:  args(2, -1, "skip, replace, revert or list, then the task (and, for replace, the statements)"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			op := args[0]
			task, err := taskNameArg(args[1])
			if err != nil {
				return err
			}
			sqls := args[2:]
			switch {
			case op == "replace" && len(sqls) == 0:
				return usagef("binlog replace: give the statements to run instead, e.g. \"ALTER TABLE ...; UPDATE ...;\"")
			case op != "replace" && len(sqls) > 0:
				return usagef("binlog %s takes no statements", op)
			}
			switch op {
			case "skip", "replace", "revert":
				return a.operateBinlog(cmd, task, op, pos, sqls)
			case "list":
				return a.listBinlogOps(cmd, task, pos)
			default:
				return usagef("binlog: unknown operation %q, want skip, replace, revert or list", op)
			}
		}),
	}
	cmd.Flags().StringVarP(&pos, "binlog-pos", "b", "", "the event's start position upstream, file:pos (default: where the subtask stopped)")
	return cmd
}

func (a *app) operateBinlog(cmd *cobra.Command, task, op, pos string, sqls []string) error {
	c, err := a.api()
	if err != nil {
		return err
	}
	req := restapi.BinlogOperationRequest{Op: restapi.BinlogOperationRequestOp(op)}
	if pos != "" {
		req.BinlogPos = &pos
	}
	if len(a.opts.sources) > 0 {
		req.SourceNameList = &a.opts.sources
	}
	if len(sqls) > 0 {
		joined := []string{strings.Join(sqls, " ")}
		req.Sqls = &joined
	}
	var res restapi.BinlogOperationListResponse
	if err := c.post(cmd.Context(), pathOf("tasks", task, "binlog-operations"), req, &res); err != nil {
		return err
	}
	return a.out(binlogOpsView(res.Data))
}

func (a *app) listBinlogOps(cmd *cobra.Command, task, pos string) error {
	c, err := a.api()
	if err != nil {
		return err
	}
	q := url.Values{}
	for _, s := range a.opts.sources {
		q.Add("source_name_list", s)
	}
	if pos != "" {
		q.Set("binlog_pos", pos)
	}
	var res restapi.BinlogOperationListResponse
	if err := c.get(cmd.Context(), pathOf("tasks", task, "binlog-operations"), q, &res); err != nil {
		return err
	}
	return a.out(binlogOpsView(res.Data))
}

// dmBinlogOp is one operation as DM's `binlog list` puts it in a source's msg.
type dmBinlogOp struct {
	Op        string   `json:"op"`
	BinlogPos string   `json:"binlogPos"`
	Sqls      []string `json:"sqls"`
	Resumed   bool     `json:"resumed,omitempty"`
}

// binlogOpsView is DM's answer (per source, its operations as JSON in msg), or one line per
// operation.
func binlogOpsView(ops []restapi.BinlogOperation) view {
	out := dmSourcesResponse{Result: true, Sources: []dmWorkerResponse{}}
	bySource := map[string][]dmBinlogOp{}
	workers := map[string]string{}
	var order []string
	for _, o := range ops {
		if _, seen := bySource[o.SourceName]; !seen {
			order = append(order, o.SourceName)
		}
		bySource[o.SourceName] = append(bySource[o.SourceName], dmBinlogOp{Op: string(o.Op), BinlogPos: o.BinlogPos, Sqls: o.Sqls, Resumed: o.Resumed != nil && *o.Resumed})
		if o.WorkerName != nil {
			workers[o.SourceName] = *o.WorkerName
		}
	}
	for _, s := range order {
		msg, _ := json.Marshal(bySource[s])
		out.Sources = append(out.Sources, dmWorkerResponse{Result: true, Msg: string(msg), Source: s, Worker: workers[s]})
	}
	return view{dm: out, table: func(tw *tabwriter.Writer) {
		row(tw, "SOURCE", "WORKER", "OP", "BINLOG-POS", "STATEMENTS", "RESUMED")
		for _, o := range ops {
			resumed := "-"
			if o.Resumed != nil {
				resumed = map[bool]string{true: "yes", false: "no"}[*o.Resumed]
			}
			worker := ""
			if o.WorkerName != nil {
				worker = *o.WorkerName
			}
			row(tw, o.SourceName, dash(worker), string(o.Op), o.BinlogPos, dash(oneLine(strings.Join(o.Sqls, " "))), resumed)
		}
	}}
}
