package main

import (
	"fmt"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dm-oss/dm/restapi"
)

// barWidth is the number of cells of a progress bar.
const barWidth = 20

// subtaskKey names a subtask in rates.
func subtaskKey(st restapi.SubTaskStatus) string { return st.Name + "/" + st.SourceName }

// statusTable is the human view of query-status: one line per subtask with its stage and
// unit, a progress bar with rows, bytes and ETA for dump and load, the lag of sync, and the
// error with its hint. loadRates holds the load speed (bytes/s) of subtasks measured between
// two snapshots (--watch); without one, a load has no ETA.
func statusTable(tw *tabwriter.Writer, subtasks []restapi.SubTaskStatus, loadRates map[string]float64) {
	row(tw, "TASK", "SOURCE", "WORKER", "STAGE", "UNIT", "PROGRESS", "LAG", "ERROR")
	for _, st := range subtasks {
		errCell := "-"
		if st.ErrorMsg != nil {
			errCell = *st.ErrorMsg
			if h := hintOf(st); h != "" {
				errCell += " (hint: " + h + ")"
			}
		}
		row(tw, st.Name, st.SourceName, dash(st.WorkerName), st.Stage, st.Unit,
			progressCell(st, loadRates[subtaskKey(st)]), lagCell(st), errCell)
	}
}

// progressCell describes the current unit's progress.
func progressCell(st restapi.SubTaskStatus, loadRate float64) string {
	switch {
	case st.Unit == unitDump && st.DumpStatus != nil:
		return dumpProgress(*st.DumpStatus)
	case st.Unit == unitLoad && st.LoadStatus != nil:
		return loadProgress(*st.LoadStatus, loadRate)
	case st.Unit == unitSync && st.SyncStatus != nil:
		return syncProgress(st)
	default:
		return "-"
	}
}

// dumpProgress: the share of the upstream's row estimate dumped, and the ETA at the current
// speed (bytes/s) for the bytes the estimate leaves.
func dumpProgress(d restapi.DumpStatus) string {
	share := ratio(d.FinishedRows, d.EstimateTotalRows)
	s := fmt.Sprintf("%s %5.1f%%  %s/%s rows  %s", bar(share), share*100, count(d.FinishedRows), count(d.EstimateTotalRows), bytesOf(d.FinishedBytes))
	if d.FinishedRows > 0 && d.EstimateTotalRows > d.FinishedRows && d.Bps > 0 {
		left := d.FinishedBytes*d.EstimateTotalRows/d.FinishedRows - d.FinishedBytes
		s += "  ETA " + eta(left/float64(d.Bps))
	}
	return s
}

// loadProgress: the share of the dump's bytes loaded, and the ETA at rate (bytes/s, 0 when
// unknown).
func loadProgress(l restapi.LoadStatus, rate float64) string {
	share := ratio(float64(l.FinishedBytes), float64(l.TotalBytes))
	s := fmt.Sprintf("%s %5.1f%%  %s/%s", bar(share), share*100, bytesOf(float64(l.FinishedBytes)), bytesOf(float64(l.TotalBytes)))
	if rate > 0 && l.TotalBytes > l.FinishedBytes {
		s += "  ETA " + eta(float64(l.TotalBytes-l.FinishedBytes)/rate)
	}
	return s
}

func syncProgress(st restapi.SubTaskStatus) string {
	ss := st.SyncStatus
	state := "catching up"
	switch {
	case st.UnresolvedDdlLockId != nil && *st.UnresolvedDdlLockId != "":
		state = "waiting on shard-DDL lock " + *st.UnresolvedDdlLockId
	case ss.Synced:
		state = "synced"
	}
	return fmt.Sprintf("%s, %s events, %d/s", state, count(float64(ss.TotalEvents)), ss.RecentTps)
}

func lagCell(st restapi.SubTaskStatus) string {
	if st.Unit != unitSync || st.SyncStatus == nil {
		return "-"
	}
	return (time.Duration(st.SyncStatus.SecondsBehindMaster) * time.Second).String()
}

// ratio is done/total in [0, 1] (0 for an unknown total).
func ratio(done, total float64) float64 {
	if total <= 0 || done <= 0 {
		return 0
	}
	return math.Min(done/total, 1)
}

// bar draws share (0..1) as [#####.....].
func bar(share float64) string {
	full := int(math.Round(share * barWidth))
	return "[" + strings.Repeat("#", full) + strings.Repeat(".", barWidth-full) + "]"
}

// bytesOf is a byte count in binary units (KiB, MiB, ...).
func bytesOf(n float64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%.0f B", n)
	}
	exp := 0
	for n >= unit*unit && exp < 4 {
		n /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", n/unit, "KMGTP"[exp])
}

// count is a row or event count, in thousands or millions when large.
func count(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", n/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", n/1e3)
	default:
		return fmt.Sprintf("%.0f", n)
	}
}

// eta is a number of seconds as a duration rounded to the second.
func eta(seconds float64) string {
	if math.IsInf(seconds, 0) || math.IsNaN(seconds) || seconds > 1e9 {
		return "?"
	}
	return (time.Duration(math.Ceil(seconds)) * time.Second).String()
}

// loadRatesOf measures the load speed of each subtask loading in both snapshots, taken dt
// apart.
func loadRatesOf(prev, cur []restapi.SubTaskStatus, dt time.Duration) map[string]float64 {
	out := map[string]float64{}
	if dt <= 0 {
		return out
	}
	before := map[string]int64{}
	for _, st := range prev {
		if st.Unit == unitLoad && st.LoadStatus != nil {
			before[subtaskKey(st)] = st.LoadStatus.FinishedBytes
		}
	}
	for _, st := range cur {
		if st.Unit != unitLoad || st.LoadStatus == nil {
			continue
		}
		if b, ok := before[subtaskKey(st)]; ok && st.LoadStatus.FinishedBytes > b {
			out[subtaskKey(st)] = float64(st.LoadStatus.FinishedBytes-b) / dt.Seconds()
		}
	}
	return out
}
