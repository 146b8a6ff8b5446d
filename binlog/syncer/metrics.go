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
	finishedJobs  *prometheus.CounterVec
	addedJobs     *prometheus.CounterVec
	lag           *prometheus.GaugeVec
	lagHist       *prometheus.HistogramVec
	remaining     *prometheus.GaugeVec
	binlogPos     *prometheus.GaugeVec
	binlogFile    *prometheus.GaugeVec
	queueSize     *prometheus.GaugeVec
	txnDuration   *prometheus.HistogramVec
	queryDuration *prometheus.HistogramVec
	exitErrors    *prometheus.CounterVec
	lockWaiting   *prometheus.GaugeVec
	unsynced      *prometheus.GaugeVec
	readBinlog    *prometheus.HistogramVec
	eventSize     *prometheus.HistogramVec
	eventRows     *prometheus.HistogramVec
	dispatch      *prometheus.HistogramVec
	skip          *prometheus.HistogramVec
	addJob        *prometheus.HistogramVec
	conflict      *prometheus.HistogramVec
	sqlRetries    *prometheus.CounterVec
	finishedTxn   *prometheus.CounterVec
	txnBatch      *prometheus.HistogramVec
	flushInterval *prometheus.HistogramVec
}

// Label sets of DM's syncer series.
var (
	jobLabels = []string{"type", "task", "queueNo", "source_id", "worker", "target_schema", "target_table"}
	tswLabels = []string{"task", "source_id", "worker"}
	twsLabels = []string{"task", "worker", "source_id"}
	tsLabels  = []string{"task", "source_id"}
)

// timeBuckets spans 5 µs to ~84 s, DM's buckets for the syncer's durations.
var timeBuckets = prometheus.ExponentialBuckets(0.000005, 2, 25)

func newGaugeVec(name, help string, labels []string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "dm", Subsystem: "syncer", Name: name, Help: help}, labels)
}

func newCounterVec(name, help string, labels []string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "dm", Subsystem: "syncer", Name: name, Help: help}, labels)
}

func newHistogramVec(name, help string, buckets []float64, labels []string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "dm", Subsystem: "syncer", Name: name, Help: help, Buckets: buckets}, labels)
}

func newCollectors(reg prometheus.Registerer) *collectors {
	c := &collectors{
		finishedJobs:  newCounterVec("finished_jobs_total", "total number of finished jobs", jobLabels),
		addedJobs:     newCounterVec("added_jobs_total", "total number of added jobs", jobLabels),
		lag:           newGaugeVec("replication_lag_gauge", "replication lag gauge in second between mysql and syncer", tswLabels),
		lagHist:       newHistogramVec("replication_lag", "replication lag in second between mysql and syncer", prometheus.ExponentialBuckets(0.5, 2, 12), tswLabels),
		remaining:     newGaugeVec("remaining_time", "estimated seconds to catch up with the master: the bytes behind it (within the master's binlog file, a lower bound while the syncer reads an older file) over the bytes read per second lately", tswLabels),
		binlogPos:     newGaugeVec("binlog_pos", "current binlog pos", []string{"node", "task", "source_id"}),
		binlogFile:    newGaugeVec("binlog_file", "current binlog file index", []string{"node", "task", "source_id"}),
		queueSize:     newGaugeVec("queue_size", "remain size of the DML queue", []string{"task", "queue_id", "source_id"}),
		txnDuration:   newHistogramVec("txn_duration_time", "Bucketed histogram of processing time (s) of a txn.", timeBuckets, twsLabels),
		queryDuration: newHistogramVec("query_duration_time", "seconds one attempt to apply a batch to the target takes", timeBuckets, twsLabels),
		exitErrors:    newCounterVec("exit_with_error_count", "counter for syncer exits with error", tsLabels),
		lockWaiting:   newGaugeVec("shard_lock_resolving", "1 while the source waits on a pessimistic shard-DDL lock", tsLabels),
		unsynced:      newGaugeVec("unsynced_table_number", "shard tables of a pessimistic group that have not sent its DDL yet", []string{"task", "table", "source_id"}),
		readBinlog:    newHistogramVec("read_binlog_duration", "seconds waiting for the next binlog event from the reader", timeBuckets, tsLabels),
		eventSize:     newHistogramVec("binlog_event_size", "bytes of each binlog event read", prometheus.ExponentialBuckets(16, 2, 20), twsLabels),
		eventRows:     newHistogramVec("binlog_event_row", "rows of each rows event", prometheus.ExponentialBuckets(1, 2, 12), []string{"worker", "task", "source_id"}),
		dispatch:      newHistogramVec("dispatch_binlog_duration", "seconds dispatching one binlog event, by event type", timeBuckets, []string{"type", "task", "source_id"}),
		skip:          newHistogramVec("skip_binlog_duration", "seconds handling a binlog event that the filters drop, by event type", timeBuckets, []string{"type", "task", "source_id"}),
		addJob:        newHistogramVec("add_job_duration", "seconds adding a job to a DML queue (waiting while it is full)", timeBuckets, []string{"type", "task", "queueNo", "source_id"}),
		conflict:      newHistogramVec("conflict_detect_duration", "seconds detecting unique-key conflicts between queues, including the flush a conflict causes", timeBuckets, tsLabels),
		sqlRetries:    newCounterVec("sql_retries_total", "batches applied again after a transient target error", []string{"type", "task"}),
		finishedTxn:   newCounterVec("finished_transaction_total", "upstream transactions dispatched to the target in full", twsLabels),
		txnBatch:      newHistogramVec("replication_transaction_batch", "row changes per target transaction of a queue", prometheus.ExponentialBuckets(1, 2, 12), []string{"worker", "task", "source_id", "queueNo", "type"}),
		flushInterval: newHistogramVec("flush_checkpoints_time_interval", "seconds between two writes of the global checkpoint", prometheus.ExponentialBuckets(0.001, 2, 20), []string{"worker", "task", "source_id"}),
	}
	if reg != nil {
		c.register(reg)
	}
	return c
}

