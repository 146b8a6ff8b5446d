package syncer

import (
	"github.com/dm-oss/dm/binlog"
)

// compareFile orders binlog file names by base name, then numeric suffix.
func compareFile(a, b string) int { return binlog.CompareFileNames(a, b) }

// fileIndex is the numeric suffix of a binlog file name, as DM's binlog_file gauge shows it.
func fileIndex(name string) float64 { return float64(binlog.FileIndex(name)) }

// compareLoc orders locations by file and position. The GTID set is not compared: within one
// upstream the position decides.
func compareLoc(a, b binlog.Location) int {
	if c := compareFile(a.File, b.File); c != 0 {
		return c
	}
	switch {
	case a.Pos < b.Pos:
		return -1
	case a.Pos > b.Pos:
		return 1
	}
	return 0
}

func maxLoc(a, b binlog.Location) binlog.Location {
	if compareLoc(a, b) >= 0 {
		return a
	}
	return b
}

// progress is how far one replay worker got: every row change it owns of the source
// transactions that start before Loc is committed in the target, and so are the first Rows of
// the ones it owns of the transaction starting at Loc.
type progress struct {
	Loc  binlog.Location
	Rows uint64
}

// covers reports whether the progress includes the idx-th (0-based) row change this worker
// owns in the transaction starting at txnStart.
func (p progress) covers(txnStart binlog.Location, idx uint64) bool {
	c := compareLoc(txnStart, p.Loc)
	return c < 0 || (c == 0 && idx < p.Rows)
}

func (p progress) less(o progress) bool {
	c := compareLoc(p.Loc, o.Loc)
	return c < 0 || (c == 0 && p.Rows < o.Rows)
}
