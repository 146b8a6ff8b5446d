package tracker

import (
	"sort"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/charset"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/types"

	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/schema"
)

func canonCharset(cs string) string {
	cs = strings.ToLower(cs)
	if cs == "utf8" {
		return "utf8mb3"
	}
	return cs
}

func canonCollation(co string) string {
	co = strings.ToLower(co)
	if strings.HasPrefix(co, "utf8_") {
		return "utf8mb3_" + co[len("utf8_"):]
	}
	return co
}

func collationCharset(co string) string {
	if i := strings.IndexByte(co, '_'); i > 0 {
		return canonCharset(co[:i])
	}
	return ""
}

func defaultCollation(cs string) string { return canonCollation(ddl.MariaDBDefaultCollation(cs)) }

// isCharColumn: the column holds character data (has a character set).
func isCharColumn(ft *types.FieldType) bool {
	switch ft.GetType() {
	case mysql.TypeVarchar, mysql.TypeString, mysql.TypeVarString, mysql.TypeEnum, mysql.TypeSet,
		mysql.TypeTinyBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob, mysql.TypeBlob:
		return ft.GetCharset() != charset.CharsetBin && !mysql.HasBinaryFlag(ft.GetFlag()) || ft.GetType() == mysql.TypeEnum || ft.GetType() == mysql.TypeSet
	}
	return false
}

// tableCharset returns the table's default character set and collation from its options.
func tableCharset(stmt *ast.CreateTableStmt) (cs, co string) {
	for _, o := range stmt.Options {
		switch o.Tp {
		case ast.TableOptionCharset:
			cs = canonCharset(o.StrValue)
		case ast.TableOptionCollate:
			co = canonCollation(o.StrValue)
		}
	}
	return cs, co
}

// columnCharset returns a column's own character set and collation ("" when inherited).
func columnCharset(c *ast.ColumnDef) (cs, co string) {
	cs = canonCharset(c.Tp.GetCharset())
	co = canonCollation(c.Tp.GetCollate())
	for _, o := range c.Options {
		if o.Tp == ast.ColumnOptionCollate {
			co = canonCollation(o.StrValue)
		}
	}
	return cs, co
}

// resolveCharset completes a (charset, collation) pair from each other.
func resolveCharset(cs, co string) (string, string) {
	if cs == "" && co != "" {
		cs = collationCharset(co)
	}
	if co == "" && cs != "" {
		co = defaultCollation(cs)
	}
	return cs, co
}

// mariaDBIntWidth is the display width MariaDB gives an integer column declared without one.
func mariaDBIntWidth(tp byte, unsigned bool) int {
	w := map[byte][2]int{
		mysql.TypeTiny: {4, 3}, mysql.TypeShort: {6, 5}, mysql.TypeInt24: {9, 8},
		mysql.TypeLong: {11, 10}, mysql.TypeLonglong: {20, 20},
	}[tp]
	if unsigned {
		return w[1]
	}
	return w[0]
}

func columnType(ft *types.FieldType) (dataType, columnType string) {
	c := ft.Clone()
	unsigned := mysql.HasUnsignedFlag(c.GetFlag())
	switch c.GetType() {
	case mysql.TypeTiny, mysql.TypeShort, mysql.TypeInt24, mysql.TypeLong, mysql.TypeLonglong:
		if c.GetFlen() == types.UnspecifiedLength {
			c.SetFlen(mariaDBIntWidth(c.GetType(), unsigned))
		}
	case mysql.TypeYear:
		if c.GetFlen() == types.UnspecifiedLength {
			c.SetFlen(4)
		}
	}
	cs := c.GetCharset()
	if isCharColumn(c) {
		cs = "utf8mb4"
	} else if mysql.HasBinaryFlag(c.GetFlag()) || cs == charset.CharsetBin {
		cs = charset.CharsetBin
	}
	dataType = strings.ToLower(types.TypeToStr(c.GetType(), cs))
	columnType = strings.ToLower(c.InfoSchemaStr())
	if mysql.HasZerofillFlag(c.GetFlag()) && !strings.Contains(columnType, "zerofill") {
		columnType += " zerofill"
	}
	if c.GetType() == mysql.TypeEnum || c.GetType() == mysql.TypeSet {
		// keep the members' case as declared
		columnType = dataType + columnType[len(dataType):]
		var b strings.Builder
		b.WriteString(dataType + "(")
		for i, e := range c.GetElems() {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("'" + strings.ReplaceAll(e, "'", "''") + "'")
		}
		b.WriteByte(')')
		columnType = b.String()
	}
	return dataType, columnType
}

