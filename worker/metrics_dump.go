package worker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dm-oss/dm/restapi/peer"
)

// dumpMetrics are the series DM's dump unit gets from the dumpling library, with DM's names
// and the labels {task, source_id}, set from the dump's counters.
type dumpMetrics struct {
	finishedSize   *prometheus.GaugeVec
	finishedRows   *prometheus.GaugeVec
	finishedTables *prometheus.GaugeVec
	estimateRows   *prometheus.GaugeVec
	errors         *prometheus.CounterVec
}

func newDumpMetrics() dumpMetrics {
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "dumpling", Subsystem: "dump", Name: name, Help: help},
			[]string{"task", "source_id"})
	}
	return dumpMetrics{
		finishedSize:   gauge("finished_size", "bytes of the dump written"),
		finishedRows:   gauge("finished_rows", "rows of the dump written"),
		finishedTables: gauge("finished_tables", "tables dumped in full"),
		estimateRows:   gauge("estimate_total_rows", "rows of the dumped tables, as the upstream estimates them"),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "dumpling", Subsystem: "dump", Name: "error_count",
			Help: "dumps that stopped on an error"}, []string{"task", "source_id"}),
	}
}

func (d dumpMetrics) register(r prometheus.Registerer) {
	r.MustRegister(d.finishedSize, d.finishedRows, d.finishedTables, d.estimateRows, d.errors)
}

// set publishes a dump's progress; a subtask whose dump ran before this process started has
// zeros until it dumps again.
func (d dumpMetrics) set(task, source string, p *peer.DumpStatus) {
	d.finishedSize.WithLabelValues(task, source).Set(p.FinishedBytes)
	d.finishedRows.WithLabelValues(task, source).Set(p.FinishedRows)
	d.finishedTables.WithLabelValues(task, source).Set(p.CompletedTables)
	d.estimateRows.WithLabelValues(task, source).Set(p.EstimateTotalRows)
	d.errors.WithLabelValues(task, source)
}

func (d dumpMetrics) forget(labels prometheus.Labels) {
	d.finishedSize.DeletePartialMatch(labels)
	d.finishedRows.DeletePartialMatch(labels)
	d.finishedTables.DeletePartialMatch(labels)
	d.estimateRows.DeletePartialMatch(labels)
	d.errors.DeletePartialMatch(labels)
}
