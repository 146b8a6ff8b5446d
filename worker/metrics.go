package worker

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics is the worker's registry (no package-level state) with DM's series names.
type metrics struct {
	registry     *prometheus.Registry
	taskState    *prometheus.GaugeVec
	loadProgress *prometheus.GaugeVec
	loadSize     *prometheus.GaugeVec
	exitErrors   *prometheus.CounterVec
	mu           sync.Mutex
	// units holds one registry per running unit (a subtask's sync, a source's relay), replaced
	// when the unit is re-created, so a restarted unit never registers a series twice.
	units map[string]*prometheus.Registry
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		taskState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "worker", Name: "task_state",
			Help: "State of each subtask: 0 invalid, 1 New, 2 Running, 3 Paused, 4 Stopped, 5 Finished.",
		}, []string{"task", "source_id", "worker"}),
		loadProgress: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "loader", Name: "progress",
			Help: "Share of the dumped data loaded, 0 to 1.",
		}, []string{"task", "source_id"}),
		loadSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "loader", Name: "data_size_gauge",
			Help: "Bytes of dumped data to load.",
		}, []string{"task", "source_id"}),
		exitErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "worker", Name: "subtask_exit_with_error_count",
			Help: "Times a subtask unit stopped on an error, by unit.",
		}, []string{"task", "source_id", "unit"}),
		units: map[string]*prometheus.Registry{},
	}
	m.registry.MustRegister(m.taskState, m.loadProgress, m.loadSize, m.exitErrors, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// unit returns a fresh registry for the unit named key, replacing the previous one.
func (m *metrics) unit(key string) prometheus.Registerer {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := prometheus.NewRegistry()
	m.units[key] = r
	return r
}

// syncUnitKey names the registry of a task's sync unit.
func syncUnitKey(task string) string { return "sync/" + task }

// relayUnitKey names the registry of a source's relay.
func relayUnitKey(source string) string { return "relay/" + source }

// forgetUnit drops the series of a unit that is gone.
func (m *metrics) forgetUnit(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.units, key)
}

// forgetSubtask drops every series of a subtask that left this worker: its sync unit's and
// the worker's own series labelled with it.
func (m *metrics) forgetSubtask(task, source string) {
	m.forgetUnit(syncUnitKey(task))
	labels := prometheus.Labels{"task": task, "source_id": source}
	m.taskState.DeletePartialMatch(labels)
	m.loadProgress.DeletePartialMatch(labels)
	m.loadSize.DeletePartialMatch(labels)
	m.exitErrors.DeletePartialMatch(labels)
}

// gatherers is everything /metrics serves.
func (m *metrics) gatherers() prometheus.Gatherers {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := prometheus.Gatherers{m.registry}
	for _, r := range m.units {
		g = append(g, r)
	}
	return g
}

// stageValue is DM's numeric task state.
func stageValue(stage string) float64 {
	switch stage {
	case stageNew:
		return 1
	case stageRunning:
		return 2
	case stagePaused:
		return 3
	case stageStopped:
		return 4
	case stageFinished:
		return 5
	default:
		return 0
	}
}