// derive builds the sync unit's view of a tracked table.
func derive(schemaName, name string, ts *tableState, dbCharset, dbCollate string) *schema.Table {
	stmt := ts.stmt
	t := &schema.Table{Schema: schemaName, Name: name}
	tcs, tco := tableCharset(stmt)
	if tcs == "" && tco == "" {
		tcs, tco = dbCharset, dbCollate
	}
	tcs, tco = resolveCharset(tcs, tco)
	byName := map[string]int{}
	for i, c := range stmt.Cols {
		col := schema.Column{Name: c.Name.Name.O, Nullable: true}
		col.DataType, col.ColumnType = columnType(c.Tp)
		col.Unsigned = mysql.HasUnsignedFlag(c.Tp.GetFlag())
		if c.Tp.GetType() == mysql.TypeEnum || c.Tp.GetType() == mysql.TypeSet {
			col.EnumValues = append([]string(nil), c.Tp.GetElems()...)
		}
		for _, o := range c.Options {
			switch o.Tp {
			case ast.ColumnOptionNotNull, ast.ColumnOptionPrimaryKey:
				col.Nullable = false
			case ast.ColumnOptionNull:
				col.Nullable = true
			case ast.ColumnOptionGenerated:
				col.Generated = true
			}
		}
		if orig := ts.types[c.Name.Name.L]; orig == "compressed" {
			col.ColumnType += " /*M!100301 COMPRESSED*/"
		}
		if orig := ts.types[c.Name.Name.L]; orig != "" && orig != "compressed" {
			col.DataType, col.ColumnType = orig, orig
		}
		if orig := ts.types[c.Name.Name.L]; (orig == "" || orig == "compressed") && isCharColumn(c.Tp) {
			cs, co := columnCharset(c)
			if cs == "" && co == "" {
				cs, co = tcs, tco
			} else if cs == "" && co != "" {
				cs = collationCharset(co)
			} else if co == "" && cs == tcs {
				co = tco
			}
			col.Charset, col.Collation = resolveCharset(cs, co)
		}
		byName[c.Name.Name.L] = i
		t.Columns = append(t.Columns, col)
	}
	type index struct {
		name string
		cols []int
	}
	var uniques []index
	for _, cons := range stmt.Constraints {
		primary := cons.Tp == ast.ConstraintPrimaryKey
		if !primary && cons.Tp != ast.ConstraintUniq && cons.Tp != ast.ConstraintUniqKey && cons.Tp != ast.ConstraintUniqIndex {
			continue
		}
		var cols []int
		usable := true
		for _, k := range cons.Keys {
			if k.Column == nil || k.Expr != nil || k.Length > 0 {
				usable = false
				break
			}
			i, ok := byName[k.Column.Name.L]
			if !ok {
				usable = false
				break
			}
			cols = append(cols, i)
		}
		if primary {
			for _, i := range cols {
				t.Columns[i].Nullable = false
			}
		}
		if !usable || len(cols) == 0 {
			continue
		}
		if primary {
			t.PrimaryKey = cols
			continue
		}
		uniques = append(uniques, index{cons.Name, cols})
	}
	sort.SliceStable(uniques, func(a, b int) bool { return uniques[a].name < uniques[b].name })
	for _, ix := range uniques {
		t.AddUniqueKey(ix.cols)
	}
	return t
}
