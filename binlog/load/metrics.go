package load

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dm-oss/dm/binlog/internal/promreg"
)

// Statement types of dm_loader_stmt_duration_time.
const (
	stmtBegin  = "begin"
	stmtInsert = "stmt"
	stmtCommit = "commit"
)

// maxTableLabels caps the target_schema/target_table pairs of txn_duration_time per Loader;
// further tables are observed under "_other".
const maxTableLabels = 256

// metrics are DM's loader series (namespace dm, subsystem loader) of one Loader. Every series
// without a table label exists from New, so rules and dashboards see zeros before the first
// chunk.
type metrics struct {
	task, source, worker string
	execErrors           prometheus.Counter
	query                prometheus.Observer
	stmt                 map[string]prometheus.Observer
	dataFiles            prometheus.Gauge
	tables               prometheus.Gauge
	remaining            prometheus.Gauge
	txnVec               *prometheus.HistogramVec
	mu                   sync.Mutex
	txn                  map[[2]string]prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, cfg Config) *metrics {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "dm", Subsystem: "loader", Name: name, Help: help}
	}
	hist := func(name, help string, labels []string) *prometheus.HistogramVec {
		o := opts(name, help)
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: o.Namespace, Subsystem: o.Subsystem, Name: o.Name, Help: o.Help,
			Buckets: prometheus.ExponentialBuckets(0.000005, 2, 25)}, labels)
	}
	ts := []string{"task", "source_id"}
	execErrors := prometheus.NewCounterVec(prometheus.CounterOpts(opts("tidb_execution_error", "statements the target refused while loading")), ts)
	query := hist("query_duration_time", "seconds one INSERT of a chunk takes on the target", ts)
	txn := hist("txn_duration_time", "seconds one chunk's target transaction takes, from BEGIN to COMMIT", []string{"task", "worker", "source_id", "target_schema", "target_table"})
	stmt := hist("stmt_duration_time", "seconds a statement of a chunk's transaction takes, by type (begin, stmt, commit)", []string{"type", "task"})
	dataFiles := prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("data_file_gauge", "data files (chunks) of the dump to load")), ts)
	tables := prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("table_gauge", "tables of the dump to load")), ts)
	remaining := prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("remaining_time",
		"estimated seconds until the load finishes, for the whole subtask (its tables load in parallel, so source_schema and source_table are empty)")),
		[]string{"task", "worker", "source_id", "source_schema", "source_table"})
	if reg != nil {
		execErrors = promreg.Register(reg, execErrors)
		query = promreg.Register(reg, query)
		txn = promreg.Register(reg, txn)
		stmt = promreg.Register(reg, stmt)
		dataFiles = promreg.Register(reg, dataFiles)
		tables = promreg.Register(reg, tables)
		remaining = promreg.Register(reg, remaining)
	}
	m := &metrics{
		task: cfg.Task, source: cfg.Source, worker: cfg.Worker,
		execErrors: execErrors.WithLabelValues(cfg.Task, cfg.Source),
		query:      query.WithLabelValues(cfg.Task, cfg.Source),
		stmt:       map[string]prometheus.Observer{},
		dataFiles:  dataFiles.WithLabelValues(cfg.Task, cfg.Source),
		tables:     tables.WithLabelValues(cfg.Task, cfg.Source),
		remaining:  remaining.WithLabelValues(cfg.Task, cfg.Worker, cfg.Source, "", ""),
		txnVec:     txn,
		txn:        map[[2]string]prometheus.Observer{},
	}
	for _, typ := range []string{stmtBegin, stmtInsert, stmtCommit} {
		m.stmt[typ] = stmt.WithLabelValues(typ, cfg.Task)
	}
	return m
}

// txnDuration is the txn_duration_time child of one target table.
func (m *metrics) txnDuration(schema, table string) prometheus.Observer {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := [2]string{schema, table}
	if o := m.txn[key]; o != nil {
		return o
	}
	if len(m.txn) >= maxTableLabels {
		key = [2]string{"_other", "_other"}
		if o := m.txn[key]; o != nil {
			return o
		}
	}
	o := m.txnVec.WithLabelValues(m.task, m.worker, m.source, key[0], key[1])
	m.txn[key] = o
	return o
}

// watchRemaining sets remaining_time every interval until ctx ends: the bytes left over
// the bytes loaded per second since the previous tick.
func (l *Loader) watchRemaining(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	prev, prevAt := l.finished.Load(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			done := l.finished.Load()
			left := l.meta.TotalBytes() - done
			rate := float64(done-prev) / now.Sub(prevAt).Seconds()
			prev, prevAt = done, now
			switch {
			case left <= 0:
				l.m.remaining.Set(0)
			case rate > 0:
				l.m.remaining.Set(float64(left) / rate)
			default:
				l.m.remaining.Set(math.Inf(1))
			}
		}
	}
}

// refused counts a statement the target refused; one cut short by a pause is not.
func (m *metrics) refused(ctx context.Context) {
	if ctx.Err() == nil {
		m.execErrors.Inc()
	}
}
