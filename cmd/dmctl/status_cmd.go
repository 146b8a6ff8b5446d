package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
)

// watchInterval is how often query-status --watch refreshes.
const watchInterval = 2 * time.Second

func (a *app) queryStatusCmd() *cobra.Command {
	var more, watch bool
	cmd := &cobra.Command{
		Use:   "query-status [-s source ...] [task-name | task-file] [--more] [--watch]",
		Short: "Show the status of the tasks (all, or one), per source and subtask",
		Long: "Without a task, DM's summary of every task; with a task, -s or --more, one entry per source\n" +
			"with its subtasks. -o table shows one line per subtask; --watch refreshes it every 2 s.",
		Args: args(0, 1, "at most one task"),
		RunE: verb(func(cmd *cobra.Command, args []string) error {
			q := statusQuery{sources: a.opts.sources, more: more, table: a.opts.output == formatTable}
			if len(args) == 1 {
				task, err := taskNameArg(args[0])
				if err != nil {
					return err
				}
				q.task = task
			}
			c, err := a.api()
			if err != nil {
				return err
			}
			if watch {
				return a.watchStatus(cmd.Context(), c, q)
			}
			snap, err := fetchStatus(cmd.Context(), c, q)
			if err != nil {
				return err
			}
			return a.out(statusView(q, snap, nil))
		}),
	}
	cmd.Flags().BoolVar(&more, "more", false, "the full answer (per source) even without a task")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "refresh every 2 s until interrupted")
	return cmd
}

// statusQuery is what query-status was asked for.
type statusQuery struct {
	task    string
	sources []string
	more    bool
	table   bool // -o table: the relay reports are not needed
}

// statusView is DM's answer for the query (the summary per task only when DM gives it), or
// the table.
func statusView(q statusQuery, snap statusSnapshot, loadRates map[string]float64) view {
	var shape any = dmQueryStatusOf(snap)
	if q.task == "" && len(q.sources) == 0 && !q.more {
		if list, unreadableSeen := dmTaskListOf(snap); !unreadableSeen {
			shape = list
		}
	}
	return view{dm: shape, table: func(tw *tabwriter.Writer) { statusTable(tw, snap.subtasks, loadRates) }}
}

// fetchStatus reads the status of the task asked for, or of every task (that has one of the
// sources asked for), and in JSON mode the relay reports of the sources.
func fetchStatus(ctx context.Context, c *client, q statusQuery) (statusSnapshot, error) {
	tasks := []string{q.task}
	if q.task == "" {
		var err error
		if tasks, err = taskNames(ctx, c, q.sources); err != nil {
			return statusSnapshot{}, err
		}
	}
	var snap statusSnapshot
	for _, task := range tasks {
		subs, err := taskStatus(ctx, c, task, q.sources)
		if code, _ := errorCode(err); q.task == "" && code == int(fsm.CodeTaskNotExist) {
			continue // stopped since it was listed
		}
		if err != nil {
			return statusSnapshot{}, err
		}
		snap.subtasks = append(snap.subtasks, subs...)
	}
	sort.SliceStable(snap.subtasks, func(i, j int) bool {
		a, b := snap.subtasks[i], snap.subtasks[j]
		return a.Name < b.Name || a.Name == b.Name && a.SourceName < b.SourceName
	})
	if q.table || len(snap.subtasks) == 0 {
		return snap, nil
	}
	relays, err := relayReports(ctx, c)
	if err != nil {
		return statusSnapshot{}, err
	}
	snap.relays = relays
	return snap, nil
}

// taskNames lists the tasks, sorted; with sources, only those that have one of them (asking
// the others for those sources would be an error).
func taskNames(ctx context.Context, c *client, sources []string) ([]string, error) {
	var l restapi.GetTaskListResponse
	if err := c.get(ctx, pathOf("tasks"), nil, &l); err != nil {
		return nil, err
	}
	var out []string
	for _, t := range l.Data {
		if len(sources) == 0 || slices.ContainsFunc(t.SourceConfig.SourceConf, func(sc restapi.TaskSourceConf) bool {
			return slices.Contains(sources, sc.SourceName)
		}) {
			out = append(out, t.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// relayReports reads what every worker reports of its sources, relay logs included.
func relayReports(ctx context.Context, c *client) (map[relayKey]restapi.SourceStatus, error) {
	var l restapi.GetSourceListResponse
	if err := c.get(ctx, pathOf("sources"), url.Values{"with_status": {"true"}}, &l); err != nil {
		return nil, err
	}
	out := map[relayKey]restapi.SourceStatus{}
	for _, src := range l.Data {
		if src.StatusList == nil {
			continue
		}
		for _, st := range *src.StatusList {
			out[relayKey{src.SourceName, st.WorkerName}] = st
		}
	}
	return out, nil
}

// watchStatus prints the status every watchInterval until ctx ends (Ctrl-C), which is a
// success. A failed read is shown in its frame and tried again at the next one.
func (a *app) watchStatus(ctx context.Context, c *client, q statusQuery) error {
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	var prev []restapi.SubTaskStatus
	var prevAt time.Time
	for {
		at := time.Now()
		snap, err := fetchStatus(ctx, c, q)
		if ctx.Err() != nil {
			return nil
		}
		a.frameHeader(q, at)
		if err != nil {
			printError(a.opts.output, a.stdout, a.stdout, err)
		} else {
			if perr := a.out(statusView(q, snap, loadRatesOf(prev, snap.subtasks, at.Sub(prevAt)))); perr != nil {
				return perr
			}
			prev, prevAt = snap.subtasks, at
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// frameHeader starts a frame of --watch in table mode: the screen is cleared on a terminal;
// elsewhere frames are separated by their header line.
func (a *app) frameHeader(q statusQuery, at time.Time) {
	if a.opts.output != formatTable {
		return
	}
	if isTerminal(a.stdout) {
		fmt.Fprint(a.stdout, "\033[H\033[2J")
	} else {
		fmt.Fprintln(a.stdout)
	}
	what := "all tasks"
	if q.task != "" {
		what = "task " + q.task
	}
	fmt.Fprintf(a.stdout, "Every %s: query-status of %s, %s\n\n", watchInterval, what, at.Format(time.TimeOnly))
}

// isTerminal says whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