func (c *collectors) register(reg prometheus.Registerer) {
	for _, p := range []**prometheus.CounterVec{&c.finishedJobs, &c.addedJobs, &c.exitErrors, &c.sqlRetries, &c.finishedTxn} {
		*p = promreg.Register(reg, *p)
	}
	for _, p := range []**prometheus.GaugeVec{&c.lag, &c.remaining, &c.binlogPos, &c.binlogFile, &c.queueSize, &c.lockWaiting, &c.unsynced} {
		*p = promreg.Register(reg, *p)
	}
	for _, p := range []**prometheus.HistogramVec{&c.lagHist, &c.txnDuration, &c.queryDuration, &c.readBinlog, &c.eventSize,
		&c.eventRows, &c.dispatch, &c.skip, &c.addJob, &c.conflict, &c.txnBatch, &c.flushInterval} {
		*p = promreg.Register(reg, *p)
	}
}

// metrics are one Syncer's series. Every series without a table label exists from the start,
// so that rules and dashboards see zeros rather than nothing before the first event.
type metrics struct {
	c                      *collectors
	task, source, worker   string
	lag                    prometheus.Gauge
	lagHist                prometheus.Observer
	remaining              prometheus.Gauge
	posMaster, posSyncer   prometheus.Gauge
	fileMaster, fileSyncer prometheus.Gauge
	exitErrors             prometheus.Counter
	txnDuration            []prometheus.Observer
	queryDuration          []prometheus.Observer
	queueSize              []prometheus.Gauge
	addJob                 [][len(changeKindNames)]prometheus.Observer // by queue, kind
	txnBatch               []prometheus.Observer
	readBinlog             prometheus.Observer
	eventSize              prometheus.Observer
	eventRows              prometheus.Observer
	conflict               prometheus.Observer
	retries                prometheus.Counter
	finishedTxn            prometheus.Counter
	flushInterval          prometheus.Observer
	dispatch, skip         [len(eventTypes)]prometheus.Observer // by event type
	mu                     sync.Mutex
	added, finishedJobs    map[jobKey]prometheus.Counter
	tableNames             map[[2]string]bool
}

// jobKey names one child of added_jobs_total or finished_jobs_total.
type jobKey struct {
	kind          ChangeKind
	queue         int
	schema, table string
}

