package syncer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/dm-oss/dm/binlog/upstream"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/schema"
)

// Table is an upstream table as the replay uses it: its routed target, and its columns
// aligned with the binlog's row images. It is immutable once built and shared by the replay
// workers; a DDL makes the dispatcher build a new one.
type Table struct {
	srcSchema, srcTable string
	ignored             bool // not migrated (block-allow list)
	skip                [3]bool
	target              rules.TableRef
	qTarget             string // `db`.`t`
	cols                []colInfo
	// writable are the image columns that are written (not generated).
	writable []int
	// insertHead is "INSERT INTO `db`.`t` (`a`,`b`) VALUES " without the verb.
	colList string
	// key is the row identity: the primary key, else the first NOT NULL unique key, as image
	// column indexes; nil when the table has neither.
	key []int
	// uniques are the other unique keys (NOT NULL or not), used for conflict detection.
	uniques [][]int
	// tableHash seeds the worker hash with the target table.
	tableHash   uint64
	columnCount int
}

// Source is the upstream table's schema and name.
func (t *Table) Source() (schema, table string) { return t.srcSchema, t.srcTable }

// Target is the routed target table's schema and name.
func (t *Table) Target() (schema, table string) { return t.target.Schema, t.target.Table }

// Columns are the names of the row images' columns, in order.
func (t *Table) Columns() []string {
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.name
	}
	return out
}

// Key is the row identity the replay uses, as indexes into Columns: the primary key, else the
// first unique key of NOT NULL columns; nil when the table has neither.
func (t *Table) Key() []int { return slices.Clone(t.key) }

// tableDecoder builds the Table of each row event's TABLE_MAP: routed, filtered, and with the
// definition current at the event's position (the schema tracker's, or the schema source's),
// and keeps it until a DDL makes the caller forget them.
type tableDecoder struct {
	match     func(schema, table string) bool
	rules     *rules.Rules // nil: every table as is
	onlineDDL bool         // helper tables of gh-ost and pt-osc are not migrated
	schemas   schema.Source
	target    *sql.DB // the target's definition, for a table gone upstream
	cache     map[uint64]*Table
}

func newTableDecoder(s *Syncer, target *sql.DB) *tableDecoder {
	return &tableDecoder{match: s.match, rules: s.cfg.Rules, onlineDDL: s.cfg.OnlineDDL, schemas: s.schemas,
		target: target, cache: map[uint64]*Table{}}
}

// table returns the Table of a row event's table; built says it was not in the cache (it
// may have been read from the upstream).
func (d *tableDecoder) table(ctx context.Context, tm *replication.TableMapEvent) (t *Table, built bool, err error) {
	if t := d.cache[tm.TableID]; t != nil && t.columnCount == int(tm.ColumnCount) &&
		t.srcTable == string(tm.Table) && t.srcSchema == string(tm.Schema) {
		return t, false, nil
	}
	t, err = d.build(ctx, tm)
	if err != nil {
		return nil, true, err
	}
	d.cache[tm.TableID] = t
	return t, true, nil
}

// targetTable reads the target's definition of a table (there is none without a target).
func (d *tableDecoder) targetTable(ctx context.Context, t rules.TableRef) (*schema.Table, error) {
	if d.target == nil {
		return nil, schema.ErrTableNotFound
	}
	return schema.Load(ctx, d.target, t.Schema, t.Table)
}

// forget drops every Table: a DDL changed definitions.
func (d *tableDecoder) forget() { clear(d.cache) }

