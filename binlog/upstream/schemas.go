package upstream

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dm-oss/dm/binlog/rules"
)

// ErrSchemaNotFound is wrapped by ListTables when the schema does not exist
// or the user cannot see it.
var ErrSchemaNotFound = errors.New("schema not found")

// QuoteName quotes an identifier with backticks, doubling embedded backticks,
// so that any name (e.g. "a`b") can be put into SQL text.
func QuoteName(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// ListSchemas returns the user schemas sorted, leaving out mysql,
// information_schema, performance_schema and sys. Schemas on which the user
// has no privilege at all are invisible to it and therefore missing.
func ListSchemas(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
	if err != nil {
		return nil, fmt.Errorf("list upstream schemas: %w", err)
	}
	defer rows.Close()
	schemas := []string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list upstream schemas: %w", err)
		}
		if !rules.IsSystemSchema(name) {
			schemas = append(schemas, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list upstream schemas: %w", err)
	}
	sort.Strings(schemas)
	return schemas, nil
}

// baseTableTypes are the information_schema.TABLES types ListTables returns:
// ordinary tables and MariaDB's system-versioned tables. Views, sequences and
// temporary tables are left out.
var baseTableTypes = map[string]bool{
	"BASE TABLE":       true,
	"SYSTEM VERSIONED": true,
}

// ListTables returns the base tables (not views) of schema, sorted. The
// schema name is bound as a parameter, so any name works. An unknown schema,
// or one the user cannot see, gives an error that wraps ErrSchemaNotFound.
func ListTables(ctx context.Context, db *sql.DB, schema string) ([]string, error) {
	name, err := resolveSchema(ctx, db, schema)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx,
		"SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", name)
	if err != nil {
		return nil, fmt.Errorf("list tables of upstream schema %s: %w", QuoteName(schema), err)
	}
	defer rows.Close()
	tables := []string{}
	for rows.Next() {
		var tschema, table, typ string
		if err := rows.Scan(&tschema, &table, &typ); err != nil {
			return nil, fmt.Errorf("list tables of upstream schema %s: %w", QuoteName(schema), err)
		}
		// The comparison in SQL may be case-insensitive (information_schema
		// uses a _ci collation); schemas "A" and "a" can both exist.
		if tschema == name && baseTableTypes[strings.ToUpper(typ)] {
			tables = append(tables, table)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables of upstream schema %s: %w", QuoteName(schema), err)
	}
	sort.Strings(tables)
	return tables, nil
}

// resolveSchema returns the schema's name as the server stores it: schema
// itself if it exists, or the single match the server's case folding
// (lower_case_table_names) found for it.
func resolveSchema(ctx context.Context, db *sql.DB, schema string) (string, error) {
	rows, err := db.QueryContext(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", schema)
	if err != nil {
		return "", fmt.Errorf("look up upstream schema %s: %w", QuoteName(schema), err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return "", fmt.Errorf("look up upstream schema %s: %w", QuoteName(schema), err)
		}
		found = append(found, name)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("look up upstream schema %s: %w", QuoteName(schema), err)
	}
	for _, name := range found {
		if name == schema {
			return name, nil
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return "", fmt.Errorf("%w: the upstream has no schema %s, or the user has no privilege on it", ErrSchemaNotFound, QuoteName(schema))
}

// TablesWithoutKey lists the user base tables that have neither a primary key nor a unique
// key, sorted. Replicating them is exact only with transactional checkpoints, and their
// updates and deletes cost a full-row match.
func TablesWithoutKey(ctx context.Context, db *sql.DB) ([]TableName, error) {
	rows, err := db.QueryContext(ctx, `
SELECT t.TABLE_SCHEMA, t.TABLE_NAME FROM information_schema.TABLES t
WHERE t.TABLE_TYPE = 'BASE TABLE'
  AND t.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND NOT EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c
                  WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
                    AND c.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE'))
ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME`)
	if err != nil {
		return nil, fmt.Errorf("list tables without keys: %w", err)
	}
	defer rows.Close()
	var out []TableName
	for rows.Next() {
		var tn TableName
		if err := rows.Scan(&tn.Schema, &tn.Table); err != nil {
			return nil, fmt.Errorf("list tables without keys: %w", err)
		}
		out = append(out, tn)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables without keys: %w", err)
	}
	return out, nil
}

// TableName is a schema-qualified table name.
type TableName struct{ Schema, Table string }
