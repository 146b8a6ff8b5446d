package relay

import (
	"path/filepath"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dm-oss/dm/binlog/internal/promreg"
)

// metrics are DM's relay metrics (namespace dm, subsystem relay), each with the constant
// label source_id (the relay directory's base name, which is the source's name).
type metrics struct {
	binlogPos      *prometheus.GaugeVec // node = master | relay
	binlogFile     *prometheus.GaugeVec // node = master | relay; the file's numeric extension
	writeSize      prometheus.Histogram
	writeDuration  prometheus.Histogram
	readErrors     prometheus.Counter
	writeErrors    prometheus.Counter
	exitWithError  *prometheus.CounterVec // resumable_err = true | false
	dataCorruption prometheus.Counter
	space          *prometheus.GaugeVec // type = capacity | available
	readDuration   prometheus.Histogram // waiting for the next event from the upstream
	transformCost  prometheus.Histogram // handling one event (checks, GTID tracking, buffering)
}

func newMetrics(reg prometheus.Registerer, dir string) *metrics {
	labels := prometheus.Labels{"source_id": filepath.Base(filepath.Clean(dir))}
	m := &metrics{
		binlogPos: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "relay", Name: "binlog_pos", ConstLabels: labels,
			Help: "current binlog pos in the upstream (node=master) and in the relay log (node=relay)",
		}, []string{"node"}),
		binlogFile: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "relay", Name: "binlog_file", ConstLabels: labels,
			Help: "current binlog file index (the file name's numeric extension) in the upstream (node=master) and in the relay log (node=relay)",
		}, []string{"node"}),
		writeSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "dm", Subsystem: "relay", Name: "write_size", ConstLabels: labels,
			Help:    "bytes written to the relay log per flush",
			Buckets: prometheus.ExponentialBuckets(16, 4, 12),
		}),
		writeDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "dm", Subsystem: "relay", Name: "write_duration", ConstLabels: labels,
			Help:    "seconds a relay log flush (write and fsync) takes",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18),
		}),
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "relay", Name: "read_error_count", ConstLabels: labels,
			Help: "errors reading the binlog from the upstream",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "relay", Name: "write_error_count", ConstLabels: labels,
			Help: "errors writing the relay log",
		}),
		exitWithError: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "relay", Name: "exit_with_error_count", ConstLabels: labels,
			Help: "relay sessions that ended with an error; resumable_err=true ones are retried",
		}, []string{"resumable_err"}),
		dataCorruption: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "dm", Subsystem: "relay", Name: "data_corruption", ConstLabels: labels,
			Help: "relay log data found corrupt (a relay file shorter than its meta, a checksum mismatch)",
		}),
		space: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "dm", Subsystem: "relay", Name: "space", ConstLabels: labels,
			Help: "bytes of the file system that holds the relay log (type=capacity|available)",
		}, []string{"type"}),
		readDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "dm", Subsystem: "relay", Name: "read_binlog_duration", ConstLabels: labels,
			Help:    "seconds waiting for the next binlog event from the upstream",
			Buckets: prometheus.ExponentialBuckets(0.000005, 2, 25),
		}),
		transformCost: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "dm", Subsystem: "relay", Name: "read_transform_duration", ConstLabels: labels,
			Help:    "seconds handling one binlog event before it is written to the relay log",
			Buckets: prometheus.ExponentialBuckets(0.000005, 2, 25),
		}),
	}
	if reg != nil {
		m.binlogPos = promreg.Register(reg, m.binlogPos)
		m.binlogFile = promreg.Register(reg, m.binlogFile)
		m.writeSize = promreg.Register(reg, m.writeSize)
		m.writeDuration = promreg.Register(reg, m.writeDuration)
		m.readErrors = promreg.Register(reg, m.readErrors)
		m.writeErrors = promreg.Register(reg, m.writeErrors)
		m.exitWithError = promreg.Register(reg, m.exitWithError)
		m.dataCorruption = promreg.Register(reg, m.dataCorruption)
		m.space = promreg.Register(reg, m.space)
		m.readDuration = promreg.Register(reg, m.readDuration)
		m.transformCost = promreg.Register(reg, m.transformCost)
	}
	// Every series exists from the moment the relay is configured, so that rules and
	// dashboards see zeros rather than nothing before the first session or error.
	for _, v := range []string{"true", "false"} {
		m.exitWithError.WithLabelValues(v)
	}
	for _, node := range []string{"master", "relay"} {
		m.binlogPos.WithLabelValues(node)
		m.binlogFile.WithLabelValues(node)
	}
	return m
}

func (m *metrics) setRelay(file string, pos uint32) {
	m.binlogPos.WithLabelValues("relay").Set(float64(pos))
	m.binlogFile.WithLabelValues("relay").Set(fileNumber(file))
}

func (m *metrics) setMaster(file string, pos uint32) {
	m.binlogPos.WithLabelValues("master").Set(float64(pos))
	m.binlogFile.WithLabelValues("master").Set(fileNumber(file))
}

// updateSpace sets the capacity and free bytes of the file system holding dir.
func (m *metrics) updateSpace(dir string) {
	capacity, avail, err := diskSpace(dir)
	if err != nil {
		return
	}
	m.space.WithLabelValues("capacity").Set(float64(capacity))
	m.space.WithLabelValues("available").Set(float64(avail))
}

func diskSpace(dir string) (capacity, available uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return st.Blocks * uint64(st.Bsize), st.Bavail * uint64(st.Bsize), nil
}
