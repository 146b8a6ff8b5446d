package main

import (
	"context"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/restapi"
)

// taskOp is one of DM's task operations on an existing task.
type taskOp struct {
	use, short string
	op         string // DM's TaskOp name in the answer
	method     string
	action     string // the route under /tasks/{name}, "" for the task itself
}

func (a *app) stopTaskCmd() *cobra.Command {
	return a.taskOpCmd(taskOp{use: "stop-task [-s source ...] <task-name | task-file>", short: "Stop a task (of some sources): remove its subtasks, keeping the checkpoints", op: "Stop", method: http.MethodDelete})
}

func (a *app) pauseTaskCmd() *cobra.Command {
	return a.taskOpCmd(taskOp{use: "pause-task [-s source ...] <task-name | task-file>", short: "Pause a task (on some sources)", op: "Pause", method: http.MethodPost, action: "pause"})
}

func (a *app) resumeTaskCmd() *cobra.Command {
	return a.taskOpCmd(taskOp{use: "resume-task [-s source ...] <task-name | task-file>", short: "Resume a paused task (on some sources)", op: "Resume", method: http.MethodPost, action: "resume"})
}

// taskOpCmd reads the task's subtasks first (the sources and workers DM's answer names, and a
// clear error when the task or a source is unknown), then operates.
func (a *app) taskOpCmd(t taskOp) *cobra.Command {
	return &cobra.Command{
		Use:   t.use,
		Short: t.short,
		Args:  args(1, 1, "the task's name"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			task, err := taskNameArg(args[0])
			if err != nil {
				return err
			}
			c, err := a.api()
			if err != nil {
				return err
			}
			subs, err := taskStatus(cmd.Context(), c, task, a.opts.sources)
			if err != nil {
				return err
			}
			if t.method == http.MethodDelete {
				err = c.del(cmd.Context(), pathOf("tasks", task), sourceQuery(a.opts.sources))
			} else {
				// The body is the list of sources; absent means all of them.
				var body any
				if len(a.opts.sources) > 0 {
					body = a.opts.sources
				}
				err = c.post(cmd.Context(), pathOf("tasks", task, t.action), body, nil)
			}
			if err != nil {
				return err
			}
			out := dmOpResponse{Op: t.op, Result: true, Sources: []dmWorkerResponse{}}
			for _, s := range subs {
				out.Sources = append(out.Sources, dmWorkerResponse{Result: true, Source: s.SourceName, Worker: s.WorkerName})
			}
			return a.out(sourcesView(out, out.Sources))
		}),
	}
}

// taskStatus is the status of a task's subtasks (of some sources).
func taskStatus(ctx context.Context, c *client, task string, sources []string) ([]restapi.SubTaskStatus, error) {
	var l restapi.GetTaskStatusResponse
	err := c.get(ctx, pathOf("tasks", task, "status"), sourceQuery(sources), &l)
	return l.Data, err
}
