package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

type clusterMaster struct {
	Name   string `json:"name"`
	Alive  bool   `json:"alive"`
	Leader bool   `json:"leader"`
	Addr   string `json:"addr"`
}

type clusterWorker struct {
	Name            string `json:"name"`
	Addr            string `json:"addr"`
	BoundStage      string `json:"bound_stage"`
	BoundSourceName string `json:"bound_source_name"`
}

type listResp[T any] struct {
	Total int `json:"total"`
	Data  []T `json:"data"`
}

func call(t *testing.T, method, addr, path string) Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := Call(ctx, method, addr, path, nil)
	require.NoError(t, err, "%s %s%s", method, addr, path)
	return resp
}

func listMasters(addr string) (listResp[clusterMaster], Response, error) {
	var out listResp[clusterMaster]
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := Call(ctx, http.MethodGet, addr, "/api/v1/cluster/masters", nil)
	if err != nil {
		return out, resp, err
	}
	if resp.Status != http.StatusOK {
		return out, resp, fmt.Errorf("HTTP %d: %s", resp.Status, resp.Body)
	}
	return out, resp, resp.JSON(&out)
}

func listWorkers(addr string) (listResp[clusterWorker], error) {
	var out listResp[clusterWorker]
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := Call(ctx, http.MethodGet, addr, "/api/v1/cluster/workers", nil)
	if err != nil {
		return out, err
	}
	if resp.Status != http.StatusOK {
		return out, fmt.Errorf("HTTP %d: %s", resp.Status, resp.Body)
	}
	return out, resp.JSON(&out)
}

func workerStages(addr string) (map[string]string, error) {
	l, err := listWorkers(addr)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, w := range l.Data {
		out[w.Name] = w.BoundStage
	}
	return out, nil
}

// waitLeader polls every running master's /status until they all name the same leader, and
// returns it.
func waitLeader(t *testing.T, masters []*Proc, timeout time.Duration) *Proc {
	t.Helper()
	var leader *Proc
	Eventually(t, timeout, func() error {
		names := map[string]bool{}
		for _, m := range masters {
			if !m.Running() {
				continue
			}
			var st struct {
				Leader string `json:"leader"`
			}
			resp, err := Call(context.Background(), http.MethodGet, m.APIAddr, "/status", nil)
			if err != nil {
				return err
			}
			if err := resp.JSON(&st); err != nil {
				return err
			}
			if st.Leader == "" {
				return fmt.Errorf("%s sees no leader", m.Name)
			}
			names[st.Leader] = true
		}
		if len(names) != 1 {
			return fmt.Errorf("masters disagree on the leader: %v", names)
		}
		for _, m := range masters {
			if names[m.Name] {
				leader = m
				return nil
			}
		}
		return fmt.Errorf("leader %v is not one of ours", names)
	})
	return leader
}

func running(ps []*Proc) []*Proc {
	var out []*Proc
	for _, p := range ps {
		if p.Running() {
			out = append(out, p)
		}
	}
	return out
}

func masterNames(l listResp[clusterMaster]) []string {
	var out []string
	for _, m := range l.Data {
		out = append(out, m.Name)
	}
	sort.Strings(out)
	return out
}

// requireTemplate insists on the status and on the error template with a message.
func requireTemplate(t *testing.T, resp Response, status int) APIError {
	t.Helper()
	require.Equal(t, status, resp.Status, "body: %s", resp.Body)
	var e APIError
	require.NoError(t, resp.JSON(&e), "body: %s", resp.Body)
	require.NotEmpty(t, e.Msg)
	return e
}

func requireAPIError(t *testing.T, resp Response, status int, code fsm.Code) {
	t.Helper()
	e := requireTemplate(t, resp, status)
	require.Equal(t, code, fsm.Code(e.Code), "error: %s", e.Msg)
}

