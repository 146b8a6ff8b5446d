package main

import (
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
)

// DM's messages for a source without a worker.
const (
	msgNoFreeWorker   = "source is added but there is no free worker to bound"
	msgStoppedUnbound = "source is stopped and hasn't bound to worker before being stopped"
)

func (a *app) operateSourceCmd() *cobra.Command {
	var sample bool
	var worker string
	cmd := &cobra.Command{
		Use:   "operate-source create|update|stop|show [config-file | source-id ...] [--print-sample-config]",
		Short: "Create (from DM's source.yaml), update, stop or show sources",
		Args:  args(0, -1, "create, update, stop or show, then config files or source ids"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			if sample {
				_, err := fmt.Fprint(a.stdout, sampleSourceConfig)
				return err
			}
			if len(args) == 0 {
				return usagef("operate-source: give create, update, stop or show")
			}
			switch args[0] {
			case "create":
				return a.createSources(cmd, args[1:], worker)
			case "update":
				return a.updateSources(cmd, args[1:])
			}
			ids := slices.Clone(a.opts.sources)
			for _, arg := range args[1:] {
				id, err := sourceNameArg(arg)
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			switch args[0] {
			case "show":
				return a.showSources(cmd, ids)
			case "stop":
				if len(ids) == 0 {
					return usagef("operate-source stop: give the sources (source ids or config files)")
				}
				return a.stopSources(cmd, ids)
			default:
				return usagef("operate-source: unknown operation %q, want create, update, stop or show", args[0])
			}
		}),
	}
	cmd.Flags().BoolVarP(&sample, "print-sample-config", "p", false, "print a sample source.yaml")
	cmd.Flags().StringVarP(&worker, "worker", "w", "", "the worker to bind a created source to")
	return cmd
}

// showSources is `operate-source show`: each source (all, or those named) and its worker.
func (a *app) showSources(cmd *cobra.Command, ids []string) error {
	c, err := a.api()
	if err != nil {
		return err
	}
	var l restapi.GetSourceListResponse
	if err := c.get(cmd.Context(), pathOf("sources"), nil, &l); err != nil {
		return err
	}
	workers, err := listWorkers(cmd.Context(), c)
	if err != nil {
		return err
	}
	var shown []restapi.Source
	for _, id := range ids {
		if !slices.ContainsFunc(l.Data, func(s restapi.Source) bool { return s.SourceName == id }) {
			return failuref(fsm.CodeSourceNotExist, "source %q does not exist", id)
		}
	}
	for _, s := range l.Data {
		if len(ids) == 0 || slices.Contains(ids, s.SourceName) {
			shown = append(shown, s)
		}
	}
	out := dmSourcesResponse{Result: true, Sources: []dmWorkerResponse{}}
	for _, s := range shown {
		r := dmWorkerResponse{Result: true, Source: s.SourceName, Worker: boundWorker(workers, s.SourceName)}
		if r.Worker == "" {
			r.Msg = msgNoFreeWorker
		}
		out.Sources = append(out.Sources, r)
	}
	return a.out(view{dm: out, table: func(tw *tabwriter.Writer) {
		row(tw, "SOURCE", "WORKER", "HOST", "PORT", "USER", "GTID")
		for _, s := range shown {
			gtid := s.EnableGtid != nil && *s.EnableGtid
			row(tw, s.SourceName, dash(boundWorker(workers, s.SourceName)), s.Host, strconv.Itoa(s.Port), s.User, strconv.FormatBool(gtid))
		}
	}})
}

// stopSources is `operate-source stop`: delete the sources, one after the other, as DM does.
func (a *app) stopSources(cmd *cobra.Command, ids []string) error {
	c, err := a.api()
	if err != nil {
		return err
	}
	workers, err := listWorkers(cmd.Context(), c)
	if err != nil {
		return err
	}
	out, err := forEachSource(ids, func(id string) string { return id }, "stopping", func(id string) (dmWorkerResponse, error) {
		if err := c.del(cmd.Context(), pathOf("sources", id), nil); err != nil {
			return dmWorkerResponse{}, err
		}
		r := dmWorkerResponse{Result: true, Source: id, Worker: boundWorker(workers, id)}
		if r.Worker == "" {
			r.Msg = msgStoppedUnbound
		}
		return r, nil
	})
	if err != nil {
		return err
	}
	return a.out(sourcesView(out, out.Sources))
}

// forEachSource runs op on each item in turn, as DM does, and stops at the first failure,
// saying how many sources went through before it.
func forEachSource[T any](items []T, name func(T) string, doing string, op func(T) (dmWorkerResponse, error)) (dmSourcesResponse, error) {
	out := dmSourcesResponse{Result: true, Sources: []dmWorkerResponse{}}
	for _, it := range items {
		r, err := op(it)
		if err != nil {
			if len(out.Sources) > 0 {
				return out, fmt.Errorf("source %q (after %s %d other source(s)): %w", name(it), doing, len(out.Sources), err)
			}
			return out, err
		}
		out.Sources = append(out.Sources, r)
	}
	return out, nil
}

func (a *app) transferSourceCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "transfer-source <source-id> <worker-id>",
		Short: "Bind a source to another (free) worker; its tasks must be paused first",
		Args:  args(2, 2, "the source and the worker"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			c, err := a.api()
			if err != nil {
				return err
			}
			if err := c.post(cmd.Context(), pathOf("sources", args[0], "transfer"), restapi.WorkerNameRequest{WorkerName: args[1]}, nil); err != nil {
				return err
			}
			return a.out(messageView(ok(), fmt.Sprintf("source %q is moving to worker %q (see list-member --worker)", args[0], args[1])))
		}),
	}
}
