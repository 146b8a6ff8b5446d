package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/restapi"
)

func (a *app) startRelayCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "start-relay -s source [worker ...]",
		Short: "Have workers (default: the source's bound worker) pull the source's relay log",
		Args:  args(0, -1, "the workers"),
		RunE: verb(func(cmd *cobra.Command, workers []string) error {
			return a.startStopRelay(cmd, workers, true)
		}),
	}
}

func (a *app) stopRelayCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stop-relay -s source [worker ...]",
		Short: "Stop workers (default: all that do) pulling the source's relay log",
		Args:  args(0, -1, "the workers"),
		RunE: verb(func(cmd *cobra.Command, workers []string) error {
			return a.startStopRelay(cmd, workers, false)
		}),
	}
}

// oneSource is the single -s a relay verb needs.
func (a *app) oneSource(verbName string) (string, error) {
	if len(a.opts.sources) != 1 {
		return "", usagef("%s: give exactly one source with -s", verbName)
	}
	return a.opts.sources[0], nil
}

// startStopRelay starts or stops relay logs on the named workers; without names, on the
// source's bound worker (start) or on every worker pulling its relay log (stop), as DM's
// dmctl does since relay follows the binding.
func (a *app) startStopRelay(cmd *cobra.Command, workers []string, start bool) error {
	source, err := a.oneSource(cmd.Name())
	if err != nil {
		return err
	}
	c, err := a.api()
	if err != nil {
		return err
	}
	if len(workers) == 0 {
		if workers, err = defaultRelayWorkers(cmd.Context(), c, source, start); err != nil {
			return err
		}
	}
	if start {
		err = c.post(cmd.Context(), pathOf("sources", source, "start-relay"), restapi.StartRelayRequest{WorkerNameList: workers}, nil)
	} else {
		err = c.post(cmd.Context(), pathOf("sources", source, "stop-relay"), restapi.StopRelayRequest{WorkerNameList: workers}, nil)
	}
	if err != nil {
		return err
	}
	out := dmSourcesResponse{Result: true, Sources: []dmWorkerResponse{}}
	for _, w := range workers {
		out.Sources = append(out.Sources, dmWorkerResponse{Result: true, Source: source, Worker: w})
	}
	return a.out(sourcesView(out, out.Sources))
}

// defaultRelayWorkers: to start, the source's bound worker; to stop, the workers whose
// report of the source has a relay log.
func defaultRelayWorkers(ctx context.Context, c *client, source string, start bool) ([]string, error) {
	if start {
		workers, err := listWorkers(ctx, c)
		if err != nil {
			return nil, err
		}
		if w := boundWorker(workers, source); w != "" {
			return []string{w}, nil
		}
		return nil, failuref(0, "source %q has no bound worker: name the workers that should pull its relay log", source)
	}
	var l restapi.GetSourceStatusResponse
	if err := c.get(ctx, pathOf("sources", source, "status"), nil, &l); err != nil {
		return nil, err
	}
	var out []string
	for _, st := range l.Data {
		if st.RelayStatus != nil && st.WorkerName != "" && !slices.Contains(out, st.WorkerName) {
			out = append(out, st.WorkerName)
		}
	}
	if len(out) == 0 {
		return nil, failuref(0, "no worker pulls the relay log of source %q", source)
	}
	return out, nil
}

func (a *app) pauseRelayCmd() *cobra.Command {
	return a.relayStageCmd("pause-relay", "PauseRelay", "pause-relay", "Pause the relay log of sources")
}

func (a *app) resumeRelayCmd() *cobra.Command {
	return a.relayStageCmd("resume-relay", "ResumeRelay", "resume-relay", "Resume the relay log of sources")
}

// relayStageCmd pauses or resumes the relay logs of the sources given with -s.
func (a *app) relayStageCmd(name, op, route, short string) *cobra.Command {
	return &cobra.Command{
		Use:   name + " -s source ...",
		Short: short,
		Args:  args(0, 0, "no arguments (the sources are -s)"),
		RunE: verb(func(cmd *cobra.Command, _ []string) error {
			if len(a.opts.sources) == 0 {
				return usagef("%s: give the sources with -s", name)
			}
			c, err := a.api()
			if err != nil {
				return err
			}
			workers, err := listWorkers(cmd.Context(), c)
			if err != nil {
				return err
			}
			serving := workersOf(workers)
			out := dmOpResponse{Op: op, Result: true, Sources: []dmWorkerResponse{}}
			for _, s := range a.opts.sources {
				if err := c.post(cmd.Context(), pathOf("sources", s, route), nil, nil); err != nil {
					if len(out.Sources) > 0 {
						return fmt.Errorf("source %q (after %d other source(s)): %w", s, len(out.Sources), err)
					}
					return err
				}
				for _, w := range serving[s] {
					out.Sources = append(out.Sources, dmWorkerResponse{Result: true, Source: s, Worker: w})
				}
				if len(serving[s]) == 0 {
					out.Sources = append(out.Sources, dmWorkerResponse{Result: true, Source: s})
				}
			}
			return a.out(sourcesView(out, out.Sources))
		}),
	}
}

func (a *app) purgeRelayCmd() *cobra.Command {
	var file, subDir string
	cmd := &cobra.Command{
		Use:   "purge-relay -s source -f filename [--sub-dir dir]",
		Short: "Purge the source's relay log files before a file (what running tasks still read stays)",
		Args:  args(0, 0, "no arguments"),
		RunE: verb(func(cmd *cobra.Command, _ []string) error {
			source, err := a.oneSource(cmd.Name())
			if err != nil {
				return err
			}
			if file == "" {
				return usagef("purge-relay: give the file to purge before with -f")
			}
			c, err := a.api()
			if err != nil {
				return err
			}
			req := restapi.DMAPIPurgeRelayJSONRequestBody{RelayBinlogName: file}
			if subDir != "" {
				req.RelayDir = &subDir
			}
			var res restapi.PurgeRelayResponse
			if err := c.post(cmd.Context(), pathOf("sources", source, "relay", "purge"), req, &res); err != nil {
				return err
			}
			return a.out(purgeRelayView(source, res.Data))
		}),
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "purge the relay log files before this one")
	cmd.Flags().StringVar(&subDir, "sub-dir", "", "the relay log's directory on the workers (checked, not chosen: each worker has one per source)")
	return cmd
}

// purgeRelayView is DM's answer (one entry per relay worker, what it removed in msg), or one
// line per worker.
func purgeRelayView(source string, results []restapi.PurgeRelayWorkerResult) view {
	out := dmSourcesResponse{Result: true, Sources: []dmWorkerResponse{}}
	for _, r := range results {
		out.Sources = append(out.Sources, dmWorkerResponse{Result: true, Msg: purgeSummary(r), Source: source, Worker: r.WorkerName})
	}
	return view{dm: out, table: func(tw *tabwriter.Writer) {
		row(tw, "SOURCE", "WORKER", "PURGED", "KEPT-FROM", "MESSAGE")
		for _, r := range results {
			row(tw, source, r.WorkerName, dash(strings.Join(r.PurgedFiles, ",")), dash(r.KeptFrom), dash(r.Msg))
		}
	}}
}

// purgeSummary says what one worker removed, and why it stopped early if it did.
func purgeSummary(r restapi.PurgeRelayWorkerResult) string {
	s := "purged nothing"
	if len(r.PurgedFiles) > 0 {
		s = "purged " + strings.Join(r.PurgedFiles, ", ")
	}
	if r.KeptFrom != "" {
		s += "; kept from " + r.KeptFrom
	}
	if r.Msg != "" {
		s += " (" + r.Msg + ")"
	}
	return s
}
