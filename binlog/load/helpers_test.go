package load_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/integration"
)

// pair is a source with binlog and a plain target.
type pair struct {
	src, tgt     *integration.MariaDB
	srcDB, tgtDB *sql.DB
}

func startPair(t *testing.T) pair {
	t.Helper()
	var p pair
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.tgt = integration.StartMariaDB(t, integration.MariaDBOptions{})
	}()
	p.src = integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	<-done
	if p.tgt == nil {
		t.FailNow()
	}
	p.srcDB, p.tgtDB = p.src.DB(t), p.tgt.DB(t)
	return p
}

func cfgOf(m *integration.MariaDB) upstream.Config {
	return upstream.Config{Host: m.Host(), Port: m.Port(), User: m.User(), Password: m.Password()}
}

// targetDB opens m as a loader's target, closed when the test ends.
func targetDB(t testing.TB, m *integration.MariaDB) *sql.DB {
	t.Helper()
	db, err := upstream.Open(context.Background(), cfgOf(m))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("DM_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// mustRules builds rules from "schemaPattern|tablePattern[=>targetSchema|targetTable]" specs.
func mustRules(t testing.TB, specs ...string) *rules.Rules {
	t.Helper()
	var mr []rules.MigrateRule
	for _, s := range specs {
		from, to, _ := strings.Cut(s, "=>")
		var r rules.MigrateRule
		r.SchemaPattern, r.TablePattern, _ = strings.Cut(from, "|")
		if to != "" {
			r.TargetSchema, r.TargetTable, _ = strings.Cut(to, "|")
		}
		mr = append(mr, r)
	}
	r, err := rules.New(mr, nil, false)
	require.NoError(t, err)
	return r
}

func runDump(t *testing.T, p pair, cfg dump.Config) (dump.Metadata, string) {
	t.Helper()
	cfg.Upstream = cfgOf(p.src)
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	meta, err := dump.Run(ctx, cfg)
	require.NoError(t, err)
	require.True(t, meta.Finished)
	return meta, cfg.Dir
}

func newLoader(t *testing.T, p pair, cfg load.Config) *load.Loader {
	t.Helper()
	cfg.Target = targetDB(t, p.tgt)
	if cfg.Task == "" {
		cfg.Task = "task"
	}
	if cfg.Source == "" {
		cfg.Source = "src"
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	l, err := load.New(cfg)
	require.NoError(t, err)
	return l
}

func runLoad(t *testing.T, p pair, cfg load.Config) {
	t.Helper()
	l := newLoader(t, p, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, l.Run(ctx))
	pr := l.Progress()
	require.Equal(t, pr.TotalBytes, pr.FinishedBytes)
}

// rowsOf renders a table's rows sorted, for exact comparisons in messages.
func rowsOf(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	require.NoError(t, err, q)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(dest...))
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v.Valid {
				parts[i] = fmt.Sprintf("%q", v.String)
			} else {
				parts[i] = "NULL"
			}
		}
		out = append(out, strings.Join(parts, ","))
	}
	require.NoError(t, rows.Err())
	sort.Strings(out)
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
