package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// chaosTraffic writes to every source until paused or stopped: INSERT/UPDATE/DELETE on the
// keyed tables, the keyless table and the unique-nullable-key table, and now and then a DDL
// (ADD COLUMN on a keyed table). Statements that fail (the upstream is restarting) are
// dropped: the upstream is the truth the target is compared with, so a failed write matters
// to nobody.
type chaosTraffic struct {
	env     *chaosEnv
	seed    uint64
	ddlGap  time.Duration
	running sync.WaitGroup
	cancel  context.CancelFunc

	statements atomic.Int64
	failed     atomic.Int64
	ddls       atomic.Int64
	columns    atomic.Int64
	starts     uint64
	// paused counts the pauses not resumed yet; only the test's goroutine pauses and resumes.
	paused int
}

func newChaosTraffic(e *chaosEnv, seed uint64) *chaosTraffic {
	return &chaosTraffic{env: e, seed: seed, ddlGap: 10 * time.Second, paused: 1}
}

// resume undoes one pause, and launches one writer per source once none is left (the
// traffic starts paused once).
func (tr *chaosTraffic) resume() {
	if tr.paused--; tr.paused > 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr.cancel = cancel
	tr.starts++
	for i, s := range tr.env.sources {
		rng := rand.New(rand.NewPCG(tr.seed, tr.starts<<8+uint64(i)))
		tr.running.Add(1)
		go func() {
			defer tr.running.Done()
			tr.write(ctx, s, rng)
		}()
	}
}

// pause stops the writers and waits for them; pauses nest (a fault that pauses the traffic may
// run inside another).
func (tr *chaosTraffic) pause() {
	if tr.paused++; tr.paused == 1 {
		tr.cancel()
		tr.running.Wait()
	}
}

func (tr *chaosTraffic) write(ctx context.Context, s *chaosSource, rng *rand.Rand) {
	lastDDL := time.Now()
	for ctx.Err() == nil {
		q, args := chaosStatement(s.schema, rng)
		if time.Since(lastDDL) > tr.ddlGap {
			lastDDL = time.Now()
			n := tr.columns.Add(1)
			q, args = fmt.Sprintf("ALTER TABLE %s.sbtest%d ADD COLUMN IF NOT EXISTS extra%d INT NULL DEFAULT %d", s.schema, 1+n%2, n, n), nil
			tr.ddls.Add(1)
		}
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := s.pool.ExecContext(qctx, q, args...)
		cancel()
		tr.statements.Add(1)
		if err != nil {
			tr.failed.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		// About 100 statements a second per source: enough to keep every unit busy without
		// starving the two cores the suite shares with the processes it tests.
		time.Sleep(time.Duration(5+rng.IntN(10)) * time.Millisecond)
	}
}

// chaosStatement picks one write.
func chaosStatement(sc string, rng *rand.Rand) (string, []any) {
	tbl := fmt.Sprintf("%s.sbtest%d", sc, 1+rng.IntN(2))
	id := 1 + rng.IntN(chaosSeedRows*2)
	switch p := rng.IntN(100); {
	case p < 20:
		return "INSERT INTO " + tbl + " (k, c, pad) VALUES (?, ?, ?)", []any{rng.IntN(1000), fmt.Sprintf("c-%d", rng.Int64()), "ins"}
	case p < 40:
		return "UPDATE " + tbl + " SET k = k + 1, c = ? WHERE id = ?", []any{fmt.Sprintf("u-%d", rng.Int64()), id}
	case p < 50:
		return "DELETE FROM " + tbl + " WHERE id = ?", []any{id}
	case p < 55:
		// Two statements in one round trip.
		return "INSERT INTO " + tbl + " (k, c, pad) VALUES (?, 'multi', 'x'), (?, 'multi', 'y'); UPDATE " + sc + ".nokey SET b = 'tx' WHERE a = ? LIMIT 1", []any{rng.IntN(1000), rng.IntN(1000), rng.IntN(50)}
	case p < 68:
		return "INSERT INTO " + sc + ".nokey VALUES (?, ?)", []any{rng.IntN(50), fmt.Sprintf("n%d", rng.IntN(5))}
	case p < 75:
		return "UPDATE " + sc + ".nokey SET b = ? WHERE a = ? LIMIT 1", []any{fmt.Sprintf("n%d", rng.IntN(5)), rng.IntN(50)}
	case p < 80:
		return "DELETE FROM " + sc + ".nokey WHERE a = ? LIMIT 1", []any{rng.IntN(50)}
	case p < 88:
		var u any = rng.IntN(1000)
		if rng.IntN(5) == 0 {
			u = nil
		}
		return "INSERT IGNORE INTO " + sc + ".unk VALUES (?, ?, 'ins')", []any{u, rng.IntN(1000)}
	case p < 95:
		return "UPDATE " + sc + ".unk SET v = v + 1, note = 'upd' WHERE u = ?", []any{rng.IntN(1000)}
	default:
		return "DELETE FROM " + sc + ".unk WHERE u = ?", []any{rng.IntN(1000)}
	}
}
