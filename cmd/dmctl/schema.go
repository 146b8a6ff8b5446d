package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/restapi"
)

// binlogSchemaCmd is DM's binlog-schema: the table structures a task's schema tracker holds
// (per source, -s; default every source of the task).
func (a *app) binlogSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "binlog-schema list|update|delete",
		Short: "Show or change the table structures a task's schema tracker holds",
		Args:  args(1, -1, "list, update or delete"),
		RunE: verb(func(_ *cobra.Command, args []string) error {
			return usagef("binlog-schema: unknown operation %q, want list, update or delete", args[0])
		}),
	}
	cmd.AddCommand(a.schemaListCmd(), a.schemaUpdateCmd(), a.schemaDeleteCmd())
	return cmd
}

// schemaTarget is the task, schema and table a binlog-schema verb names, and the subtasks
// (sources and workers) it applies to.
type schemaTarget struct {
	task, schema, table string
	subtasks            []restapi.SubTaskStatus
}

// schemaTargetOf connects to the masters and reads the subtasks the verb's arguments name.
func (a *app) schemaTargetOf(ctx context.Context, args []string) (*client, schemaTarget, error) {
	c, err := a.api()
	if err != nil {
		return nil, schemaTarget{}, err
	}
	task, err := taskNameArg(args[0])
	if err != nil {
		return nil, schemaTarget{}, err
	}
	t := schemaTarget{task: task}
	if len(args) > 1 {
		t.schema = args[1]
	}
	if len(args) > 2 {
		t.table = args[2]
	}
	t.subtasks, err = taskStatus(ctx, c, task, a.opts.sources)
	return c, t, err
}

// path is the route of the target under the subtask of source.
func (t schemaTarget) path(source string) string {
	segs := []string{"tasks", t.task, "sources", source, "schemas"}
	if t.schema != "" {
		segs = append(segs, t.schema)
	}
	if t.table != "" {
		segs = append(segs, t.table)
	}
	return pathOf(segs...)
}

// each calls fn for every subtask of the target and gathers DM's per-source answers; the
// first error fails the verb.
func (t schemaTarget) each(fn func(source string) (string, error)) (dmSourcesResponse, error) {
	out := dmSourcesResponse{Result: true, Sources: []dmWorkerResponse{}}
	for _, st := range t.subtasks {
		msg, err := fn(st.SourceName)
		if err != nil {
			return out, fmt.Errorf("source %q: %w", st.SourceName, err)
		}
		out.Sources = append(out.Sources, dmWorkerResponse{Result: true, Msg: msg, Source: st.SourceName, Worker: st.WorkerName})
	}
	return out, nil
}

func (a *app) schemaListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list [-s source ...] <task-name> [database [table]]",
		Short: "Show a tracked table's CREATE TABLE (or list the tracked databases, or a database's tables)",
		Args:  args(1, 3, "the task, then optionally a database and a table"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			c, t, err := a.schemaTargetOf(cmd.Context(), args)
			if err != nil {
				return err
			}
			out, err := t.each(func(source string) (string, error) {
				if t.table != "" {
					var st restapi.GetTaskTableStructureResponse
					err := c.get(cmd.Context(), t.path(source), nil, &st)
					return st.SchemaCreateSql, err
				}
				var names []string
				if err := c.get(cmd.Context(), t.path(source), nil, &names); err != nil {
					return "", err
				}
				b, err := json.Marshal(nonNil(names))
				return string(b), err
			})
			if err != nil {
				return err
			}
			return a.out(view{dm: out, table: func(tw *tabwriter.Writer) {
				for _, r := range out.Sources {
					fmt.Fprintf(tw, "-- source %s (worker %s)\n%s\n", r.Source, dash(r.Worker), r.Msg)
				}
			}})
		}),
	}
}

func (a *app) schemaUpdateCmd() *cobra.Command {
	var flush, sync, fromSource, fromTarget bool
	cmd := &cobra.Command{
		Use:   "update [-s source ...] <task-name> <database> <table> [schema-file] [--from-source|--from-target] [--flush] [--sync]",
		Short: "Replace a tracked table's structure with the CREATE TABLE of a file, of the upstream table or of its target table (the task must be paused)",
		Args:  args(3, 4, "the task, the database, the table and the file holding the CREATE TABLE (or --from-source or --from-target)"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			body, err := structureBody(args[3:], fromSource, fromTarget)
			if err != nil {
				return err
			}
			body.Flush, body.Sync = &flush, &sync
			c, t, err := a.schemaTargetOf(cmd.Context(), args[:3])
			if err != nil {
				return err
			}
			out, err := t.each(func(source string) (string, error) {
				return "", c.put(cmd.Context(), t.path(source), body)
			})
			if err != nil {
				return err
			}
			return a.out(sourcesView(out, out.Sources))
		}),
	}
	cmd.Flags().BoolVar(&flush, "flush", true, "also write the structure into the checkpoint")
	cmd.Flags().BoolVar(&sync, "sync", true, "also hand the structure to optimistic shard coordination")
	cmd.Flags().BoolVar(&fromSource, "from-source", false, "take the structure of the upstream table (SHOW CREATE TABLE on the source) instead of a file")
	cmd.Flags().BoolVar(&fromTarget, "from-target", false, "take the structure of the target table the task routes the table to instead of a file")
	return cmd
}

// structureBody is the request of binlog-schema update: the statement of the schema file
// (file holds its path, or nothing), or the worker's reading of the upstream or target table.
// Exactly one of the three is a usage error otherwise, as in DM.
func structureBody(file []string, fromSource, fromTarget bool) (restapi.OperateTaskTableStructureRequest, error) {
	var body restapi.OperateTaskTableStructureRequest
	switch {
	case fromSource && fromTarget:
		return body, usagef("binlog-schema update: give --from-source or --from-target, not both")
	case len(file) > 0 && (fromSource || fromTarget):
		return body, usagef("binlog-schema update: give a schema file or --from-source/--from-target, not both")
	case fromSource:
		body.FromSource = &fromSource
	case fromTarget:
		body.FromTarget = &fromTarget
	case len(file) == 0:
		return body, usagef("binlog-schema update: give the file holding the CREATE TABLE statement, or --from-source or --from-target")
	default:
		sql, err := os.ReadFile(file[0])
		if err != nil {
			return body, fmt.Errorf("read the schema file: %w", err)
		}
		text := string(sql)
		body.SqlContent = &text
	}
	return body, nil
}

func (a *app) schemaDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete [-s source ...] <task-name> <database> <table>",
		Short: "Forget a tracked table (it is read from the target when next needed; the task must be paused)",
		Args:  args(3, 3, "the task, the database and the table"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			c, t, err := a.schemaTargetOf(cmd.Context(), args)
			if err != nil {
				return err
			}
			out, err := t.each(func(source string) (string, error) {
				return "", c.del(cmd.Context(), t.path(source), nil)
			})
			if err != nil {
				return err
			}
			return a.out(sourcesView(out, out.Sources))
		}),
	}
}
