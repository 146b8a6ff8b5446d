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
	operateError *prometheus.CounterVec
	dump         dumpMetrics
	unitExits    map[string]*prometheus.CounterVec // DM's <unit>_exit_with_error_count, by unit
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
		operateError: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "worker", Name: "operate_error",
			Help: "Operations this worker failed to carry out, by type (StartRelay: the relay could not be set up).",
		}, []string{"worker", "type"}),
		dump: newDumpMetrics(),
		unitExits: map[string]*prometheus.CounterVec{
			unitDump: exitCounter("dumpling", "dump"),
			unitLoad: exitCounter("loader", "load"),
		},
		units: map[string]*prometheus.Registry{},
	}
	m.registry.MustRegister(m.taskState, m.loadProgress, m.loadSize, m.exitErrors, m.operateError,
		m.unitExits[unitDump], m.unitExits[unitLoad],
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.dump.register(m.registry)
	return m
}

// exitCounter is DM's dm_<subsystem>_exit_with_error_count of a unit; the sync unit's is the
// syncer's own.
func exitCounter(subsystem, unit string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "dm", Subsystem: subsystem, Name: "exit_with_error_count",
		Help: "Times the " + unit + " unit of a subtask stopped on an error.",
	}, []string{"task", "source_id"})
}

// operationStartRelay is the operate_error type of a relay that could not be set up.
const operationStartRelay = "StartRelay"

// unit returns a fresh registry for the unit named key, replacing the previous one.
func (m *metrics) unit(key string) prometheus.Registerer {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := prometheus.NewRegistry()
	m.units[key] = r
	return r
}

// loadUnitKey names the registry of a task's load unit.
func loadUnitKey(task string) string { return "load/" + task }

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
	m.forgetUnit(loadUnitKey(task))
	labels := prometheus.Labels{"task": task, "source_id": source}
	m.taskState.DeletePartialMatch(labels)
	m.loadProgress.DeletePartialMatch(labels)
	m.loadSize.DeletePartialMatch(labels)
	m.exitErrors.DeletePartialMatch(labels)
	for _, c := range m.unitExits {
		c.DeletePartialMatch(labels)
	}
	m.dump.forget(labels)
}

// unitExited counts a subtask unit that stopped on an error, in the worker's series and in
// DM's series of the unit (the sync unit's own is the syncer's).
func (m *metrics) unitExited(task, source, unit string) {
	m.exitErrors.WithLabelValues(task, source, unit).Inc()
	if c, ok := m.unitExits[unit]; ok {
		c.WithLabelValues(task, source).Inc()
	}
	if unit == unitDump {
		m.dump.errors.WithLabelValues(task, source).Inc()
	}
}

// subtaskSeries makes the counters of a subtask exist (zero until something happens).
func (m *metrics) subtaskSeries(task, source string) {
	for _, c := range m.unitExits {
		c.WithLabelValues(task, source)
	}
	for _, unit := range []string{unitDump, unitLoad, unitSync} {
		m.exitErrors.WithLabelValues(task, source, unit)
	}
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
