package syncer

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dm-oss/dm/binlog/internal/promreg"
)

// maxTableLabels caps the distinct target_schema/target_table label pairs of
// dm_syncer_finished_jobs_total per Syncer; further tables are counted under "_other".
const maxTableLabels = 256

// collectors are shared by every Syncer that registers into the same Registerer (a worker
// process runs many subtasks, and restarts them): registering twice yields the first set.
type collectors struct {
	finishedJobs *prometheus.CounterVec
	lag          *prometheus.GaugeVec
	binlogPos    *prometheus.GaugeVec
	binlogFile   *prometheus.GaugeVec
	queueSize    *prometheus.GaugeVec
	txnDuration  *prometheus.HistogramVec
	exitErrors   *prometheus.CounterVec
	lockWaiting  *prometheus.GaugeVec
	unsynced     *prometheus.GaugeVec
}

func newCollectors(reg prometheus.Registerer) *collectors {
	c := &collectors{
		finishedJobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "syncer", Name: "finished_jobs_total",
			Help: "total number of finished jobs",
		}, []string{"type", "task", "queueNo", "source_id", "worker", "target_schema", "target_table"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "syncer", Name: "replication_lag_gauge",
			Help: "replication lag gauge in second between mysql and syncer",
		}, []string{"task", "source_id", "worker"}),
		binlogPos: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "syncer", Name: "binlog_pos",
			Help: "current binlog pos",
		}, []string{"node", "task", "source_id"}),
		binlogFile: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "syncer", Name: "binlog_file",
			Help: "current binlog file index",
		}, []string{"node", "task", "source_id"}),
		queueSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "syncer", Name: "queue_size",
			Help: "remain size of the DML queue",
		}, []string{"task", "queue_id", "source_id"}),
		txnDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "dm", Subsystem: "syncer", Name: "txn_duration_time",
			Help:    "Bucketed histogram of processing time (s) of a txn.",
			Buckets: prometheus.ExponentialBuckets(0.000005, 2, 25),
		}, []string{"task", "worker", "source_id"}),
		exitErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "syncer", Name: "exit_with_error_count",
			Help: "counter for syncer exits with error",
		}, []string{"task", "source_id"}),
		lockWaiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "syncer", Name: "shard_lock_resolving",
			Help: "1 while the source waits on a pessimistic shard-DDL lock",
		}, []string{"task", "source_id"}),
		unsynced: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "syncer", Name: "unsynced_table_number",
			Help: "shard tables of a pessimistic group that have not sent its DDL yet",
		}, []string{"task", "table", "source_id"}),
	}
	if reg == nil {
		return c
	}
	c.finishedJobs = promreg.Register(reg, c.finishedJobs)
	c.lag = promreg.Register(reg, c.lag)
	c.binlogPos = promreg.Register(reg, c.binlogPos)
	c.binlogFile = promreg.Register(reg, c.binlogFile)
	c.queueSize = promreg.Register(reg, c.queueSize)
	c.txnDuration = promreg.Register(reg, c.txnDuration)
	c.exitErrors = promreg.Register(reg, c.exitErrors)
	c.lockWaiting = promreg.Register(reg, c.lockWaiting)
	c.unsynced = promreg.Register(reg, c.unsynced)
	return c
}

// metrics are one Syncer's series.
type metrics struct {
	c                      *collectors
	task, source, worker   string
	lag                    prometheus.Gauge
	posMaster, posSyncer   prometheus.Gauge
	fileMaster, fileSyncer prometheus.Gauge
	exitErrors             prometheus.Counter
	txnDuration            []prometheus.Observer
	queueSize              []prometheus.Gauge
	mu                     sync.Mutex
	tables                 map[[3]string]prometheus.Counter // type, schema, table + queue in key below
	tableNames             map[[2]string]bool
}

func newMetrics(c *collectors, task, source, worker string, workers int) *metrics {
	m := &metrics{
		c: c, task: task, source: source, worker: worker,
		lag:        c.lag.WithLabelValues(task, source, worker),
		posMaster:  c.binlogPos.WithLabelValues("master", task, source),
		posSyncer:  c.binlogPos.WithLabelValues("syncer", task, source),
		fileMaster: c.binlogFile.WithLabelValues("master", task, source),
		fileSyncer: c.binlogFile.WithLabelValues("syncer", task, source),
		exitErrors: c.exitErrors.WithLabelValues(task, source),
		tables:     map[[3]string]prometheus.Counter{},
		tableNames: map[[2]string]bool{},
	}
	for i := 0; i < workers; i++ {
		m.txnDuration = append(m.txnDuration, c.txnDuration.WithLabelValues(task, worker, source))
		m.queueSize = append(m.queueSize, c.queueSize.WithLabelValues(task, strconv.Itoa(i), source))
	}
	return m
}

// finished returns the finished_jobs_total counter of one job type, queue and target table.
func (m *metrics) finished(typ string, queue int, schema, table string) prometheus.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := [2]string{schema, table}
	if !m.tableNames[name] {
		if len(m.tableNames) >= maxTableLabels {
			name = [2]string{"_other", "_other"}
		} else {
			m.tableNames[name] = true
		}
	}
	q := strconv.Itoa(queue)
	key := [3]string{typ + "\x00" + q, name[0], name[1]}
	c := m.tables[key]
	if c == nil {
		c = m.c.finishedJobs.WithLabelValues(typ, m.task, q, m.source, m.worker, name[0], name[1])
		m.tables[key] = c
	}
	return c
}
