package integration

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// chaosFault is one kind of fault: inject breaks something and heals it, returning once it is
// healed (recovery is measured from then). It runs on the test's goroutine while traffic runs.
type chaosFault struct {
	name   string
	inject func(e *chaosEnv, cfg chaosConfig) string
}

// chaosFaults lists every fault kind.
func chaosFaults() []chaosFault {
	return []chaosFault{
		{"leader-kill", faultLeaderKill},
		{"leader-kill-during-dump", faultLeaderKillDuringDump},
		{"leader-kill-during-load", faultLeaderKillDuringLoad},
		{"leader-kill-shard-lock", faultLeaderKillShardLock},
		{"leader-and-worker-kill", faultLeaderAndWorkerKill},
		{"kill-all", faultKillAll},
		{"target-restart", faultTargetRestart},
		{"target-restart-during-load", faultTargetRestartDuringLoad},
		{"target-unreachable", faultTargetUnreachable},
		{"binlog-dump-kill", faultBinlogDumpKill},
		{"upstream-restart", faultUpstreamRestart},
		{"worker-freeze", faultWorkerFreeze},
		{"upstream-failover", faultUpstreamFailover},
		{"dump-disk-full", faultDumpDiskFull},
		{"relay-disk-full", faultRelayDiskFull},
		{"failover-then-worker-kill", faultFailoverThenWorkerKill},
		{"failover-idle", faultFailoverIdle},
		{"worker-partition", faultWorkerPartition},
		{"worker-partition-masters-only", faultWorkerPartitionMastersOnly},
		{"leader-partition", faultLeaderPartition},
	}
}

// faultLeaderKill: kill -9 of the Raft leader while the task syncs; it comes back once the
// others have elected a new one.
func faultLeaderKill(e *chaosEnv, _ chaosConfig) string {
	leader := e.leader()
	leader.Kill()
	next := e.leaderOtherThan(leader)
	leader.Start()
	leader.WaitListening(30 * time.Second)
	return fmt.Sprintf("killed %s, %s elected", leader.Name, next.Name)
}

// faultLeaderAndWorkerKill: kill -9 of the leader and of the worker bound to a random source at
// the same moment; both start again once a leader is elected.
func faultLeaderAndWorkerKill(e *chaosEnv, _ chaosConfig) string {
	leader := e.leader()
	s := e.randomSource()
	worker := e.proc(e.boundWorker(s.name))
	killTogether(leader, worker)
	e.leaderOtherThan(leader)
	leader.Start()
	worker.Start()
	leader.WaitListening(30 * time.Second)
	worker.WaitListening(30 * time.Second)
	return fmt.Sprintf("killed %s and %s (bound to %s)", leader.Name, worker.Name, s.name)
}

// faultKillAll: kill -9 of every master and worker at once, then all start again.
func faultKillAll(e *chaosEnv, _ chaosConfig) string {
	all := append(append([]*Proc(nil), e.c.Masters...), e.c.Workers...)
	killTogether(all...)
	for _, p := range all {
		p.Start()
	}
	for _, p := range all {
		p.WaitListening(30 * time.Second)
	}
	e.leader()
	return fmt.Sprintf("killed %d processes", len(all))
}

func killTogether(procs ...*Proc) {
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(p.Kill)
	}
	wg.Wait()
}

// faultTargetRestart: the target shuts down and starts again while the task syncs.
func faultTargetRestart(e *chaosEnv, _ chaosConfig) string {
	e.dst.Restart(e.t)
	return "restarted the target"
}

// faultTargetUnreachable: the target is down for DM_CHAOS_OUTAGE (the issue asks for 60 s; CI
// uses 10 s to stay within its budget, make chaos 60 s). The sleep is the fault's duration.
func faultTargetUnreachable(e *chaosEnv, cfg chaosConfig) string {
	e.dst.Stop(e.t)
	time.Sleep(cfg.outage)
	e.dst.Restart(e.t)
	return fmt.Sprintf("target down for %s", cfg.outage)
}

// faultBinlogDumpKill: KILL of the binlog dump threads serving dm on a random upstream.
func faultBinlogDumpKill(e *chaosEnv, _ chaosConfig) string {
	s := e.randomSource()
	var ids []int64
	Eventually(e.t, 30*time.Second, func() error {
		var err error
		if ids, err = binlogDumpIDs(s.pool); err == nil && len(ids) == 0 {
			err = fmt.Errorf("no binlog dump thread on %s", s.name)
		}
		return err
	})
	killed := 0
	for _, id := range ids {
		if _, err := s.pool.Exec(fmt.Sprintf("KILL %d", id)); err == nil {
			killed++
		}
	}
	return fmt.Sprintf("killed %d binlog dump threads on %s", killed, s.name)
}

// faultUpstreamRestart: a random upstream shuts down and starts again (its binlog rotates).
func faultUpstreamRestart(e *chaosEnv, _ chaosConfig) string {
	s := e.randomSource()
	s.db.Restart(e.t)
	return "restarted " + s.name
}

