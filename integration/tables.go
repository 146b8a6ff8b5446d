package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// Queryer is what the table helpers read through: *sql.DB, *sql.Conn and *sql.Tx all are
// one (a *sql.Conn or *sql.Tx counts inside its own snapshot).
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// The table helpers have one behaviour: a table that does not exist is never a value. The
// error-returning forms (Count, Checksum, CompareTable, CompareSchema) report it as an
// error, the testing forms fail the test. In particular CHECKSUM TABLE answers NULL for a
// missing table instead of an error, and two missing tables would otherwise compare equal.

// Count returns SELECT COUNT(*) FROM from; from names a table, possibly followed by a WHERE
// clause ("shop.t WHERE id > 10"). A missing table is an error.
func Count(ctx context.Context, db Queryer, from string) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+from).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", from, err)
	}
	return n, nil
}

// Checksum returns CHECKSUM TABLE table. A missing table is an error.
func Checksum(ctx context.Context, db Queryer, table string) (int64, error) {
	var name string
	var sum sql.NullInt64
	if err := db.QueryRowContext(ctx, "CHECKSUM TABLE "+table).Scan(&name, &sum); err != nil {
		return 0, fmt.Errorf("CHECKSUM TABLE %s: %w", table, err)
	}
	if !sum.Valid {
		return 0, fmt.Errorf("CHECKSUM TABLE %s: no such table", table)
	}
	return sum.Int64, nil
}

// TableCount is Count for a test: an error (a missing table included) fails it.
func TableCount(t testing.TB, db Queryer, from string) int64 {
	t.Helper()
	n, err := Count(t.Context(), db, from)
	if err != nil {
		t.Fatalf("integration: %v", err)
	}
	return n
}

// TableChecksum is Checksum for a test: an error (a missing table included) fails it.
func TableChecksum(t testing.TB, db Queryer, table string) int64 {
	t.Helper()
	sum, err := Checksum(t.Context(), db, table)
	if err != nil {
		t.Fatalf("integration: %v", err)
	}
	return sum
}

// CompareTable returns nil when srcTable on src and dstTable on dst hold the same rows (equal
// row counts and CHECKSUM TABLE), and otherwise an error saying what differs or is missing.
func CompareTable(ctx context.Context, src Queryer, srcTable string, dst Queryer, dstTable string) error {
	name := srcTable
	if dstTable != srcTable {
		name = srcTable + " => " + dstTable
	}
	n1, err := Count(ctx, src, srcTable)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	n2, err := Count(ctx, dst, dstTable)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if n1 != n2 {
		return fmt.Errorf("rows of %s: %d on the source, %d on the target", name, n1, n2)
	}
	s1, err := Checksum(ctx, src, srcTable)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	s2, err := Checksum(ctx, dst, dstTable)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if s1 != s2 {
		return fmt.Errorf("checksum of %s: %d on the source, %d on the target", name, s1, s2)
	}
	return nil
}

// RequireSameTable fails the test unless CompareTable finds the two tables the same.
func RequireSameTable(t testing.TB, src Queryer, srcTable string, dst Queryer, dstTable string) {
	t.Helper()
	if err := CompareTable(t.Context(), src, srcTable, dst, dstTable); err != nil {
		t.Fatalf("integration: %v", err)
	}
}

// CompareSchema returns nil when schema has at least one base table on src and each of them
// exists on dst under the same name with the same rows (CompareTable); otherwise an error
// naming every table that differs. Tables only dst has are not looked at.
func CompareSchema(ctx context.Context, src, dst Queryer, schema string) error {
	tables, err := baseTables(ctx, src, schema)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return fmt.Errorf("schema %s has no tables on the source", schema)
	}
	var diffs []error
	for _, tb := range tables {
		q := quoteName(schema) + "." + quoteName(tb)
		if err := CompareTable(ctx, src, q, dst, q); err != nil {
			diffs = append(diffs, err)
		}
	}
	return errors.Join(diffs...)
}

// RequireSameTables fails the test unless CompareSchema finds every table of schema the same
// on src and dst.
func RequireSameTables(t testing.TB, src, dst Queryer, schema string) {
	t.Helper()
	if err := CompareSchema(t.Context(), src, dst, schema); err != nil {
		t.Fatalf("integration: tables of %s differ:\n%v", schema, err)
	}
}

// EventuallySame polls (Eventually) until CompareSchema finds every table of schema the same
// on src and dst, as when replication catches up.
func EventuallySame(t testing.TB, src, dst Queryer, schema string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error { return CompareSchema(t.Context(), src, dst, schema) })
}

// baseTables lists the base tables (not views) of schema, sorted.
func baseTables(ctx context.Context, db Queryer, schema string) ([]string, error) {
	tables, err := queryColumn[string](ctx, db, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", schema)
	if err != nil {
		return nil, fmt.Errorf("list the tables of %s: %w", schema, err)
	}
	sort.Strings(tables)
	return tables, nil
}

// queryColumn runs a query answering one column and returns its values.
func queryColumn[T any](ctx context.Context, db Queryer, query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// quoteName quotes an identifier with backticks.
func quoteName(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