func TestMasterClusterFailoverAndMembers(t *testing.T) {
	c := NewCluster(t)
	masters := c.StartMasters(3, MasterOptions{
		// A DM key dm has no use for must not stop the file from loading.
		Extra: []string{`auto-compaction-retention = "1h"`},
	})
	w1 := c.StartWorker("worker1", 3)
	w2 := c.StartWorker("worker2", 3)

	leader := waitLeader(t, masters, 15*time.Second)

	// Every master gives the same answer; followers say they forwarded.
	var first listResp[clusterMaster]
	for i, m := range masters {
		var l listResp[clusterMaster]
		var resp Response
		Eventually(t, 10*time.Second, func() error {
			var err error
			l, resp, err = listMasters(m.APIAddr)
			if err != nil {
				return err
			}
			for _, e := range l.Data {
				if !e.Alive || e.Addr == "" {
					return fmt.Errorf("master %s not yet alive with an address: %+v", e.Name, e)
				}
			}
			return nil
		})
		require.Equal(t, 3, l.Total)
		require.Equal(t, leader.Name, resp.Header.Get("X-Dm-Master"))
		if m != leader {
			require.Equal(t, m.Name, resp.Header.Get("X-Dm-Forwarded-By"))
		}
		if i == 0 {
			first = l
		} else {
			require.Equal(t, first, l, "every master must give the same answer")
		}
	}
	for _, e := range first.Data {
		require.Equal(t, e.Name == leader.Name, e.Leader)
		idx := slices.IndexFunc(masters, func(p *Proc) bool { return p.Name == e.Name })
		require.GreaterOrEqual(t, idx, 0)
		require.Equal(t, masters[idx].APIAddr, e.Addr, "addr is the advertised API address")
	}

	// Both workers registered through a master and are free.
	Eventually(t, 10*time.Second, func() error {
		st, err := workerStages(masters[0].APIAddr)
		if err != nil {
			return err
		}
		if st["worker1"] != "free" || st["worker2"] != "free" {
			return fmt.Errorf("stages %v", st)
		}
		return nil
	})
	// DM's files without secret-key-path or ssl-*: the cluster works, open, and every process
	// says so.
	for _, p := range append(append([]*Proc(nil), masters...), w1, w2) {
		logData, err := os.ReadFile(p.LogPath)
		require.NoError(t, err)
		require.Contains(t, string(logData), "the cluster is OPEN", "%s warns", p.Name)
	}
	// The worker follows its desired state through the long-poll feed.
	Eventually(t, 10*time.Second, func() error {
		var st struct {
			Registered bool   `json:"registered"`
			Index      uint64 `json:"index"`
		}
		resp, err := Call(context.Background(), http.MethodGet, w1.APIAddr, "/status", nil)
		if err != nil {
			return err
		}
		if err := resp.JSON(&st); err != nil {
			return err
		}
		if !st.Registered || st.Index == 0 {
			return fmt.Errorf("worker status %s", resp.Body)
		}
		return nil
	})

	// Error codes of the cluster routes.
	requireAPIError(t, call(t, http.MethodDelete, masters[1].APIAddr, "/api/v1/cluster/masters/nobody"), 400, fsm.CodeMasterNotExist)
	requireAPIError(t, call(t, http.MethodDelete, masters[1].APIAddr, "/api/v1/cluster/workers/nobody"), 400, fsm.CodeWorkerNotExist)
	requireAPIError(t, call(t, http.MethodDelete, masters[1].APIAddr, "/api/v1/cluster/workers/worker2"), 400, fsm.CodeWorkerOnline)

	// kill -9 the leader: a new one within 10 s, and every call on the survivors works.
	killedAt := time.Now()
	leader.Kill()
	survivors := running(masters)
	newLeader := waitLeader(t, survivors, 10*time.Second)
	t.Logf("new leader %s elected %s after kill -9 of %s", newLeader.Name, time.Since(killedAt).Round(time.Millisecond), leader.Name)
	require.NotEqual(t, leader.Name, newLeader.Name)
	require.Less(t, time.Since(killedAt), 10*time.Second)
	for _, m := range survivors {
		l, resp, err := listMasters(m.APIAddr)
		require.NoError(t, err, "via %s", m.Name)
		require.Equal(t, newLeader.Name, resp.Header.Get("X-Dm-Master"))
		require.Equal(t, 3, l.Total)
		_, err = listWorkers(m.APIAddr)
		require.NoError(t, err, "via %s", m.Name)
	}

	// The killed master restarts, rejoins and is alive again.
	leader.Start()
	leader.WaitListening(15 * time.Second)
	Eventually(t, 15*time.Second, func() error {
		l, _, err := listMasters(leader.APIAddr)
		if err != nil {
			return err
		}
		for _, e := range l.Data {
			if !e.Alive {
				return fmt.Errorf("%s not alive yet", e.Name)
			}
		}
		return nil
	})
	waitLeader(t, masters, 10*time.Second)

	// kill -9 a worker: offline once gone for its keepalive-ttl (3 s), then deletable.
	w2.Kill()
	Eventually(t, 15*time.Second, func() error {
		st, err := workerStages(masters[0].APIAddr)
		if err != nil {
			return err
		}
		if st["worker2"] != "offline" || st["worker1"] != "free" {
			return fmt.Errorf("stages %v", st)
		}
		return nil
	})
	resp := call(t, http.MethodDelete, masters[2].APIAddr, "/api/v1/cluster/workers/worker2")
	require.Equal(t, http.StatusNoContent, resp.Status, "body %s", resp.Body)
	require.Empty(t, resp.Body)
	st, err := workerStages(masters[0].APIAddr)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"worker1": "free"}, st)

	// A worker stopped gracefully is offline at once (it said goodbye).
	w1.Stop()
	Eventually(t, 5*time.Second, func() error {
		st, err := workerStages(masters[1].APIAddr)
		if err != nil {
			return err
		}
		if st["worker1"] != "offline" {
			return fmt.Errorf("stages %v", st)
		}
		return nil
	})

	// Without a quorum there is no leader: calls answer 503 with DM's code for it, not a hang.
	cur := waitLeader(t, masters, 10*time.Second)
	var lone *Proc
	for _, m := range masters {
		if m != cur && lone == nil {
			lone = m
			continue
		}
		m.Kill()
	}
	start := time.Now()
	resp = call(t, http.MethodGet, lone.APIAddr, "/api/v1/cluster/masters")
	requireAPIError(t, resp, http.StatusServiceUnavailable, fsm.CodeNoLeader)
	require.Less(t, time.Since(start), 9*time.Second)
}

