package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// scrape reads a member's /metrics into its metric families.
func scrape(addr string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := Call(ctx, http.MethodGet, addr, "/metrics", nil)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %d %s", addr, resp.Status, resp.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(strings.NewReader(string(resp.Body)))
}

// checkFamilies says which documented metrics of the given scopes addr lacks, or serves with
// other labels than documented, or with a task label other than task.
func checkFamilies(addr, task string, documented []documentedMetric, scopes ...string) error {
	families, err := scrape(addr)
	if err != nil {
		return err
	}
	var problems []string
	for _, m := range documented {
		if !slices.Contains(scopes, m.scope) {
			continue
		}
		f := families[m.name]
		if f == nil || len(f.GetMetric()) == 0 {
			problems = append(problems, "missing "+m.name)
			continue
		}
		if got := strings.ToLower(f.GetType().String()); got != m.typ {
			problems = append(problems, fmt.Sprintf("%s is a %s, documented as a %s", m.name, got, m.typ))
		}
		want := slices.Clone(m.labels)
		sort.Strings(want)
		for _, s := range f.GetMetric() {
			var names []string
			for _, l := range s.GetLabel() {
				names = append(names, l.GetName())
				if l.GetName() == "task" && task != "" && l.GetValue() != task {
					problems = append(problems, fmt.Sprintf("%s has task=%q, want %q (labels bound in the wrong order?)", m.name, l.GetValue(), task))
				}
			}
			sort.Strings(names)
			if !slices.Equal(names, want) {
				problems = append(problems, fmt.Sprintf("%s has labels %v, documented %v", m.name, names, want))
				break
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", addr, strings.Join(problems, "; "))
	}
	return nil
}

// seriesOfTask lists the series of addr labelled task=task.
func seriesOfTask(addr, task string) ([]string, error) {
	families, err := scrape(addr)
	if err != nil {
		return nil, err
	}
	var out []string
	for name, f := range families {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "task" && l.GetValue() == task {
					out = append(out, name)
				}
			}
		}
	}
	return out, nil
}

// TestMetricsPresence: every series docs/monitoring/metrics.txt lists is on a live cluster's
// /metrics with the documented type and labels while a task runs (the relay's once a relay is
// configured, even paused), every metric the rules and dashboards use is there too, and a
// deleted task's series leave the worker and the master.
func TestMetricsPresence(t *testing.T) {
	documented := documentedMetrics(t)
	e := newMigrationEnv(t, 2)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.orders (id INT PRIMARY KEY, code VARCHAR(20) UNIQUE, qty INT)")
	e.src.Exec(t, "INSERT INTO shop.orders SELECT seq, CONCAT('c', seq), seq FROM shop.seq_1_to_5000")
	e.createSource("mysql-01", e.src)
	bound := e.api.bindings(e.addr)["mysql-01"]
	worker, relayWorker := workerProc(t, e, bound), workerProc(t, e, otherWorker(bound))

	resp := e.startTask(e.task("shop", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced("shop", 90*time.Second)
	// Inserts, updates and deletes in sync, so that the per-table job counters exist.
	e.src.Exec(t, "INSERT INTO shop.orders VALUES (6001, 'n1', 1), (6002, 'n2', 2)")
	e.src.Exec(t, "UPDATE shop.orders SET qty = qty + 1 WHERE id <= 50")
	e.src.Exec(t, "DELETE FROM shop.orders WHERE id BETWEEN 100 AND 120")
	e.waitSynced("shop", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")

	Eventually(t, 20*time.Second, func() error {
		if err := checkFamilies(e.addr, "shop", documented, "master", "master-task"); err != nil {
			return err
		}
		return checkFamilies(worker.APIAddr, "shop", documented, "worker", "task")
	})

	// Relay series from the moment a relay is configured: on a worker that only relays, and
	// still there once it is paused.
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/start-relay", map[string]any{"worker_name_list": []string{relayWorker.Name}})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	Eventually(t, 20*time.Second, func() error { return checkFamilies(relayWorker.APIAddr, "", documented, "worker", "relay") })
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/pause-relay", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.NoError(t, checkFamilies(relayWorker.APIAddr, "", documented, "worker", "relay"))

	requireMonitoringNamesLive(t, documented, e.addr, worker.APIAddr, relayWorker.APIAddr)

	resp = e.api.call(http.MethodDelete, e.addr, "/api/v1/tasks/shop", nil)
	require.Equal(t, http.StatusNoContent, resp.Status, "%s", resp.Body)
	Eventually(t, 20*time.Second, func() error {
		for _, addr := range []string{e.addr, worker.APIAddr} {
			left, err := seriesOfTask(addr, "shop")
			if err != nil {
				return err
			}
			if len(left) > 0 {
				return fmt.Errorf("%s still serves series of the deleted task: %v", addr, left)
			}
		}
		return nil
	})
}

// requireMonitoringNamesLive: every metric the rules and dashboards use is served by one of
// the members (up is Prometheus's own; a "shard" series only exists while a pessimistic
// shard-DDL group waits, which a task without shards never does).
func requireMonitoringNamesLive(t *testing.T, documented []documentedMetric, addrs ...string) {
	t.Helper()
	served := map[string]bool{"up": true}
	for _, m := range documented {
		if m.scope == "shard" {
			served[m.name] = true
		}
	}
	for _, addr := range addrs {
		families, err := scrape(addr)
		require.NoError(t, err)
		for name, f := range families {
			served[name] = true
			if f.GetType() == dto.MetricType_HISTOGRAM {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					served[name+suffix] = true
				}
			}
		}
	}
	for _, e := range monitoringExprs(t) {
		names, err := metricNamesOf(e.expr)
		require.NoError(t, err, "%s: %s", e.where, e.expr)
		for _, n := range names {
			require.True(t, served[n], "%s uses %s, which no member serves", e.where, n)
		}
	}
}

func workerProc(t *testing.T, e *migrationEnv, name string) *Proc {
	t.Helper()
	for _, w := range e.c.Workers {
		if w.Name == name {
			return w
		}
	}
	t.Fatalf("no worker %q", name)
	return nil
}

func otherWorker(name string) string {
	if name == "worker1" {
		return "worker2"
	}
	return "worker1"
}
