package integration

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// chaosRound is what one round measured.
type chaosRound struct {
	kind     string
	what     string
	recovery time.Duration
	cmp      chaosCompare
	// acked is how many API writes were answered 2xx during the round.
	acked int
	err   error
}

// chaosReport prints one line per fault kind: rounds, recovery time (min/median/max: from the
// fault healed until every subtask of the main task is Running in Sync past what the sources
// had written then; the faults that wait for something themselves, such as a task of their own
// loading, count that wait in the fault, not here), rows compared, lost and duplicated, API
// writes answered 2xx (summed over its rounds), and rounds that failed.
func chaosReport(rounds []chaosRound) string {
	byKind := map[string][]chaosRound{}
	var kinds []string
	for _, r := range rounds {
		if _, ok := byKind[r.kind]; !ok {
			kinds = append(kinds, r.kind)
		}
		byKind[r.kind] = append(byKind[r.kind], r)
	}
	slices.Sort(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "%-30s %6s %8s %8s %8s %10s %6s %6s %7s %6s\n", "fault", "rounds", "rec.min", "rec.med", "rec.max", "rows", "lost", "dup", "api.2xx", "failed")
	for _, k := range kinds {
		rs := byKind[k]
		var recs []time.Duration
		var rows, lost, dup int64
		failed, acked := 0, 0
		for _, r := range rs {
			recs = append(recs, r.recovery)
			rows += r.cmp.rows
			lost += r.cmp.lost
			dup += r.cmp.duplicated
			acked += r.acked
			if r.err != nil || len(r.cmp.diffs) > 0 {
				failed++
			}
		}
		slices.Sort(recs)
		fmt.Fprintf(&b, "%-30s %6d %8s %8s %8s %10d %6d %6d %7d %6d\n", k, len(rs),
			secs(recs[0]), secs(recs[len(recs)/2]), secs(recs[len(recs)-1]), rows, lost, dup, acked, failed)
	}
	return b.String()
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
