package master

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dm-oss/dm/fsm"
)

// metrics are this master's Prometheus series under DM's names, in a registry of its own
// (no package-level state; several masters can live in one test process).
type metrics struct {
	registry    *prometheus.Registry
	workerState *prometheus.GaugeVec
	ddlState    *prometheus.GaugeVec
	shardErrors *prometheus.CounterVec
	startLeader prometheus.Counter
	// tasks are the tasks with per-task series: those of the last refresh, and those a
	// refused report named since (maybe a task deleted meanwhile). Each refresh drops the
	// series of the ones that are gone.
	mu    sync.Mutex
	tasks map[string]bool
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
		shardErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "master", Name: "shard_ddl_error",
			Help: "Shard-DDL reports of a task this master refused, by error (ErrSyncerShardDDLConflict: the sources or shards disagree on a DDL).",
		}, []string{"task", "type"}),
		tasks: map[string]bool{},
		startLeader: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "master", Name: "start_leader_counter",
			Help: "How many times this master has become the leader.",
		}),
	}
	m.registry.MustRegister(m.workerState, m.ddlState, m.shardErrors, m.startLeader,
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

// shardErrorType is the type label of dm_master_shard_ddl_error for a DDL conflict, DM's
// error name for the code.
func shardErrorType(err error) string {
	var fe *fsm.Error
	if errors.As(err, &fe) {
		if info, ok := fsm.LookupCode(int(fe.Code)); ok {
			return info.Name
		}
	}
	return "Other"
}

// countShardDDLError counts a shard-DDL report of task that the FSM refused.
func (m *metrics) countShardDDLError(task string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tasks[task] = true
	m.shardErrors.WithLabelValues(task, shardErrorType(err)).Inc()
}

// refreshTasks makes every task's per-task series exist (zero until something happens) and
// drops those of tasks that are gone.
func (m *metrics) refreshTasks(tasks []fsm.Task) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := map[string]bool{}
	conflict := shardErrorType(&fsm.Error{Code: fsm.CodeShardDDLConflict})
	for _, t := range tasks {
		now[t.Name] = true
		m.shardErrors.WithLabelValues(t.Name, conflict)
	}
	for name := range m.tasks {
		if !now[name] {
			m.shardErrors.DeletePartialMatch(prometheus.Labels{"task": name})
		}
	}
	m.tasks = now
}