// build makes the Table of a TABLE_MAP's table.
func (d *tableDecoder) build(ctx context.Context, tm *replication.TableMapEvent) (*Table, error) {
	srcSchema, srcTable := string(tm.Schema), string(tm.Table)
	ti := &Table{srcSchema: srcSchema, srcTable: srcTable, columnCount: int(tm.ColumnCount)}
	if !d.match(srcSchema, srcTable) || (d.onlineDDL && onlineKindOf(srcTable) != onlineNone) {
		// Not migrated, or an online DDL tool's helper table (its rows are copies of the real
		// table's, which the target has already).
		ti.ignored = true
		return ti, nil
	}
	if rl := d.rules; rl != nil {
		ti.target = rl.Route(srcSchema, srcTable)
		for k, kind := range []rules.EventKind{rules.EventInsert, rules.EventUpdate, rules.EventDelete} {
			ti.skip[k] = rl.SkipDML(srcSchema, srcTable, kind)
		}
	} else {
		ti.target = rules.TableRef{Schema: srcSchema, Table: srcTable}
	}
	ti.qTarget = upstream.QuoteName(ti.target.Schema) + "." + upstream.QuoteName(ti.target.Table)
	h := fnv.New64a()
	h.Write([]byte(ti.qTarget))
	ti.tableHash = h.Sum64()

	def, err := d.schemas.Table(ctx, srcSchema, srcTable)
	if err != nil && !errors.Is(err, schema.ErrTableNotFound) {
		return nil, fmt.Errorf("row event for `%s`.`%s`: %w", srcSchema, srcTable, err)
	}
	if def == nil || (len(tm.ColumnNameString()) != int(tm.ColumnCount) && int(tm.ColumnCount) > len(def.Columns)) {
		// The upstream table is gone or has lost columns since this event: the binlog's own
		// column names, else the target's table (DDL is applied there in binlog order).
		if alt := tableFromMap(tm); alt != nil {
			def = alt
		} else if alt, terr := d.targetTable(ctx, ti.target); terr == nil && len(alt.Columns) == int(tm.ColumnCount) {
			def = alt
		} else if def == nil {
			return nil, fmt.Errorf("row event for `%s`.`%s`: the table no longer exists upstream, nor with this shape in the target, and the binlog has no column names (set binlog_row_metadata=FULL upstream): %w", srcSchema, srcTable, err)
		}
	}
	n := int(tm.ColumnCount)
	// Map the image's columns to the definition: by name when the binlog carries names
	// (binlog_row_metadata=FULL), else by position. The definition is the table as it is now
	// upstream; a shorter image is a table that has since gained columns at the end.
	imageToDef := make([]int, n)
	names := tm.ColumnNameString()
	if len(names) == n {
		byName := map[string]int{}
		for i, c := range def.Columns {
			byName[strings.ToLower(c.Name)] = i
		}
		for i, name := range names {
			d, ok := byName[strings.ToLower(name)]
			if !ok {
				return nil, fmt.Errorf("row event for `%s`.`%s`: column %q is not in the upstream table any more", srcSchema, srcTable, name)
			}
			imageToDef[i] = d
		}
	} else {
		if n > len(def.Columns) {
			return nil, fmt.Errorf("row event for `%s`.`%s` has %d columns but the upstream table has %d: the table changed since (replaying across a DROP COLUMN needs binlog_row_metadata=FULL upstream)", srcSchema, srcTable, n, len(def.Columns))
		}
		for i := range imageToDef {
			imageToDef[i] = i
		}
	}
	defToImage := make(map[int]int, n)
	ti.cols = make([]colInfo, n)
	var list []string
	for i, d := range imageToDef {
		defToImage[d] = i
		ti.cols[i] = newColInfo(def.Columns[d])
		if !ti.cols[i].generated {
			ti.writable = append(ti.writable, i)
			list = append(list, ti.cols[i].quoted)
		}
	}
	ti.colList = "(" + strings.Join(list, ",") + ")"
	mapKey := func(k []int) []int {
		out := make([]int, len(k))
		for i, d := range k {
			img, ok := defToImage[d]
			if !ok {
				return nil
			}
			out[i] = img
		}
		return out
	}
	keys := [][]int{}
	if def.PrimaryKey != nil {
		keys = append(keys, def.PrimaryKey)
	}
	keys = append(keys, def.UniqueKeys...)
	for _, k := range keys {
		if m := mapKey(k); m != nil {
			if ti.key == nil {
				ti.key = m
			} else {
				ti.uniques = append(ti.uniques, m)
			}
		}
	}
	for _, k := range def.NullableUniqueKeys {
		if m := mapKey(k); m != nil {
			ti.uniques = append(ti.uniques, m)
		}
	}
	return ti, nil
}

