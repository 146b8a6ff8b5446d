// Package schema describes upstream tables the way the binlog consumers need them: column
// names and types in binlog order, which columns are unsigned, the values of ENUM and SET
// columns, and the keys that identify a row.
//
// This is the minimal version: FromDB reads information_schema of a live server (the
// upstream) and caches each table until Invalidate. It therefore describes a table as it is
// NOW, not as it was at the binlog position being replayed; consumers that lag behind a DDL
// must cope (the sync unit maps row images by the TABLE_MAP's column names when the upstream
// logs them, binlog_row_metadata=FULL, else by position). A later version adds a DDL-tracking
// schema tracker behind the same Source interface.
//
// The package never imports master/, worker/, restapi/ or fsm/.
package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// ErrTableNotFound is wrapped when the table does not exist (or is invisible to the user).
var ErrTableNotFound = errors.New("table not found")

// Column is one column, in table order.
type Column struct {
	Name string
	// DataType is information_schema's DATA_TYPE, lowercased ("int", "varchar", "enum", ...).
	// MariaDB reports JSON columns as "longtext".
	DataType string
	// ColumnType is the full type ("int(10) unsigned", "enum('a','b')", ...).
	ColumnType string
	Unsigned   bool
	Nullable   bool
	// EnumValues are the members of an ENUM or SET column, in definition order (index 1 is
	// EnumValues[0], as in the binlog).
	EnumValues []string
	// Charset and Collation of a character column ("" for other columns).
	Charset, Collation string
	// Generated is true for VIRTUAL/STORED generated columns, which cannot be written.
	Generated bool
}

// Table is one table's definition.
type Table struct {
	Schema, Name string
	Columns      []Column
	// PrimaryKey holds the column indexes of the primary key, nil without one.
	PrimaryKey []int
	// UniqueKeys are the other unique keys whose columns are all NOT NULL (so each one
	// identifies a row), in index-name order. Prefix indexes are left out.
	UniqueKeys [][]int
	// NullableUniqueKeys are the unique keys with a nullable column. They do not identify a
	// row, but two rows cannot share their non-NULL values, which matters for ordering.
	NullableUniqueKeys [][]int
}

// AddUniqueKey files a unique key (other than the primary key) under UniqueKeys, or under
// NullableUniqueKeys when one of its columns is nullable. Call it in index-name order.
func (t *Table) AddUniqueKey(cols []int) {
	for _, c := range cols {
		if t.Columns[c].Nullable {
			t.NullableUniqueKeys = append(t.NullableUniqueKeys, cols)
			return
		}
	}
	t.UniqueKeys = append(t.UniqueKeys, cols)
}

// Source gives table definitions.
type Source interface {
	// Table returns the definition of schema.table; the error wraps ErrTableNotFound when
	// there is no such table.
	Table(ctx context.Context, schema, table string) (*Table, error)
	// Invalidate forgets what is cached about schema.table; table "" forgets the whole
	// schema, and schema "" everything.
	Invalidate(schema, table string)
}

// FromDB returns a Source that reads information_schema through db and caches each table
// until it is invalidated. It is safe for concurrent use.
func FromDB(db *sql.DB) Source { return &dbSource{db: db, cache: map[[2]string]*Table{}} }

type dbSource struct {
	db    *sql.DB
	mu    sync.Mutex
	cache map[[2]string]*Table
}

func (s *dbSource) Invalidate(schema, table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.cache {
		if schema == "" || (k[0] == schema && (table == "" || k[1] == table)) {
			delete(s.cache, k)
		}
	}
}

func (s *dbSource) Table(ctx context.Context, schema, table string) (*Table, error) {
	key := [2]string{schema, table}
	s.mu.Lock()
	t := s.cache[key]
	s.mu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := Load(ctx, s.db, schema, table)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[key] = t
	s.mu.Unlock()
	return t, nil
}

// Load reads one table's definition from information_schema, uncached.
func Load(ctx context.Context, db *sql.DB, schema, table string) (*Table, error) {
	rows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
		COALESCE(CHARACTER_SET_NAME, ''), COALESCE(COLLATION_NAME, ''), COALESCE(EXTRA, '')
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY ORDINAL_POSITION`, schema, table)
	if err != nil {
		return nil, fmt.Errorf("read columns of `%s`.`%s`: %w", schema, table, err)
	}
	t := &Table{Schema: schema, Name: table}
	byName := map[string]int{}
	for rows.Next() {
		var c Column
		var nullable, extra string
		if err := rows.Scan(&c.Name, &c.DataType, &c.ColumnType, &nullable, &c.Charset, &c.Collation, &extra); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read columns of `%s`.`%s`: %w", schema, table, err)
		}
		c.DataType = strings.ToLower(c.DataType)
		lowType := strings.ToLower(c.ColumnType)
		c.Unsigned = strings.Contains(lowType, "unsigned")
		c.Nullable = strings.EqualFold(nullable, "YES")
		extra = strings.ToUpper(extra)
		c.Generated = strings.Contains(extra, "GENERATED") || strings.Contains(extra, "PERSISTENT") || strings.Contains(extra, "VIRTUAL")
		if c.DataType == "enum" || c.DataType == "set" {
			c.EnumValues = ParseEnumValues(c.ColumnType)
		}
		byName[strings.ToLower(c.Name)] = len(t.Columns)
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("read columns of `%s`.`%s`: %w", schema, table, err)
	}
	rows.Close()
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("`%s`.`%s`: %w", schema, table, ErrTableNotFound)
	}

	rows, err = db.QueryContext(ctx, `SELECT INDEX_NAME, COLUMN_NAME, SUB_PART IS NOT NULL
		FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0
		ORDER BY INDEX_NAME, SEQ_IN_INDEX`, schema, table)
	if err != nil {
		return nil, fmt.Errorf("read keys of `%s`.`%s`: %w", schema, table, err)
	}
	type index struct {
		cols   []int
		prefix bool
	}
	indexes := map[string]*index{}
	var names []string
	for rows.Next() {
		var name, col string
		var prefix bool
		if err := rows.Scan(&name, &col, &prefix); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read keys of `%s`.`%s`: %w", schema, table, err)
		}
		ix := indexes[name]
		if ix == nil {
			ix = &index{}
			indexes[name] = ix
			names = append(names, name)
		}
		i, ok := byName[strings.ToLower(col)]
		if !ok || prefix {
			// An expression or prefix index identifies nothing we can compare.
			ix.prefix = true
			continue
		}
		ix.cols = append(ix.cols, i)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("read keys of `%s`.`%s`: %w", schema, table, err)
	}
	rows.Close()
	sort.Strings(names)
	for _, name := range names {
		ix := indexes[name]
		if ix.prefix || len(ix.cols) == 0 {
			continue
		}
		if name == "PRIMARY" {
			t.PrimaryKey = ix.cols
			continue
		}
		t.AddUniqueKey(ix.cols)
	}
	return t, nil
}

// ParseEnumValues returns the members of "enum('a','b”c')" or "set(...)": quotes removed,
// doubled quotes and backslash escapes undone.
func ParseEnumValues(columnType string) []string {
	open := strings.IndexByte(columnType, '(')
	if open < 0 {
		return nil
	}
	s := columnType[open+1:]
	var vals []string
	for i := 0; i < len(s); i++ {
		if s[i] != '\'' {
			if s[i] == ')' {
				break
			}
			continue
		}
		var b strings.Builder
		for i++; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
				continue
			}
			if c == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				break
			}
			b.WriteByte(c)
		}
		vals = append(vals, b.String())
	}
	return vals
}
