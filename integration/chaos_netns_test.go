package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// The partition faults need every master and worker in a network namespace of its own
// (chaosEnv does that as root). What a cut drops: every packet the isolated process sends to
// the listed masters' addresses (API and Raft ports alike), so connections between them fail
// both ways. What it keeps: the databases (on the lab's root-namespace address), the harness,
// and for the leader the workers.

// chaosRootFaults are run only as root: network namespaces, a tmpfs.
var chaosRootFaults = map[string]bool{"worker-partition": true, "worker-partition-masters-only": true, "leader-partition": true, "dump-disk-full": true, "relay-disk-full": true}

// faultWorkerPartition: the worker bound to a random source is cut off from every master and
// every other worker, but not from the databases. It must stop writing (its lease lapses after keepalive-ttl less a
// margin) before the masters rebind its source (after keepalive-ttl), so two workers never
// apply the source at once (the owner fence on the target backs this up, and the round's
// comparison would show a transaction applied twice in the keyless table).
func faultWorkerPartition(e *chaosEnv, _ chaosConfig) string {
	return partitionWorker(e, true)
}

// faultWorkerPartitionMastersOnly is the partition above with the other workers still in
// reach. It found that the masters took long to rebind the source (6 s to 79 s with a
// keepalive-ttl of 3 s) while the cut-off worker's lease had stopped it within 2 s: the
// other workers' indirect probes kept it alive in gossip. The masters now also want the
// worker's own polls within its TTL, so the rebind must come within partitionRebindWithin.
func faultWorkerPartitionMastersOnly(e *chaosEnv, _ chaosConfig) string {
	return partitionWorker(e, false)
}

// partitionRebindWithin bounds the rebind of a cut-off worker's source: its keepalive-ttl (3 s
// here) without a poll, a scheduling round, and the harness's polling.
const partitionRebindWithin = 15 * time.Second

func partitionWorker(e *chaosEnv, fromWorkers bool) string {
	s := e.randomSource()
	name := e.boundWorker(s.name)
	w := e.proc(name)
	logStart := fileSize(w.LogPath)
	cut := e.masterHosts(nil)
	if fromWorkers {
		for _, other := range e.c.Workers {
			if other != w {
				host, _, _ := net.SplitHostPort(other.APIAddr)
				cut = append(cut, host)
			}
		}
	}
	e.spaces[name].Cut(cut...)
	cutAt := time.Now()
	next := e.waitRebound(s, name, partitionRebindWithin)
	rebound := time.Since(cutAt)
	// The rebinding was seen after it happened, so the lease must already have lapsed.
	if log := logSince(w.LogPath, logStart); !strings.Contains(log, "lease lapsed") {
		e.t.Fatalf("chaos: %s's source %s was rebound to %s %s after the cut, and %s had not stopped writing (no lease lapse in its log)", name, s.name, next, rebound.Round(time.Millisecond), name)
	}
	e.spaces[name].Heal()
	e.waitWorkersOnline(60 * time.Second)
	return fmt.Sprintf("cut %s (bound to %s) off %d masters and workers; it stopped, %s took over after %s", name, s.name, len(cut), next, secs(rebound))
}

// faultLeaderPartition: the leader is cut off from the other masters (workers and the harness
// still reach it). The others elect a new leader; it must step down; a write sent to it then
// (creating a task) must fail, and must not show up once the partition heals.
func faultLeaderPartition(e *chaosEnv, _ chaosConfig) string {
	leader := e.leader()
	var others []*Proc
	for _, m := range e.c.Masters {
		if m != leader {
			others = append(others, m)
		}
	}
	e.spaces[leader.Name].Cut(e.masterHosts(leader)...)
	var next *Proc
	Eventually(e.t, 60*time.Second, func() error {
		next = waitLeader(e.t, others, 60*time.Second)
		if next == leader {
			return fmt.Errorf("the others still follow %s", leader.Name)
		}
		return nil
	})
	Eventually(e.t, 60*time.Second, func() error {
		if l := masterSeesLeader(leader); l == leader.Name {
			return fmt.Errorf("%s still thinks it leads", leader.Name)
		}
		return nil
	})
	ghost := fmt.Sprintf("ghost-%d", time.Now().UnixNano()%1e6)
	body := map[string]any{"remove_meta": false, "task": e.taskBody(ghost, []string{"mysql-01"}, func(string) []string { return []string{"side"} })}
	resp, err := callOne(leader, http.MethodPost, "/api/v1/tasks", body)
	acked := err == nil && resp.Status/100 == 2
	e.spaces[leader.Name].Heal()
	e.leader()
	Eventually(e.t, 60*time.Second, func() error {
		resp, err := e.call(http.MethodGet, "/api/v1/tasks/"+ghost, nil)
		if err != nil {
			return err
		}
		switch {
		case acked && resp.Status == http.StatusOK, !acked && resp.Status == http.StatusNotFound:
			return nil
		case resp.Status == http.StatusOK || resp.Status == http.StatusNotFound:
			e.t.Fatalf("chaos: a task created through the cut-off leader %s answered %d %s, and afterwards GET answers %d", leader.Name, resp.Status, resp.Body, resp.Status)
		}
		return fmt.Errorf("GET %s: %d %s", ghost, resp.Status, resp.Body)
	})
	if acked {
		e.mustCall(http.MethodDelete, "/api/v1/tasks/"+ghost, nil)
	}
	return fmt.Sprintf("cut %s off the other masters; %s elected; a write sent to %s got %d %v", leader.Name, next.Name, leader.Name, resp.Status, err)
}

// masterHosts is every master's address but except's.
func (e *chaosEnv) masterHosts(except *Proc) []string {
	var out []string
	for _, m := range e.c.Masters {
		if m != except {
			host, _, _ := net.SplitHostPort(m.APIAddr)
			out = append(out, host)
		}
	}
	return out
}

// masterSeesLeader is the leader m names in its /status ("" when it names none or fails).
func masterSeesLeader(m *Proc) string {
	resp, err := callOne(m, http.MethodGet, "/status", nil)
	var st struct {
		Leader string `json:"leader"`
	}
	if err != nil || resp.JSON(&st) != nil {
		return ""
	}
	return st.Leader
}

func callOne(p *Proc, method, path string, body any) (Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return Call(ctx, method, p.APIAddr, path, body)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func logSince(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	return string(b[offset:])
}