// faultUpstreamFailover: a random upstream fails over to a GTID replica, as a DBA does it: the
// replica (started now, logging what it applies) catches up while the writes pause, is
// promoted, the writes move to it, the source is updated to it (PUT) and the old primary
// stops. The task must continue from its GTID on the new primary.
func faultUpstreamFailover(e *chaosEnv, _ chaosConfig) string {
	what := failOver(e, e.randomSource())
	// The fault is healed once the new primary has written: recovery then means the task
	// replays past its first transactions. (An idle new primary is failover-idle.)
	before := e.sourcePositions(30 * time.Second)
	Eventually(e.t, 30*time.Second, func() error {
		now := e.sourcePositions(30 * time.Second)
		for _, s := range e.sources {
			if now[s.name] <= before[s.name] {
				return fmt.Errorf("%s has not written since the failover", s.name)
			}
		}
		return nil
	})
	return what
}

// faultFailoverIdle: the failover, then nothing written until the task is synced on the new
// primary. It found that the status said synced false until the next transaction: the
// checkpoint, resumed by GTID there, stood at the new binlog's header events
// ((mysql-bin.000001, 328)) and the new primary at the end of its binlog, with the same GTID
// set, and synced compared positions first (binlog/syncer locEqual now compares GTID sets).
func faultFailoverIdle(e *chaosEnv, _ chaosConfig) string {
	e.traffic.pause()
	defer e.traffic.resume()
	what := failOver(e, e.randomSource())
	if err := e.waitAllSynced(60 * time.Second); err != nil {
		e.t.Fatalf("chaos: after %s, with nothing written since: %v", what, err)
	}
	return what + "; synced with nothing written since"
}

// failOver moves source s to a GTID replica of its upstream; traffic runs again afterwards.
func failOver(e *chaosEnv, s *chaosSource) string {
	e.t.Helper()
	replica := StartReplica(e.t, s.db)
	e.traffic.pause()
	defer e.traffic.resume()
	replica.WaitCaughtUp(e.t, s.db, 60*time.Second)
	replica.Promote(e.t)
	old := s.db
	s.db, s.pool = replica, replica.DB(e.t)
	resp := e.mustCall(http.MethodPut, "/api/v1/sources/"+s.name, map[string]any{"source": map[string]any{
		"source_name": s.name, "host": replica.Host(), "port": replica.Port(), "user": replica.User(), "password": replica.Password(), "enable_gtid": true,
	}})
	if resp.Status != http.StatusOK {
		e.t.Fatalf("chaos: PUT source %s to its replica: %d %s", s.name, resp.Status, resp.Body)
	}
	old.Stop(e.t)
	return fmt.Sprintf("%s failed over from %s to %s", s.name, old.Addr(), replica.Addr())
}

// faultFailoverThenWorkerKill: the failover above, then, before the new primary writes
// anything, the subtask resumes on it and its worker is killed -9 and started again: the
// checkpoint it left must still say where on the new primary it stands.
func faultFailoverThenWorkerKill(e *chaosEnv, _ chaosConfig) string {
	e.traffic.pause()
	defer e.traffic.resume()
	what := failOver(e, e.randomSource())
	pos := e.sourcePositions(30 * time.Second)
	if _, err := e.waitRecovered(pos, 60*time.Second); err != nil {
		e.t.Fatalf("chaos: after the failover: %v", err)
	}
	// Twice: the first restart resumes by GTID (the checkpoint was written reading the old
	// primary); the second finds a checkpoint its predecessor wrote on the new one.
	var names []string
	for range 2 {
		time.Sleep(3 * time.Second) // let the subtask write a checkpoint or two on the new primary
		for _, s := range e.sources {
			w := e.proc(e.boundWorker(s.name))
			w.Kill()
			w.Start()
			w.WaitListening(30 * time.Second)
			names = append(names, w.Name)
		}
		if _, err := e.waitRecovered(pos, 60*time.Second); err != nil {
			e.t.Fatalf("chaos: after the failover and a worker kill: %v", err)
		}
	}
	return what + "; then killed " + strings.Join(names, ", ")
}

// faultWorkerFreeze: the worker bound to a random source is frozen (SIGSTOP) past its
// keepalive-ttl, what a partition between it and everything looks like; the masters rebind the
// source, then it is thawed and must not write (lease and owner fence).
func faultWorkerFreeze(e *chaosEnv, _ chaosConfig) string {
	s := e.randomSource()
	name := e.boundWorker(s.name)
	w := e.proc(name)
	w.Freeze()
	next := e.waitRebound(s, name, 60*time.Second)
	w.Thaw()
	e.waitWorkersOnline(60 * time.Second)
	return fmt.Sprintf("froze %s (bound to %s) until %s took it over", name, s.name, next)
}

// leaderOtherThan waits until the running masters agree on a leader other than old (which is
// down: the others may name it until they notice).
func (e *chaosEnv) leaderOtherThan(old *Proc) *Proc {
	e.t.Helper()
	var next *Proc
	Eventually(e.t, 60*time.Second, func() error {
		next = waitLeader(e.t, e.c.Masters, 60*time.Second)
		if next == old {
			return fmt.Errorf("the masters still name %s", old.Name)
		}
		return nil
	})
	return next
}

func (e *chaosEnv) randomSource() *chaosSource {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sources[e.rng.IntN(len(e.sources))]
}

func (e *chaosEnv) boundWorker(source string) string {
	e.t.Helper()
	var name string
	Eventually(e.t, 60*time.Second, func() error {
		b, err := e.bindings()
		if err != nil {
			return err
		}
		if name = b[source]; name == "" {
			return fmt.Errorf("%s is not bound", source)
		}
		return nil
	})
	return name
}
