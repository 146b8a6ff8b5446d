package syncer

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writer runs random transactions on the source until stopped.
type writer struct {
	stop  atomic.Bool
	wg    sync.WaitGroup
	count atomic.Int64
	errs  chan error
}

func startWriter(t *testing.T, db *sql.DB, goroutines int) *writer {
	w := &writer{errs: make(chan error, goroutines)}
	for g := 0; g < goroutines; g++ {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			conn, err := db.Conn(context.Background())
			if err != nil {
				w.errs <- err
				return
			}
			defer conn.Close()
			for !w.stop.Load() {
				stmts := randomTxn(rng, g)
				for _, q := range stmts {
					if _, err := conn.ExecContext(context.Background(), q); err != nil {
						// Conflicts between the writers (deadlock, duplicate) just roll back.
						conn.ExecContext(context.Background(), "ROLLBACK")
						break
					}
				}
				w.count.Add(1)
			}
		}()
	}
	return w
}

// createWriterTables creates the tables startWriter writes: keyed, keyless, and with a unique key.
func createWriterTables(t *testing.T, e *env) {
	t.Helper()
	execAll(t, e.srcDB,
		"CREATE DATABASE cr",
		"CREATE TABLE cr.pk (id INT PRIMARY KEY, v INT, s VARCHAR(20))",
		"CREATE TABLE cr.nopk (a INT, b VARCHAR(20))",
		"CREATE TABLE cr.uk (id INT PRIMARY KEY, u INT NOT NULL, UNIQUE KEY (u))",
	)
}

func (w *writer) finish(t *testing.T) int64 {
	w.stop.Store(true)
	w.wg.Wait()
	select {
	case err := <-w.errs:
		t.Fatal(err)
	default:
	}
	return w.count.Load()
}

func randomTxn(rng *rand.Rand, g int) []string {
	id := rng.IntN(400) + 1
	a := rng.IntN(30)
	var body []string
	n := 1 + rng.IntN(4)
	for i := 0; i < n; i++ {
		switch rng.IntN(12) {
		case 0, 1:
			body = append(body, fmt.Sprintf("INSERT INTO cr.pk VALUES (%d, %d, 'g%d') ON DUPLICATE KEY UPDATE v = v + 1", id, rng.IntN(1000), g))
		case 2:
			body = append(body, fmt.Sprintf("UPDATE cr.pk SET v = v + 1, s = 'u%d' WHERE id BETWEEN %d AND %d", g, id, id+5))
		case 3:
			body = append(body, fmt.Sprintf("DELETE FROM cr.pk WHERE id = %d", id))
		case 4:
			body = append(body, fmt.Sprintf("UPDATE cr.pk SET id = id + 1000 WHERE id = %d", id),
				fmt.Sprintf("UPDATE cr.pk SET id = id - 1000 WHERE id = %d", id+1000))
		case 5, 6:
			body = append(body, fmt.Sprintf("INSERT INTO cr.nopk VALUES (%d, 'b%d'), (%d, NULL)", a, rng.IntN(5), a))
		case 7:
			body = append(body, fmt.Sprintf("UPDATE cr.nopk SET b = 'x%d' WHERE a = %d LIMIT 1", rng.IntN(5), a))
		case 8:
			body = append(body, fmt.Sprintf("DELETE FROM cr.nopk WHERE a = %d LIMIT 1", a))
		case 9:
			body = append(body, fmt.Sprintf("INSERT INTO cr.uk VALUES (%d, %d) ON DUPLICATE KEY UPDATE u = u", id, id))
		case 10:
			// move a unique value to another row through a free value
			body = append(body, fmt.Sprintf("UPDATE cr.uk SET u = u + 100000 WHERE id = %d", id),
				fmt.Sprintf("UPDATE cr.uk SET u = %d WHERE id = %d", id, id+1),
				fmt.Sprintf("UPDATE cr.uk SET u = %d WHERE id = %d", id+1, id))
		case 11:
			body = append(body, fmt.Sprintf("DELETE FROM cr.uk WHERE id = %d", id))
		}
	}
	if len(body) == 1 && rng.IntN(2) == 0 {
		return body // autocommit
	}
	return append(append([]string{"BEGIN"}, body...), "COMMIT")
}

// killTarget kills every other client connection on the target (the sync unit's workers and
// control connection among them).
func killTarget(t *testing.T, db *sql.DB) int {
	rows, err := db.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER = 'root' AND COMMAND <> 'Daemon'")
	require.NoError(t, err)
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	killed := 0
	for _, id := range ids {
		if _, err := db.Exec(fmt.Sprintf("KILL %d", id)); err == nil {
			killed++
		}
	}
	return killed
}

// TestCrashRestartExact: the sync unit is stopped at random moments (abruptly, as in a crash,
// or gracefully) and its target connections are killed, while writers change a keyed, a
// keyless and a unique-keyed table; restarted from ResumeLocation each time, it converges to
// the same data, without duplicates in the keyless table.
func TestCrashRestartExact(t *testing.T) {
	e := newEnv(t)
	createWriterTables(t, e)
	cfg := e.config(t, 8, 16)
	w := startWriter(t, e.srcDB, 3)
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	deadline := time.Now().Add(15 * time.Second)
	rounds, kills, abrupt := 0, 0, 0
	for time.Now().Before(deadline) {
		s := mustNew(t, cfg)
		// No safe mode: a replayed INSERT would fail on the keyed tables, a replayed row
		// would show in the keyless one's checksum.
		s.noAutoSafe = true
		s.abrupt = rng.IntN(3) != 0
		if s.abrupt {
			abrupt++
		}
		r := e.resume(t, s)
		// Pick a random moment to interfere (chaos timing, not synchronisation).
		time.Sleep(time.Duration(50+rng.IntN(500)) * time.Millisecond)
		if rng.IntN(2) == 0 {
			kills += killTarget(t, e.tgtDB)
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		}
		require.NoError(t, r.stop(), "round %d", rounds)
		rounds++
	}
	txns := w.finish(t)
	t.Logf("%d rounds (%d abrupt), %d connections killed, %d source transactions", rounds, abrupt, kills, txns)

	s := mustNew(t, cfg)
	r := e.resume(t, s)
	e.waitSynced(t, s, r, 60*time.Second)
	e.sameData(t, "cr.pk", "cr.nopk", "cr.uk")
	require.NoError(t, r.stop())
}

// TestWorkerCountChange: after an unclean stop, a restart with another worker count replays
// from the lowest complete point in safe mode and converges (keyed tables).
func TestWorkerCountChange(t *testing.T) {
	e := newEnv(t)
	createWriterTables(t, e)
	w := startWriter(t, e.srcDB, 2)
	for i, workers := range []int{4, 7, 2} {
		cfg := e.config(t, workers, 8)
		s := mustNew(t, cfg)
		s.abrupt = true
		r := e.resume(t, s)
		time.Sleep(time.Duration(300+200*i) * time.Millisecond)
		require.NoError(t, r.stop())
	}
	w.finish(t)
	s := mustNew(t, e.config(t, 5, 8))
	r := e.resume(t, s)
	e.waitSynced(t, s, r, 60*time.Second)
	e.sameData(t, "cr.pk", "cr.uk")
	require.NoError(t, r.stop())
}
