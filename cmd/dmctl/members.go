package main

import (
	"context"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
)

// DM's list-member answer: one entry per kind asked for, in the order leader, master, worker.
type dmListMember struct {
	Result  bool        `json:"result"`
	Msg     string      `json:"msg"`
	Members []dmMembers `json:"members"`
}

// dmMembers is DM's oneof Members: exactly one field is set.
type dmMembers struct {
	Leader *dmLeader      `json:"leader,omitempty"`
	Master *dmMasterGroup `json:"master,omitempty"`
	Worker *dmWorkerGroup `json:"worker,omitempty"`
}

type dmLeader struct {
	Msg  string `json:"msg"`
	Name string `json:"name"`
	Addr string `json:"addr"`
}

type dmMasterGroup struct {
	Msg     string         `json:"msg"`
	Masters []dmMasterInfo `json:"masters"`
}

// dmMasterInfo is DM's MasterInfo without memberID (an etcd member id, which dm's Raft group
// has no equivalent of). peerURLs stays empty: the API does not serve the Raft address.
type dmMasterInfo struct {
	Name       string   `json:"name"`
	Alive      bool     `json:"alive"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
}

type dmWorkerGroup struct {
	Msg     string         `json:"msg"`
	Workers []dmWorkerInfo `json:"workers"`
}

type dmWorkerInfo struct {
	Name   string `json:"name"`
	Addr   string `json:"addr"`
	Stage  string `json:"stage"`
	Source string `json:"source"`
}

func (a *app) listMemberCmd() *cobra.Command {
	var leader, master, worker bool
	var names []string
	cmd := &cobra.Command{
		Use:   "list-member [--leader] [--master] [--worker] [--name name ...]",
		Short: "List the masters (and the leader) and the workers",
		Args:  args(0, 0, "no arguments"),
		RunE: verb(func(cmd *cobra.Command, _ []string) error {
			if !leader && !master && !worker {
				leader, master, worker = true, true, true
			}
			c, err := a.api()
			if err != nil {
				return err
			}
			var masters []restapi.ClusterMaster
			var workers []restapi.ClusterWorker
			if leader || master {
				if masters, err = listMasters(cmd.Context(), c); err != nil {
					return err
				}
			}
			if worker {
				if workers, err = listWorkers(cmd.Context(), c); err != nil {
					return err
				}
			}
			sel := memberSelection{leader: leader, master: master, worker: worker, names: names}
			return a.out(membersView(sel, masters, workers, c.scheme))
		}),
	}
	cmd.Flags().BoolVarP(&leader, "leader", "l", false, "the leader only")
	cmd.Flags().BoolVarP(&master, "master", "m", false, "the masters only")
	cmd.Flags().BoolVarP(&worker, "worker", "w", false, "the workers only")
	cmd.Flags().StringSliceVarP(&names, "name", "n", nil, "only the members of these names")
	return cmd
}

// memberSelection is what list-member was asked for.
type memberSelection struct {
	leader, master, worker bool
	names                  []string
}

func (s memberSelection) wants(name string) bool {
	return len(s.names) == 0 || slices.Contains(s.names, name)
}

// membersView maps the API's masters and workers into DM's list-member answer; scheme makes
// the clientURLs of masters (their API addresses).
func membersView(sel memberSelection, masters []restapi.ClusterMaster, workers []restapi.ClusterWorker, scheme string) view {
	out := dmListMember{Result: true, Members: []dmMembers{}}
	var lead *restapi.ClusterMaster
	for i := range masters {
		if masters[i].Leader {
			lead = &masters[i]
		}
	}
	if sel.leader {
		l := &dmLeader{Msg: "no leader is elected"}
		if lead != nil {
			l = &dmLeader{Name: lead.Name, Addr: lead.Addr}
		}
		out.Members = append(out.Members, dmMembers{Leader: l})
	}
	var shownMasters []restapi.ClusterMaster
	if sel.master {
		g := &dmMasterGroup{Masters: []dmMasterInfo{}}
		for _, m := range masters {
			if sel.wants(m.Name) {
				shownMasters = append(shownMasters, m)
				g.Masters = append(g.Masters, dmMasterInfo{Name: m.Name, Alive: m.Alive, PeerURLs: []string{}, ClientURLs: []string{scheme + "://" + m.Addr}})
			}
		}
		out.Members = append(out.Members, dmMembers{Master: g})
	} else if sel.leader && lead != nil {
		shownMasters = []restapi.ClusterMaster{*lead}
	}
	var shownWorkers []restapi.ClusterWorker
	if sel.worker {
		g := &dmWorkerGroup{Workers: []dmWorkerInfo{}}
		for _, w := range workers {
			if sel.wants(w.Name) {
				shownWorkers = append(shownWorkers, w)
				g.Workers = append(g.Workers, dmWorkerInfo{Name: w.Name, Addr: w.Addr, Stage: string(w.BoundStage), Source: w.BoundSourceName})
			}
		}
		out.Members = append(out.Members, dmMembers{Worker: g})
	}
	return view{dm: out, table: func(tw *tabwriter.Writer) {
		row(tw, "ROLE", "NAME", "ADDR", "STATE", "SOURCE")
		for _, m := range shownMasters {
			state := "alive"
			switch {
			case !m.Alive:
				state = "down"
			case m.Leader:
				state = "leader"
			}
			row(tw, "master", m.Name, m.Addr, state, "-")
		}
		for _, w := range shownWorkers {
			row(tw, "worker", w.Name, w.Addr, string(w.BoundStage), dash(w.BoundSourceName))
		}
	}}
}

func listMasters(ctx context.Context, c *client) ([]restapi.ClusterMaster, error) {
	var l restapi.GetClusterMasterListResponse
	err := c.get(ctx, pathOf("cluster", "masters"), nil, &l)
	return l.Data, err
}

func listWorkers(ctx context.Context, c *client) ([]restapi.ClusterWorker, error) {
	var l restapi.GetClusterWorkerListResponse
	err := c.get(ctx, pathOf("cluster", "workers"), nil, &l)
	return l.Data, err
}

// workersOf names the workers serving each source (bound, or pulling its relay log only).
func workersOf(workers []restapi.ClusterWorker) map[string][]string {
	out := map[string][]string{}
	for _, w := range workers {
		if w.BoundSourceName != "" && w.BoundStage != "offline" {
			out[w.BoundSourceName] = append(out[w.BoundSourceName], w.Name)
		}
	}
	return out
}

// boundWorker is the worker bound to a source ("" when none).
func boundWorker(workers []restapi.ClusterWorker, source string) string {
	for _, w := range workers {
		if w.BoundSourceName == source && w.BoundStage == "bound" {
			return w.Name
		}
	}
	return ""
}

func (a *app) offlineMemberCmd() *cobra.Command {
	var master, worker bool
	var kind, name string
	cmd := &cobra.Command{
		Use:   "offline-member --master|--worker --name name",
		Short: "Remove a master from the cluster, or forget a worker that is offline",
		Args:  args(0, 0, "no arguments (the member is --name)"),
		RunE: verb(func(cmd *cobra.Command, _ []string) error {
			switch kind {
			case "":
			case "master":
				master = true
			case "worker":
				worker = true
			default:
				return usagef("--type must be master or worker, not %q", kind)
			}
			if master == worker {
				return usagef("give exactly one of --master or --worker (or --type master|worker)")
			}
			if name == "" {
				return usagef("give the member's name with --name")
			}
			c, err := a.api()
			if err != nil {
				return err
			}
			group, role := "masters", "master"
			if worker {
				group, role = "workers", "worker"
			}
			if err := c.del(cmd.Context(), pathOf("cluster", group, name), nil); err != nil {
				return err
			}
			return a.out(messageView(ok(), fmt.Sprintf("%s %q removed", role, name)))
		}),
	}
	cmd.Flags().BoolVarP(&master, "master", "m", false, "remove a master")
	cmd.Flags().BoolVarP(&worker, "worker", "w", false, "forget a worker (it must be offline)")
	cmd.Flags().StringVarP(&name, "name", "n", "", "the member's name")
	cmd.Flags().StringVar(&kind, "type", "", "master or worker (DM's older form of --master/--worker)")
	return cmd
}

// memberConfig is `config master|worker <name>`: the part of the member's configuration
// the API serves.
func (a *app) memberConfig(cmd *cobra.Command, kind, name string) error {
	c, err := a.api()
	if err != nil {
		return err
	}
	var cfg memberTOML
	switch kind {
	case "master":
		masters, err := listMasters(cmd.Context(), c)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(masters, func(m restapi.ClusterMaster) bool { return m.Name == name })
		if i < 0 {
			return failuref(fsm.CodeMasterNotExist, "master %q does not exist", name)
		}
		cfg = memberTOML{Name: name, AdvertiseAddr: masters[i].Addr}
	default:
		workers, err := listWorkers(cmd.Context(), c)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(workers, func(w restapi.ClusterWorker) bool { return w.Name == name })
		if i < 0 {
			return failuref(fsm.CodeWorkerNotExist, "worker %q does not exist", name)
		}
		cfg = memberTOML{Name: name, AdvertiseAddr: workers[i].Addr}
	}
	text, err := cfg.render(kind)
	if err != nil {
		return err
	}
	shape := struct {
		Result bool   `json:"result"`
		Msg    string `json:"msg"`
		Cfg    string `json:"cfg"`
	}{Result: true, Cfg: text}
	return a.out(view{dm: shape, table: func(tw *tabwriter.Writer) { fmt.Fprint(tw, text) }})
}
