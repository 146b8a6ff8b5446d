package tracker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dm-oss/dm/binlog/schema"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/go-sql-driver/mysql"
)

// ShowCreateTable reads `SHOW CREATE TABLE` of schemaName.table through db. The error wraps
// schema.ErrTableNotFound when there is no such table (or it is a view).
func ShowCreateTable(ctx context.Context, db *sql.DB, schemaName, table string) (string, error) {
	rows, err := db.QueryContext(ctx, "SHOW CREATE TABLE "+upstream.QuoteName(schemaName)+"."+upstream.QuoteName(table))
	if err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1146 || me.Number == 1049) {
			return "", fmt.Errorf("`%s`.`%s`: %w", schemaName, table, schema.ErrTableNotFound)
		}
		return "", fmt.Errorf("show create table `%s`.`%s`: %w", schemaName, table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	if len(cols) != 2 {
		return "", fmt.Errorf("`%s`.`%s` is a view: %w", schemaName, table, schema.ErrTableNotFound)
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", err
		}
		return "", fmt.Errorf("`%s`.`%s`: %w", schemaName, table, schema.ErrTableNotFound)
	}
	var name, text string
	if err := rows.Scan(&name, &text); err != nil {
		return "", err
	}
	return text, rows.Err()
}

// Source adapts the tracker to schema.Source. A table the tracker does not know is read from
// fallback (SHOW CREATE TABLE) and tracked from then on; when that text cannot be tracked the
// definition is read from information_schema instead (uncached, not tracked). fallback may
// be nil: unknown tables are then not found. Invalidate forgets tables in the tracker.
func (t *Tracker) Source(fallback *sql.DB) schema.Source { return &source{t: t, db: fallback} }

type source struct {
	t  *Tracker
	db *sql.DB
}

func (s *source) Table(ctx context.Context, schemaName, table string) (*schema.Table, error) {
	if tb, ok := s.t.Table(schemaName, table); ok {
		return tb, nil
	}
	if s.db == nil {
		return nil, fmt.Errorf("`%s`.`%s`: %w", schemaName, table, schema.ErrTableNotFound)
	}
	text, err := ShowCreateTable(ctx, s.db, schemaName, table)
	if err != nil {
		return nil, err
	}
	if err := s.t.CreateTable(schemaName, table, text); err != nil {
		s.t.log.Warn("schema tracker cannot track the upstream's CREATE TABLE; using information_schema, untracked",
			"table", TableRef{schemaName, table}.String(), "err", err)
		return schema.Load(ctx, s.db, schemaName, table)
	}
	s.t.log.Info("schema tracker read a table from the upstream", "table", TableRef{schemaName, table}.String())
	if tb, ok := s.t.Table(schemaName, table); ok {
		return tb, nil
	}
	return nil, fmt.Errorf("`%s`.`%s`: %w", schemaName, table, schema.ErrTableNotFound)
}

func (s *source) Invalidate(schemaName, table string) { s.t.invalidate(schemaName, table) }