func newMetrics(c *collectors, task, source, worker string, workers int) *metrics {
	m := &metrics{
		c: c, task: task, source: source, worker: worker,
		lag:           c.lag.WithLabelValues(task, source, worker),
		lagHist:       c.lagHist.WithLabelValues(task, source, worker),
		remaining:     c.remaining.WithLabelValues(task, source, worker),
		posMaster:     c.binlogPos.WithLabelValues("master", task, source),
		posSyncer:     c.binlogPos.WithLabelValues("syncer", task, source),
		fileMaster:    c.binlogFile.WithLabelValues("master", task, source),
		fileSyncer:    c.binlogFile.WithLabelValues("syncer", task, source),
		exitErrors:    c.exitErrors.WithLabelValues(task, source),
		readBinlog:    c.readBinlog.WithLabelValues(task, source),
		eventSize:     c.eventSize.WithLabelValues(task, worker, source),
		eventRows:     c.eventRows.WithLabelValues(worker, task, source),
		conflict:      c.conflict.WithLabelValues(task, source),
		retries:       c.sqlRetries.WithLabelValues("dml", task),
		finishedTxn:   c.finishedTxn.WithLabelValues(task, worker, source),
		flushInterval: c.flushInterval.WithLabelValues(worker, task, source),
		added:         map[jobKey]prometheus.Counter{},
		finishedJobs:  map[jobKey]prometheus.Counter{},
		tableNames:    map[[2]string]bool{},
	}
	c.lockWaiting.WithLabelValues(task, source)
	for i, typ := range eventTypes {
		m.dispatch[i] = c.dispatch.WithLabelValues(typ, task, source)
		m.skip[i] = c.skip.WithLabelValues(typ, task, source)
	}
	for i := 0; i < workers; i++ {
		q := strconv.Itoa(i)
		m.txnDuration = append(m.txnDuration, c.txnDuration.WithLabelValues(task, worker, source))
		m.queryDuration = append(m.queryDuration, c.queryDuration.WithLabelValues(task, worker, source))
		m.queueSize = append(m.queueSize, c.queueSize.WithLabelValues(task, q, source))
		m.txnBatch = append(m.txnBatch, c.txnBatch.WithLabelValues(worker, task, source, q, "dml"))
		var byKind [len(changeKindNames)]prometheus.Observer
		for k, name := range changeKindNames {
			byKind[k] = c.addJob.WithLabelValues(name, task, q, source)
		}
		m.addJob = append(m.addJob, byKind)
	}
	return m
}

// Event types of dispatch_binlog_duration and skip_binlog_duration (the type label).
const (
	eventTypeRows = iota
	eventTypeQuery
	eventTypeOther
)

var eventTypes = [...]string{"rows", "query", "other"}

// addedJob counts a job queued for a target table.
func (m *metrics) addedJob(kind ChangeKind, queue int, schema, table string) {
	m.jobCounter(m.added, m.c.addedJobs, kind, queue, schema, table).Inc()
}

// finished returns the finished_jobs_total counter of one job kind, queue and target table.
func (m *metrics) finished(kind ChangeKind, queue int, schema, table string) prometheus.Counter {
	return m.jobCounter(m.finishedJobs, m.c.finishedJobs, kind, queue, schema, table)
}

// jobCounter returns the child of vec for one job kind, queue and target table, counting
// tables past maxTableLabels under "_other".
func (m *metrics) jobCounter(cache map[jobKey]prometheus.Counter, vec *prometheus.CounterVec, kind ChangeKind, queue int, schema, table string) prometheus.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := jobKey{kind: kind, queue: queue, schema: schema, table: table}
	if c := cache[key]; c != nil {
		return c
	}
	name := [2]string{schema, table}
	if !m.tableNames[name] {
		if len(m.tableNames) >= maxTableLabels {
			key.schema, key.table = "_other", "_other"
			if c := cache[key]; c != nil {
				return c
			}
		} else {
			m.tableNames[name] = true
		}
	}
	c := vec.WithLabelValues(kind.String(), m.task, strconv.Itoa(queue), m.source, m.worker, key.schema, key.table)
	cache[key] = c
	return c
}