func TestFullClusterRestartKeepsState(t *testing.T) {
	c := NewCluster(t)
	masters := c.StartMasters(3, MasterOptions{ExperimentalOpenAPI: true})
	workers := []*Proc{c.StartWorker("worker1", 60), c.StartWorker("worker2", 60)}
	waitLeader(t, masters, 15*time.Second)
	Eventually(t, 10*time.Second, func() error {
		st, err := workerStages(masters[0].APIAddr)
		if err != nil {
			return err
		}
		if len(st) != 2 {
			return fmt.Errorf("stages %v", st)
		}
		return nil
	})

	for _, p := range append(workers, masters...) {
		p.Stop()
	}
	for _, m := range masters {
		m.Start()
	}
	for _, m := range masters {
		m.WaitListening(15 * time.Second)
	}
	waitLeader(t, masters, 15*time.Second)
	// The registrations survived in the Raft log; the workers are down and said goodbye, but a
	// new leader cannot know that, so it waits their TTL — either way both are still listed.
	st, err := workerStages(masters[2].APIAddr)
	require.NoError(t, err)
	require.Len(t, st, 2, "registered workers survive a full restart: %v", st)

	for _, w := range workers {
		w.Start()
	}
	Eventually(t, 15*time.Second, func() error {
		st, err := workerStages(masters[1].APIAddr)
		if err != nil {
			return err
		}
		if st["worker1"] != "free" || st["worker2"] != "free" {
			return fmt.Errorf("stages %v", st)
		}
		return nil
	})
}

