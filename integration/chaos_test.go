package integration

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
)

// TestChaos runs an `all` task across two sources under continuous writes (keyed tables, a
// keyless table, a table with a unique nullable key, now and then an ADD COLUMN) while faults
// are injected round after round, in an order drawn from the seed (DM_CHAOS_SEED, printed).
// Each round injects and heals one fault with traffic and API writes running, measures the
// recovery (every subtask Running in Sync and past what the sources had written when the fault
// was healed), then stops the traffic, waits until synced at the sources' exact positions and
// compares every table (count, CHECKSUM TABLE, the keyless table's duplicate rows). The task
// must never fail as a whole (chaosMonitor says what that means), and the side task must end
// each round in the stage of its last acknowledged write. `make chaos ROUNDS=n SEED=s` runs
// more rounds; the table per fault kind is printed at the end.
func TestChaos(t *testing.T) {
	cfg := chaosConfigFromEnv(t)
	t.Logf("chaos: DM_CHAOS_SEED=%d rounds per kind %d, target outage %s, budget %s", cfg.seed, cfg.rounds, cfg.outage, cfg.budget)
	rng := rand.New(rand.NewPCG(cfg.seed, 0x5eed))
	plan := chaosPlan(t, cfg, rng, os.Geteuid() == 0)
	started := time.Now()

	e := newChaosEnv(t, rand.New(rand.NewPCG(cfg.seed, 1)))
	traffic := newChaosTraffic(e, cfg.seed)
	e.traffic = traffic
	traffic.resume()
	monitor := startChaosMonitor(e)
	var rounds []chaosRound
	t.Cleanup(func() {
		traffic.pause()
		monitor.stop()
		t.Logf("chaos: DM_CHAOS_SEED=%d, %d statements (%d failed, %d DDL) in %s\n%s", cfg.seed,
			traffic.statements.Load(), traffic.failed.Load(), traffic.ddls.Load(), time.Since(started).Round(time.Second), chaosReport(rounds))
	})
	e.waitInitialSync()

	for i, f := range plan {
		if time.Since(started) > cfg.budget {
			t.Logf("chaos: budget %s spent, %d of %d rounds run", cfg.budget, i, len(plan))
			break
		}
		r := runChaosRound(e, cfg, f, traffic)
		rounds = append(rounds, r)
		t.Logf("chaos: round %d/%d %s: %s; recovered in %s; %d rows compared, %d lost, %d duplicated", i+1, len(plan), r.kind, r.what, secs(r.recovery), r.cmp.rows, r.cmp.lost, r.cmp.duplicated)
		if r.err != nil || len(r.cmp.diffs) > 0 {
			t.Fatalf("chaos: round %d (%s, seed %d): %v %v", i+1, r.kind, cfg.seed, r.err, r.cmp.diffs)
		}
	}
	monitor.stop()
	failures, errs := monitor.report()
	for msg, n := range errs {
		t.Logf("chaos: transient subtask error seen %d times: %s", n, msg)
	}
	if len(failures) > 0 {
		t.Fatalf("chaos: the task failed as a whole:\n%v", failures)
	}
}

// chaosPlan is every selected fault kind cfg.rounds times, shuffled by the seed.
func chaosPlan(t *testing.T, cfg chaosConfig, rng *rand.Rand, root bool) []chaosFault {
	t.Helper()
	var plan []chaosFault
	known := map[string]bool{}
	for _, f := range chaosFaults() {
		known[f.name] = true
		if chaosRootFaults[f.name] && !root {
			t.Logf("chaos: %s needs root (network namespaces, mount): not run", f.name)
			continue
		}
		if len(cfg.kinds) == 0 || slices.Contains(cfg.kinds, f.name) {
			for range cfg.rounds {
				plan = append(plan, f)
			}
		}
	}
	for _, k := range cfg.kinds {
		if !known[k] {
			t.Fatalf("DM_CHAOS_KINDS: no fault kind %q", k)
		}
	}
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	return plan
}

// waitInitialSync waits for the dump and load of both sources and the first catch-up.
func (e *chaosEnv) waitInitialSync() {
	e.t.Helper()
	if _, err := e.waitRecovered(e.sourcePositions(30*time.Second), 180*time.Second); err != nil {
		e.t.Fatalf("chaos: the task never got to Sync: %v", err)
	}
}

// runChaosRound injects one fault with API writes running, measures the recovery, then
// quiesces the traffic, compares every table and starts the traffic again.
func runChaosRound(e *chaosEnv, cfg chaosConfig, f chaosFault, traffic *chaosTraffic) chaosRound {
	r := chaosRound{kind: f.name}
	writes := startChaosAPIWrites(e)
	// A moment of traffic and writes before the fault, so it hits work in flight.
	time.Sleep(time.Duration(1000+e.rng.IntN(2000)) * time.Millisecond)
	r.what = f.inject(e, cfg)
	r.recovery, r.err = e.waitRecovered(e.sourcePositions(60*time.Second), 180*time.Second)
	if r.err != nil {
		writes.stopAndCheck(0)
		return r
	}
	var err error
	if r.acked, _, err = writes.stopAndCheck(30 * time.Second); err != nil {
		r.err = err
		return r
	}
	traffic.pause()
	defer traffic.resume()
	if err := e.waitAllSynced(120 * time.Second); err != nil {
		r.err = err
		return r
	}
	r.cmp = e.compareAll()
	if len(r.cmp.diffs) > 0 {
		r.err = fmt.Errorf("tables differ after %s", f.name)
	}
	return r
}
