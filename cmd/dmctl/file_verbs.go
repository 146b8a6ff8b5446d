package main

import (
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/dmyaml"
)

// updateSources is `operate-source update`: each file's source replaces the stored one in place
// (PUT /api/v1/sources/{name}); a password written as "******", as `config source` prints it,
// keeps the stored one. The relay settings of a file are not changed by an update.
func (a *app) updateSources(cmd *cobra.Command, files []string) error {
	if len(files) == 0 {
		return usagef("operate-source update: give the source files")
	}
	parsed, err := a.readSourceFiles(files)
	if err != nil {
		return err
	}
	c, err := a.api()
	if err != nil {
		return err
	}
	workers, err := listWorkers(cmd.Context(), c)
	if err != nil {
		return err
	}
	out, err := forEachSource(parsed, sourceName, "updating", func(sf dmyaml.SourceFile) (dmWorkerResponse, error) {
		name := sf.Source.SourceName
		if err := c.put(cmd.Context(), pathOf("sources", name), restapi.UpdateSourceRequest{Source: sf.Source}); err != nil {
			return dmWorkerResponse{}, err
		}
		return dmWorkerResponse{Result: true, Source: name, Worker: boundWorker(workers, name)}, nil
	})
	if err != nil {
		return err
	}
	return a.out(sourcesView(out, out.Sources))
}

func (a *app) checkTaskCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check-task [-s source ...] <task-file>",
		Short: "Run the precheck of a task.yaml against its sources and target, without starting it",
		Args:  args(1, 1, "the task file"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			req, err := a.taskRequest(args[0])
			if err != nil {
				return err
			}
			c, err := a.api()
			if err != nil {
				return err
			}
			var res restapi.CheckTaskResponse
			if err := c.post(cmd.Context(), pathOf("tasks", "check"), req, &res); err != nil {
				return err
			}
			if res.Result {
				return a.out(checkView(res))
			}
			// DM's answer for a failed check is {"result": false, "msg": ...}: the failure's.
			if a.opts.output == formatTable {
				if err := a.out(checkView(res)); err != nil {
					return err
				}
			}
			return failuref(0, "%s", res.Msg)
		}),
	}
}

// checkView is DM's {"result", "msg"}, or one line per check that did not pass.
func checkView(res restapi.CheckTaskResponse) view {
	return view{dm: dmResult{Result: res.Result, Msg: res.Msg}, table: func(tw *tabwriter.Writer) {
		row(tw, "CHECK", "STATE", "FINDING")
		for _, item := range res.Results {
			finding := ""
			if item.Errors != nil {
				for _, e := range *item.Errors {
					finding = e.ShortError
				}
			}
			row(tw, item.Name, string(item.State), oneLine(finding))
		}
	}}
}

// fileConfigCmds are `config task|source <name>`: the stored task or source as DM's file, which
// `operate-source update` (or start-task for a new task) takes back. Passwords are printed as
// "******", which an update reads as "keep the stored one".
func (a *app) fileConfigCmds() []*cobra.Command {
	task := &cobra.Command{
		Use:   "task <name>",
		Short: "Print a task as DM's task.yaml",
		Args:  args(1, 1, "the task's name"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			c, err := a.api()
			if err != nil {
				return err
			}
			var t restapi.Task
			if err := c.get(cmd.Context(), pathOf("tasks", args[0]), nil, &t); err != nil {
				return err
			}
			return a.printYAML(dmyaml.TaskYAML(t))
		}),
	}
	source := &cobra.Command{
		Use:   "source <name>",
		Short: "Print a source as DM's source.yaml",
		Args:  args(1, 1, "the source's name"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			c, err := a.api()
			if err != nil {
				return err
			}
			var s restapi.Source
			if err := c.get(cmd.Context(), pathOf("sources", args[0]), url.Values{}, &s); err != nil {
				return err
			}
			return a.printYAML(dmyaml.SourceYAML(dmyaml.SourceFile{Source: s}))
		}),
	}
	return []*cobra.Command{task, source}
}

// printYAML prints a file as it is: DM's dmctl prints config files as text too.
func (a *app) printYAML(data []byte, err error) error {
	if err != nil {
		return failuref(0, "format the file: %v", err)
	}
	_, err = a.stdout.Write(data)
	return err
}
