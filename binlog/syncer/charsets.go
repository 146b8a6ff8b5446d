package syncer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/tracker"
)

// upstreamCharsets answers the DDL layer's questions about what the upstream resolved when a
// statement left a character set or collation to defaults (collation_compatible: strict):
// the schema tracker first, since it describes the tables at the position being replayed,
// then the live upstream's information_schema.
type upstreamCharsets struct {
	tr       *tracker.Tracker // nil without a tracker
	db       *sql.DB          // nil without an upstream connection
	defaults map[string]string
}

var _ ddl.Charsets = (*upstreamCharsets)(nil)

func newUpstreamCharsets(tr *tracker.Tracker, db *sql.DB) *upstreamCharsets {
	return &upstreamCharsets{tr: tr, db: db, defaults: map[string]string{}}
}

func (c *upstreamCharsets) DatabaseDefault(ctx context.Context, db string) (string, string, error) {
	if c.tr != nil {
		if cs, co, ok := c.tr.SchemaDefaults(db); ok {
			return cs, co, nil
		}
	}
	if c.db == nil {
		return "", "", nil
	}
	var cs, co string
	err := c.db.QueryRowContext(ctx, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&cs, &co)
	if errors.Is(err, sql.ErrNoRows) {
		// Dropped upstream since: a database created then took the server's defaults.
		err = c.db.QueryRowContext(ctx, "SELECT @@character_set_server, @@collation_server").Scan(&cs, &co)
	}
	if err != nil {
		return "", "", fmt.Errorf("read the default character set of database `%s` upstream: %w", db, err)
	}
	if c.tr != nil {
		c.tr.SetSchemaDefaults(db, cs, co)
	}
	return strings.ToLower(cs), strings.ToLower(co), nil
}

func (c *upstreamCharsets) TableDefault(ctx context.Context, db, table string) (string, string, error) {
	if c.tr != nil {
		if cs, co, ok := c.tr.TableDefaults(db, table); ok {
			return cs, co, nil
		}
	}
	if c.db == nil {
		return "", "", nil
	}
	var cs, co string
	err := c.db.QueryRowContext(ctx, "SELECT c.CHARACTER_SET_NAME, t.TABLE_COLLATION FROM information_schema.TABLES t "+
		"JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ?",
		db, table).Scan(&cs, &co)
	if errors.Is(err, sql.ErrNoRows) {
		return c.DatabaseDefault(ctx, db)
	}
	if err != nil {
		return "", "", fmt.Errorf("read the default character set of table `%s`.`%s` upstream: %w", db, table, err)
	}
	return strings.ToLower(cs), strings.ToLower(co), nil
}

func (c *upstreamCharsets) DefaultCollation(ctx context.Context, charset string) (string, error) {
	charset = strings.ToLower(charset)
	if co, ok := c.defaults[charset]; ok {
		return co, nil
	}
	co := ""
	if c.db != nil {
		err := c.db.QueryRowContext(ctx, "SELECT DEFAULT_COLLATE_NAME FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = ?", charset).Scan(&co)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("read the default collation of %s upstream: %w", charset, err)
		}
	}
	if co == "" {
		co = ddl.MariaDBDefaultCollation(charset)
	}
	c.defaults[charset] = strings.ToLower(co)
	return c.defaults[charset], nil
}
