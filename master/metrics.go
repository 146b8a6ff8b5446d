package master

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are this master's Prometheus series under DM's names, in a registry of its own
// (no package-level state; several masters can live in one test process).
type metrics struct {
	registry    *prometheus.Registry
	workerState *prometheus.GaugeVec
	ddlState    *prometheus.GaugeVec
	startLeader prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		workerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "master", Name: "worker_state",
			Help: "State of each registered worker as the leader sees it: 0 offline, 1 free, 1.5 relay, 2 bound.",
		}, []string{"worker"}),
		ddlState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "master", Name: "ddl_state_number",
			Help: "Shard-DDL locks of each task by state, as the leader sees them: Un-synced = waiting for sources to report the DDLs, Synced = resolved, the owner has not run them yet.",
		}, []string{"task", "type"}),
		startLeader: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "master", Name: "start_leader_counter",
			Help: "How many times this master has become the leader.",
		}),
	}
	m.registry.MustRegister(m.workerState, m.ddlState, m.startLeader,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// stageMetric is DM's numeric encoding of a worker stage.
func stageMetric(stage string) float64 {
	switch stage {
	case stageFree:
		return 1
	case stageRelay:
		return 1.5
	case stageBound:
		return 2
	default:
		return 0
	}
}
