package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

// TestOnlineDDLWithPTOSCUnderWrites runs the real pt-online-schema-change twice on a
// replicated table while rows are inserted, updated and deleted (the second time with the
// tool's usual table name taken), and checks that the target table ends with the new
// columns and indexes, the same rows, and none of the tool's helper tables or triggers.
func TestOnlineDDLWithPTOSCUnderWrites(t *testing.T) {
	tool, err := exec.LookPath("pt-online-schema-change")
	require.NoError(t, err, "pt-online-schema-change (Debian's percona-toolkit) is missing: run `make deps`")
	e := newMigrationEnv(t, 1)
	const rows = 3000
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40))")
	e.src.Exec(t, fmt.Sprintf("INSERT INTO shop.t SELECT seq, seq, CONCAT('row ', seq) FROM shop.seq_1_to_%d", rows))
	e.createSource("mysql-01", e.src)
	resp := e.startTask(e.task("ptosc", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced("ptosc", 60*time.Second)

	alterUnderWrites := func(alter string) {
		t.Helper()
		churn := startRowChurn(t, e.srcDB, "shop.t")
		before := churn.ops.Load()
		runPTOSC(t, tool, e.src, "shop", "t", alter)
		during := churn.ops.Load() - before
		require.NoError(t, churn.stop())
		t.Logf("%d writes while pt-online-schema-change ran", during)
		// The copy runs in small chunks with a pause between them, so the writes land while
		// the tool's triggers mirror them into its new table.
		require.Greater(t, during, int64(20), "writes while pt-online-schema-change ran")
	}
	alterUnderWrites("ADD COLUMN c INT NOT NULL DEFAULT 7, ADD INDEX idx_v (v)")
	// A table left behind by an interrupted run holds the name _t_new: the tool calls its
	// new table __t_new instead.
	e.src.Exec(t, "CREATE TABLE shop._t_new LIKE shop.t")
	alterUnderWrites("MODIFY note VARCHAR(80), ADD INDEX idx_c_v (c, v)")
	e.src.Exec(t, "DROP TABLE shop._t_new")

	// Rows that use the new column, after the cut-over.
	e.src.Exec(t, "UPDATE shop.t SET c = id % 5 WHERE id % 4 = 0")
	e.src.Exec(t, "INSERT INTO shop.t (id, v, note, c) VALUES (1000000, 1, 'after', 42)")
	e.waitSynced("ptosc", 60*time.Second)

	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	srcShape, dstShape := tableShape(t, e.srcDB, "shop", "t"), tableShape(t, e.dstDB, "shop", "t")
	require.Equal(t, srcShape, dstShape, "columns and indexes of shop.t")
	require.Contains(t, dstShape, "column c int(11) NO 7")
	require.Contains(t, dstShape, "index idx_v v")
	require.Contains(t, dstShape, "column note varchar(80) YES NULL")
	require.Contains(t, dstShape, "index idx_c_v c,v")
	var leftovers int
	require.NoError(t, e.dstDB.QueryRow(`SELECT
		(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME <> 't') +
		(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'shop')`).Scan(&leftovers))
	require.Zero(t, leftovers, "no pt-osc helper table or trigger reaches the target")
}

// runPTOSC alters schema.table on db with pt-online-schema-change, in small chunks with a
// short sleep between them so that the copy overlaps concurrent writes. The password goes
// through a defaults file, never the command line.
func runPTOSC(t *testing.T, tool string, db *MariaDB, schema, table, alter string) {
	t.Helper()
	defaults := filepath.Join(t.TempDir(), "client.cnf")
	require.NoError(t, os.WriteFile(defaults, []byte("[client]\npassword="+db.Password()+"\n"), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool,
		"--alter", alter,
		"--execute",
		// The source has no replicas to find or wait for.
		"--recursion-method=none", "--no-check-replication-filters",
		"--chunk-size=200", "--chunk-time=0", "--sleep=0.05",
		"--print",
		fmt.Sprintf("F=%s,h=%s,P=%d,u=%s,D=%s,t=%s", defaults, db.Host(), db.Port(), db.User(), schema, table),
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("pt-online-schema-change took %s:\n%s", time.Since(start).Round(time.Millisecond), out)
	require.NoError(t, err, "pt-online-schema-change failed")
	require.Contains(t, string(out), "Successfully altered")
}

// rowChurn inserts (above the highest id), updates and deletes rows of one table (id INT
// PRIMARY KEY, v INT, note) until stopped.
type rowChurn struct {
	ops    atomic.Int64
	cancel context.CancelFunc
	done   chan error
}

func startRowChurn(t *testing.T, db *sql.DB, table string) *rowChurn {
	t.Helper()
	var maxID int
	require.NoError(t, db.QueryRow("SELECT IFNULL(MAX(id), 0) FROM "+table).Scan(&maxID))
	ctx, cancel := context.WithCancel(context.Background())
	c := &rowChurn{cancel: cancel, done: make(chan error, 1)}
	t.Cleanup(func() { _ = c.stop() })
	go func() { c.done <- c.run(ctx, db, table, maxID) }()
	return c
}

func (c *rowChurn) run(ctx context.Context, db *sql.DB, table string, maxID int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	next := maxID
	for ctx.Err() == nil {
		var q string
		var args []any
		switch op := rng.IntN(10); {
		case op < 4:
			next++
			q, args = "INSERT INTO "+table+" (id, v, note) VALUES (?, ?, ?)", []any{next, rng.IntN(1000), fmt.Sprintf("new %d", next)}
		case op < 8:
			q, args = "UPDATE "+table+" SET v = v + 1, note = 'updated' WHERE id = ?", []any{1 + rng.IntN(next)}
		default:
			q, args = "DELETE FROM "+table+" WHERE id = ?", []any{1 + rng.IntN(next)}
		}
		if err := execRetryingDeadlocks(ctx, db, q, args...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s %v: %w", q, args, err)
		}
		c.ops.Add(1)
	}
	return nil
}

// execRetryingDeadlocks runs one statement, again after a deadlock or a lock wait timeout:
// the tool's chunk copy locks rows that the writes (and the tool's triggers) touch, and
// InnoDB may pick the write as the victim.
func execRetryingDeadlocks(ctx context.Context, db *sql.DB, q string, args ...any) error {
	for {
		_, err := db.ExecContext(ctx, q, args...)
		var me *mysql.MySQLError
		if err == nil || !errors.As(err, &me) || (me.Number != 1213 && me.Number != 1205) {
			return err
		}
	}
}

// stop ends the writes and returns the first error they met (once; later calls return nil).
func (c *rowChurn) stop() error {
	c.cancel()
	err, ok := <-c.done
	if ok {
		close(c.done)
	}
	return err
}

// tableShape lists a table's columns (name, type, nullability, default) and indexes (name,
// columns in order), one per line, from information_schema.
func tableShape(t *testing.T, db *sql.DB, schema, table string) string {
	t.Helper()
	var lines []string
	collect := func(q string) {
		rows, err := db.Query(q, schema, table)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			lines = append(lines, line)
		}
		require.NoError(t, rows.Err())
	}
	collect(`SELECT CONCAT_WS(' ', 'column', COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLUMN_DEFAULT, 'NULL'))
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`)
	collect(`SELECT CONCAT_WS(' ', 'index', INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX))
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? GROUP BY INDEX_NAME ORDER BY INDEX_NAME`)
	return strings.Join(lines, "\n")
}
