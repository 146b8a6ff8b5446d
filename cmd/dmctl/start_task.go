package main

import (
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/restapi"
)

// dmStartTaskResponse is DM's answer of start-task (and check-task's checkResult): the sources
// and their workers, and the precheck's findings.
type dmStartTaskResponse struct {
	Result      bool               `json:"result"`
	Msg         string             `json:"msg"`
	Sources     []dmWorkerResponse `json:"sources"`
	CheckResult string             `json:"checkResult"`
}

func (a *app) startTaskCmd() *cobra.Command {
	var removeMeta bool
	cmd := &cobra.Command{
		Use:   "start-task [-s source ...] [--remove-meta] <task-file>",
		Short: "Create and start a task from DM's task.yaml (on all of its sources, or those of -s)",
		Args:  args(1, 1, "the task file"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			req, err := a.taskRequest(args[0])
			if err != nil {
				return err
			}
			task := req.Task
			c, err := a.api()
			if err != nil {
				return err
			}
			if removeMeta {
				req.RemoveMeta = &removeMeta
			}
			hdr, err := c.do(cmd.Context(), request{method: http.MethodPost, path: pathOf("tasks"), body: req})
			if err != nil {
				return err
			}
			subs, err := taskStatus(cmd.Context(), c, task.Name, a.opts.sources)
			if err != nil {
				return err
			}
			out := dmStartTaskResponse{Result: true, Sources: []dmWorkerResponse{}, CheckResult: strings.Join(hdr.Values(restapi.HeaderWarning), "\n")}
			for _, s := range subs {
				out.Sources = append(out.Sources, dmWorkerResponse{Result: true, Source: s.SourceName, Worker: s.WorkerName})
			}
			return a.out(startTaskView(out))
		}),
	}
	cmd.Flags().BoolVar(&removeMeta, "remove-meta", false, "drop the task's checkpoints first, so it starts from scratch")
	return cmd
}

// startTaskView is DM's answer, or one line per source and the precheck's warnings.
func startTaskView(out dmStartTaskResponse) view {
	return view{dm: out, table: func(tw *tabwriter.Writer) {
		sourcesView(out, out.Sources).table(tw)
		for _, w := range strings.Split(out.CheckResult, "\n") {
			if w != "" {
				row(tw, "warning: "+w)
			}
		}
	}}
}

// taskRequest is the create (or check) body of a task file, on the sources of -s (all when
// none are given).
func (a *app) taskRequest(path string) (restapi.CreateTaskRequest, error) {
	task, err := a.readTaskFile(path)
	if err != nil {
		return restapi.CreateTaskRequest{}, err
	}
	req := restapi.CreateTaskRequest{Task: task}
	if len(a.opts.sources) > 0 {
		req.SourceNameList = &a.opts.sources
	}
	return req, nil
}
