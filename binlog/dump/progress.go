package dump

import (
	"sync"
	"sync/atomic"
	"time"
)

// Counters follow a running dump. Run updates them (Config.Counters); Progress may be called
// at any time from any goroutine. The zero value is ready to use.
type Counters struct {
	totalTables     atomic.Int64
	completedTables atomic.Int64
	finishedBytes   atomic.Int64
	finishedRows    atomic.Int64
	estimateRows    atomic.Int64

	// rate is the last bytes-per-second sample, taken by Progress.
	rate struct {
		sync.Mutex
		at    time.Time
		bytes int64
		bps   int64
	}
}

// Progress is a snapshot of a dump's counters.
type Progress struct {
	TotalTables     int64
	CompletedTables int64
	FinishedBytes   int64
	FinishedRows    int64
	// EstimateTotalRows is the upstream's estimate (information_schema.TABLES) of the rows of
	// the dumped tables.
	EstimateTotalRows int64
	// BPS is the bytes written per second since the previous call (since the dump started
	// for the first).
	BPS int64
}

// Percent is the share of the estimated rows dumped: 100 once every table is done, and below
// 100 until then whatever the estimate says (it may be low or high).
func (p Progress) Percent() float64 {
	switch {
	case p.TotalTables > 0 && p.CompletedTables == p.TotalTables:
		return 100
	case p.EstimateTotalRows <= 0:
		return 0
	}
	return min(99.99, float64(p.FinishedRows)*100/float64(p.EstimateTotalRows))
}

// Progress reads the counters.
func (c *Counters) Progress() Progress {
	p := Progress{
		TotalTables: c.totalTables.Load(), CompletedTables: c.completedTables.Load(),
		FinishedBytes: c.finishedBytes.Load(), FinishedRows: c.finishedRows.Load(),
		EstimateTotalRows: c.estimateRows.Load(),
	}
	c.rate.Lock()
	defer c.rate.Unlock()
	now := time.Now()
	if c.rate.at.IsZero() {
		c.rate.at = now
	}
	// Samples closer than a second apart keep the previous rate: two status calls in a row
	// would otherwise report a rate from a few bytes over a few microseconds.
	if d := now.Sub(c.rate.at); d >= time.Second {
		c.rate.bps = int64(float64(p.FinishedBytes-c.rate.bytes) / d.Seconds())
		c.rate.at, c.rate.bytes = now, p.FinishedBytes
	}
	p.BPS = c.rate.bps
	return p
}

// start resets the counters for a (new) attempt that dumps tables.
func (c *Counters) start(tables []*tableState) {
	var est int64
	for _, t := range tables {
		est += t.estRows
	}
	c.totalTables.Store(int64(len(tables)))
	c.completedTables.Store(0)
	c.finishedBytes.Store(0)
	c.finishedRows.Store(0)
	c.estimateRows.Store(est)
	c.rate.Lock()
	c.rate.at, c.rate.bytes, c.rate.bps = time.Now(), 0, 0
	c.rate.Unlock()
}

func (c *Counters) written(rows, bytes int64) {
	c.finishedRows.Add(rows)
	c.finishedBytes.Add(bytes)
}

func (c *Counters) tableDone() { c.completedTables.Add(1) }
