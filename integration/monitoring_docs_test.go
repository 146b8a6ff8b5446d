package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// monitoringDir holds the scrape config, rules, dashboards and the list of series.
const monitoringDir = "../docs/monitoring"

// documentedMetric is one line of docs/monitoring/metrics.txt.
type documentedMetric struct {
	name, typ, scope string
	labels           []string
}

// documentedMetrics reads docs/monitoring/metrics.txt, the one list of the series.
func documentedMetrics(t *testing.T) []documentedMetric {
	t.Helper()
	f, err := os.Open(filepath.Join(monitoringDir, "metrics.txt"))
	require.NoError(t, err)
	defer f.Close()
	var out []documentedMetric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		require.Len(t, fields, 4, "metrics.txt: %q is not name, type, scope, labels", line)
		m := documentedMetric{name: fields[0], typ: fields[1], scope: fields[2]}
		if fields[3] != "-" {
			m.labels = strings.Split(fields[3], ",")
		}
		require.Contains(t, []string{"counter", "gauge", "histogram"}, m.typ, "metrics.txt: %s", line)
		require.Contains(t, []string{"master", "master-task", "worker", "task", "shard", "relay"}, m.scope, "metrics.txt: %s", line)
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out)
	return out
}

// monitoringExpr is one PromQL expression of a rules file or dashboard, and where it is.
type monitoringExpr struct {
	where, expr string
}

// monitoringExprs collects every PromQL expression of the rules and the Grafana dashboards.
func monitoringExprs(t *testing.T) []monitoringExpr {
	t.Helper()
	var out []monitoringExpr
	rules, err := filepath.Glob(filepath.Join(monitoringDir, "*.rules.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, rules, "no rules file in %s", monitoringDir)
	for _, path := range rules {
		var doc struct {
			Groups []struct {
				Rules []struct {
					Alert, Record, Expr string
				}
			}
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, yaml.Unmarshal(b, &doc), path)
		for _, g := range doc.Groups {
			for _, r := range g.Rules {
				out = append(out, monitoringExpr{where: filepath.Base(path) + " " + r.Alert + r.Record, expr: r.Expr})
			}
		}
	}
	dashboards, err := filepath.Glob(filepath.Join(monitoringDir, "grafana", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, dashboards, "no Grafana dashboard in %s/grafana", monitoringDir)
	for _, path := range dashboards {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var doc any
		require.NoError(t, json.Unmarshal(b, &doc), path)
		collectDashboardExprs(filepath.Base(path), doc, &out)
	}
	return out
}

// labelValuesQuery is a Grafana variable query: label_values(selector, label).
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// collectDashboardExprs walks a dashboard: panel targets' "expr", and the templating
// variables' label_values selectors.
func collectDashboardExprs(where string, v any, out *[]monitoringExpr) {
	switch v := v.(type) {
	case map[string]any:
		if e, ok := v["expr"].(string); ok && e != "" {
			*out = append(*out, monitoringExpr{where: where, expr: e})
		}
		if q, ok := v["query"].(string); ok {
			if m := labelValuesQuery.FindStringSubmatch(q); m != nil {
				*out = append(*out, monitoringExpr{where: where + " variable", expr: m[1]})
			}
		}
		for _, c := range v {
			collectDashboardExprs(where, c, out)
		}
	case []any:
		for _, c := range v {
			collectDashboardExprs(where, c, out)
		}
	}
}

// grafanaRange stands for Grafana's range variables, which only Grafana replaces.
var grafanaRange = regexp.MustCompile(`\$__(rate_interval|interval|range)`)

// metricNamesOf parses expr with Prometheus's own parser and returns the metric names it
// selects.
func metricNamesOf(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaRange.ReplaceAllString(expr, "5m"))
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == "__name__" {
					name = m.Value
				}
			}
			if name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		return nil
	})
	return names, nil
}

// familyOf is the family a sample name belongs to: a histogram's _bucket, _sum and _count
// are its own name's.
func familyOf(name string, histograms map[string]bool) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && histograms[base] {
			return base
		}
	}
	return name
}

// generatedSeries are the names Prometheus or the client library make, not this list.
func generatedSeries(name string) bool {
	return name == "up" || strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")
}

// TestMonitoringConfigs: the rules pass promtool, the scrape config too, every expression of
// the rules and the dashboards parses with Prometheus's parser, and every metric it uses is
// in docs/monitoring/metrics.txt (TestMetricsPresence checks that list against a cluster).
func TestMonitoringConfigs(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool (Debian's prometheus package) is needed: make deps installs it")
	rules, err := filepath.Glob(filepath.Join(monitoringDir, "*.rules.yml"))
	require.NoError(t, err)
	out, err := exec.Command(promtool, append([]string{"check", "rules"}, rules...)...).CombinedOutput()
	require.NoError(t, err, "promtool check rules:\n%s", out)
	out, err = exec.Command(promtool, "check", "config", filepath.Join(monitoringDir, "prometheus.yml")).CombinedOutput()
	require.NoError(t, err, "promtool check config:\n%s", out)

	documented := documentedMetrics(t)
	known, histograms := map[string]bool{}, map[string]bool{}
	for _, m := range documented {
		known[m.name] = true
		if m.typ == "histogram" {
			histograms[m.name] = true
		}
	}
	exprs := monitoringExprs(t)
	for _, e := range exprs {
		names, err := metricNamesOf(e.expr)
		require.NoError(t, err, "%s: %s", e.where, e.expr)
		require.NotEmpty(t, names, "%s: %s selects no metric", e.where, e.expr)
		for _, n := range names {
			if !generatedSeries(n) {
				require.True(t, known[familyOf(n, histograms)], "%s uses %s, which docs/monitoring/metrics.txt does not list", e.where, n)
			}
		}
	}
}