func TestMasterJoinAndRemove(t *testing.T) {
	c := NewCluster(t)
	masters := c.StartMasters(3, MasterOptions{})
	leader := waitLeader(t, masters, 15*time.Second)

	var join []string
	for _, m := range masters {
		join = append(join, m.APIAddr)
	}
	m4 := c.AddMaster(MasterOptions{Join: join})
	all := append(append([]*Proc(nil), masters...), m4)
	Eventually(t, 20*time.Second, func() error {
		l, _, err := listMasters(m4.APIAddr)
		if err != nil {
			return err
		}
		if got := masterNames(l); !slices.Equal(got, []string{"master1", "master2", "master3", "master4"}) {
			return fmt.Errorf("masters %v", got)
		}
		for _, e := range l.Data {
			if !e.Alive {
				return fmt.Errorf("%s not alive", e.Name)
			}
		}
		return nil
	})
	require.Equal(t, leader.Name, waitLeader(t, all, 10*time.Second).Name)

	// A join naming a Raft address where nobody answers adds no voter, even in an open cluster:
	// such voters would cost the group its quorum.
	for i := range 3 {
		dead := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		resp, err := Call(context.Background(), http.MethodPost, masters[1].APIAddr, "/internal/v1/masters/join",
			map[string]any{"name": fmt.Sprintf("ghost%d", i), "api_addr": "127.0.0.1:1", "peer_addr": dead, "add_voter": true})
		require.NoError(t, err)
		requireAPIError(t, resp, http.StatusBadRequest, fsm.CodeMasterJoinFail)
	}
	l, _, err := listMasters(masters[0].APIAddr)
	require.NoError(t, err)
	require.Equal(t, []string{"master1", "master2", "master3", "master4"}, masterNames(l))

	// The new master restarts from its own data-dir without join trouble.
	m4.Stop()
	m4.Start()
	m4.WaitListening(15 * time.Second)
	waitLeader(t, all, 15*time.Second)

	// Removing a master shrinks the Raft configuration.
	resp := call(t, http.MethodDelete, masters[0].APIAddr, "/api/v1/cluster/masters/master4")
	require.Equal(t, http.StatusNoContent, resp.Status, "body %s", resp.Body)
	l, _, err = listMasters(masters[1].APIAddr)
	require.NoError(t, err)
	require.Equal(t, []string{"master1", "master2", "master3"}, masterNames(l))
	require.Equal(t, 3, l.Total)
	m4.Stop()

	// A follower can be removed too, and the rest keep working with a quorum of 2.
	var follower *Proc
	for _, m := range masters {
		if m != leader {
			follower = m
			break
		}
	}
	resp = call(t, http.MethodDelete, leader.APIAddr, "/api/v1/cluster/masters/"+follower.Name)
	require.Equal(t, http.StatusNoContent, resp.Status, "body %s", resp.Body)
	follower.Stop()
	l, _, err = listMasters(leader.APIAddr)
	require.NoError(t, err)
	require.Equal(t, 2, l.Total)
}

func TestOpenAPISwitchAndDocs(t *testing.T) {
	c := NewCluster(t)
	on := c.StartMasters(1, MasterOptions{})[0]
	waitLeader(t, []*Proc{on}, 15*time.Second)

	resp := call(t, http.MethodGet, on.APIAddr, "/api/v1/dm.json")
	require.Equal(t, http.StatusOK, resp.Status)
	require.Contains(t, string(resp.Body), `"/api/v1/cluster/masters"`)
	resp = call(t, http.MethodGet, on.APIAddr, "/api/v1/docs")
	require.Equal(t, http.StatusOK, resp.Status)
	require.Contains(t, string(resp.Body), "swagger")
	require.NotContains(t, string(resp.Body), "https://", "the docs page must work offline")
	resp = call(t, http.MethodGet, on.APIAddr, "/metrics")
	require.Equal(t, http.StatusOK, resp.Status)
	require.Contains(t, string(resp.Body), "dm_master_start_leader_counter 1")
	// An API error answers the template with DM's code.
	resp = call(t, http.MethodGet, on.APIAddr, "/api/v1/tasks/t/sources/s/schemas")
	requireAPIError(t, resp, http.StatusBadRequest, fsm.CodeTaskNotExist)

	off := NewCluster(t).StartMasters(1, MasterOptions{NoOpenAPI: true})[0]
	waitLeader(t, []*Proc{off}, 15*time.Second)
	resp = call(t, http.MethodGet, off.APIAddr, "/api/v1/cluster/masters")
	require.Equal(t, http.StatusNotFound, resp.Status)
	resp = call(t, http.MethodGet, off.APIAddr, "/api/v1/dm.json")
	require.Equal(t, http.StatusNotFound, resp.Status)
}