// tableFromMap builds a definition from a TABLE_MAP with full metadata, for a table that no
// longer exists upstream. nil without column names.
func tableFromMap(tm *replication.TableMapEvent) *schema.Table {
	names := tm.ColumnNameString()
	if len(names) != int(tm.ColumnCount) {
		return nil
	}
	t := &schema.Table{Schema: string(tm.Schema), Name: string(tm.Table)}
	unsigned := tm.UnsignedMap()
	enums := tm.EnumStrValueMap()
	sets := tm.SetStrValueMap()
	for i, name := range names {
		c := schema.Column{Name: name, Nullable: true, Unsigned: unsigned[i]}
		switch {
		case enums[i] != nil:
			c.DataType, c.EnumValues = "enum", enums[i]
		case sets[i] != nil:
			c.DataType, c.EnumValues = "set", sets[i]
		case tm.IsNumericColumn(i):
			c.DataType = "bigint"
			if tm.ColumnType[i] == 0xf6 { // NEWDECIMAL
				c.DataType = "decimal"
			} else if tm.ColumnType[i] == 4 || tm.ColumnType[i] == 5 {
				c.DataType = "double"
			}
		case tm.IsCharacterColumn(i):
			c.DataType = "varchar"
		default:
			c.DataType = "blob"
		}
		t.Columns = append(t.Columns, c)
	}
	if len(tm.PrimaryKey) > 0 {
		for _, k := range tm.PrimaryKey {
			t.PrimaryKey = append(t.PrimaryKey, int(k))
		}
	}
	return t
}

// convertRow converts one row image in place.
func (ti *Table) convertRow(row []any) ([]any, error) {
	if len(row) != len(ti.cols) {
		return nil, fmt.Errorf("row of `%s`.`%s` has %d values, want %d", ti.srcSchema, ti.srcTable, len(row), len(ti.cols))
	}
	out := make([]any, len(row))
	for i, v := range row {
		c, err := ti.cols[i].convert(v)
		if err != nil {
			return nil, fmt.Errorf("`%s`.`%s`: %w", ti.srcSchema, ti.srcTable, err)
		}
		out[i] = c
	}
	return out, nil
}

// keyOf appends the canonical form of the key columns of row; ok is false when one of them is
// NULL (such a key constrains nothing).
func (ti *Table) keyOf(b []byte, key []int, row []any) ([]byte, bool) {
	for _, i := range key {
		if row[i] == nil {
			return b, false
		}
		b = ti.cols[i].appendKey(b, row[i])
		b = append(b, 0xff)
	}
	return b, true
}

// hashKey hashes the table and a key's canonical form (FNV-1a, stable across runs: the worker
// a row goes to must not change between runs).
func (ti *Table) hashKey(key []byte) uint64 {
	h := ti.tableHash
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// rowsKind is what a rows event does; ok is false for events that change no row (and err
// explains the ones that cannot be replayed).
func rowsKind(ev *replication.BinlogEvent, e *replication.RowsEvent) (kind ChangeKind, ok bool, err error) {
	switch e.Type() {
	case replication.EnumRowsEventTypeInsert:
		return ChangeInsert, true, nil
	case replication.EnumRowsEventTypeUpdate:
		return ChangeUpdate, true, nil
	case replication.EnumRowsEventTypeDelete:
		return ChangeDelete, true, nil
	}
	if ev.Header.EventType == replication.PARTIAL_UPDATE_ROWS_EVENT {
		return 0, false, fmt.Errorf("`%s`.`%s`: partial JSON updates (binlog_row_value_options=PARTIAL_JSON) cannot be replayed: turn the option off upstream", e.Table.Schema, e.Table.Table)
	}
	return 0, false, nil
}

// eachChange decodes the rows of e (of t, doing kind) and calls f with each row's images.
func (t *Table) eachChange(kind ChangeKind, e *replication.RowsEvent, f func(before, after []any) error) error {
	for i := range e.SkippedColumns {
		if len(e.SkippedColumns[i]) > 0 {
			return fmt.Errorf("`%s`.`%s`: the row image lacks columns: set binlog_row_image=FULL upstream", t.srcSchema, t.srcTable)
		}
	}
	if kind == ChangeUpdate {
		for i := 0; i+1 < len(e.Rows); i += 2 {
			before, err := t.convertRow(e.Rows[i])
			if err != nil {
				return err
			}
			after, err := t.convertRow(e.Rows[i+1])
			if err != nil {
				return err
			}
			if err := f(before, after); err != nil {
				return err
			}
		}
		return nil
	}
	for _, row := range e.Rows {
		vals, err := t.convertRow(row)
		if err != nil {
			return err
		}
		if kind == ChangeInsert {
			err = f(nil, vals)
		} else {
			err = f(vals, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
