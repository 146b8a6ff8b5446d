package ddl

import (
	"context"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/charset"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/types"
)

// Charsets tells what the upstream resolved when a statement left a character set or a
// collation to defaults. Names are the upstream's (before routing).
type Charsets interface {
	// DatabaseDefault is the default character set and collation of an upstream database,
	// which a table created in it without options gets.
	DatabaseDefault(ctx context.Context, db string) (charset, collation string, err error)
	// TableDefault is the default character set and collation of an upstream table, which a
	// column added to it without options gets.
	TableDefault(ctx context.Context, db, table string) (charset, collation string, err error)
	// DefaultCollation is the upstream's default collation of a character set.
	DefaultCollation(ctx context.Context, charset string) (string, error)
}

// addCharsets makes explicit, in strict mode, the character sets and collations a statement
// leaves to the server's defaults: the upstream's resolution, so that the target resolves
// the same whatever its own defaults are.
func addCharsets(ctx context.Context, node ast.StmtNode, s *Statement, cs Charsets) error {
	switch n := node.(type) {
	case *ast.CreateDatabaseStmt:
		opts, err := completeDatabaseOptions(ctx, n.Options, cs, func() (string, string, error) {
			return cs.DatabaseDefault(ctx, s.Database)
		})
		n.Options = opts
		return err
	case *ast.AlterDatabaseStmt:
		opts, err := completeDatabaseOptions(ctx, n.Options, cs, nil)
		n.Options = opts
		return err
	case *ast.CreateTableStmt:
		if n.ReferTable != nil || len(s.Tables) == 0 {
			return nil // LIKE copies the source table's collations
		}
		opts, err := completeTableOptions(ctx, n.Options, cs, func() (string, string, error) {
			return cs.DatabaseDefault(ctx, s.Tables[0].Schema)
		})
		if err != nil {
			return err
		}
		n.Options = opts
		for _, c := range n.Cols {
			if err := completeColumn(ctx, c, cs, nil); err != nil {
				return err
			}
		}
	case *ast.AlterTableStmt:
		return addAlterCharsets(ctx, n, s, cs)
	}
	return nil
}

func addAlterCharsets(ctx context.Context, n *ast.AlterTableStmt, s *Statement, cs Charsets) error {
	tableDefault := func() (string, string, error) {
		return cs.TableDefault(ctx, s.Tables[0].Schema, s.Tables[0].Table)
	}
	for _, spec := range n.Specs {
		switch spec.Tp {
		case ast.AlterTableAddColumns, ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
			for _, c := range spec.NewColumns {
				if err := completeColumn(ctx, c, cs, tableDefault); err != nil {
					return err
				}
			}
		case ast.AlterTableOption:
			opts, err := completeTableOptions(ctx, spec.Options, cs, nil)
			if err != nil {
				return err
			}
			spec.Options = opts
		}
	}
	return nil
}

// missingOptions decides what a statement's options (set, coll: the character set and
// collation they name, "" for none) lack: the collation of a character set given alone, or
// both when neither is given and whole is not nil.
func missingOptions(ctx context.Context, cs Charsets, set, coll string, whole func() (string, string, error)) (addSet, addColl string, err error) {
	switch {
	case coll != "":
		return "", "", nil
	case set != "":
		co, err := defaultCollation(ctx, cs, set)
		return "", co, err
	case whole != nil:
		return whole()
	}
	return "", "", nil
}

// completeDatabaseOptions adds to database options what missingOptions finds missing.
func completeDatabaseOptions(ctx context.Context, opts []*ast.DatabaseOption, cs Charsets, whole func() (string, string, error)) ([]*ast.DatabaseOption, error) {
	var set, coll string
	for _, o := range opts {
		switch o.Tp {
		case ast.DatabaseOptionCharset:
			set, coll = o.Value, ""
		case ast.DatabaseOptionCollate:
			coll = o.Value
		}
	}
	addSet, addColl, err := missingOptions(ctx, cs, set, coll, whole)
	if addSet != "" {
		opts = append(opts, &ast.DatabaseOption{Tp: ast.DatabaseOptionCharset, Value: addSet})
	}
	if addColl != "" {
		opts = append(opts, &ast.DatabaseOption{Tp: ast.DatabaseOptionCollate, Value: addColl})
	}
	return opts, err
}

// completeTableOptions is completeDatabaseOptions for table options. A CONVERT TO CHARACTER
// SET counts as a character set; the collation goes right after it (CONVERT TO CHARACTER SET
// x COLLATE y is one clause).
func completeTableOptions(ctx context.Context, opts []*ast.TableOption, cs Charsets, whole func() (string, string, error)) ([]*ast.TableOption, error) {
	set, coll, at := "", "", len(opts)-1
	for i, o := range opts {
		switch o.Tp {
		case ast.TableOptionCharset:
			set, coll, at = o.StrValue, "", i
		case ast.TableOptionCollate:
			coll = o.StrValue
		}
	}
	addSet, addColl, err := missingOptions(ctx, cs, set, coll, whole)
	var add []*ast.TableOption
	if addSet != "" {
		add = append(add, &ast.TableOption{Tp: ast.TableOptionCharset, StrValue: addSet})
	}
	if addColl != "" {
		add = append(add, &ast.TableOption{Tp: ast.TableOptionCollate, StrValue: addColl})
	}
	out := append(append(append([]*ast.TableOption{}, opts[:at+1]...), add...), opts[at+1:]...)
	return out, err
}

// completeColumn gives a text column without a collation one: its character set's default
// when it names a character set, else (when inherit is not nil) the table's.
func completeColumn(ctx context.Context, c *ast.ColumnDef, cs Charsets, inherit func() (string, string, error)) error {
	if c.Tp == nil || !IsTextType(c.Tp) {
		return nil
	}
	set, coll := columnCharset(c)
	addSet, addColl, err := missingOptions(ctx, cs, set, coll, inherit)
	if err != nil || addSet == "" && addColl == "" {
		return err
	}
	if addSet != "" {
		c.Tp.SetCharset(addSet)
	}
	c.Tp.SetCollate(addColl)
	return nil
}

func defaultCollation(ctx context.Context, cs Charsets, set string) (string, error) {
	co, err := cs.DefaultCollation(ctx, strings.ToLower(set))
	if err != nil {
		return "", fmt.Errorf("default collation of character set %s: %w", set, err)
	}
	return co, nil
}

// IsTextType reports whether a column type holds text in a character set with a collation
// (CHAR, VARCHAR, TEXT, ENUM, SET; not the binary forms and not JSON).
func IsTextType(ft *types.FieldType) bool {
	switch ft.GetType() {
	case mysql.TypeVarchar, mysql.TypeString, mysql.TypeVarString, mysql.TypeTinyBlob,
		mysql.TypeMediumBlob, mysql.TypeLongBlob, mysql.TypeBlob:
		return ft.GetCharset() != charset.CharsetBin && !mysql.HasBinaryFlag(ft.GetFlag())
	case mysql.TypeEnum, mysql.TypeSet:
		return true
	}
	return false
}

// columnCharset is a column's own character set and collation ("" when it inherits).
func columnCharset(c *ast.ColumnDef) (set, coll string) {
	set, coll = c.Tp.GetCharset(), c.Tp.GetCollate()
	for _, o := range c.Options {
		if o.Tp == ast.ColumnOptionCollate {
			coll = o.StrValue
		}
	}
	return set, coll
}

// mariaDBDefaultCollations are MariaDB's default collations of the common character sets
// where they differ from what the TiDB parser's tables say.
var mariaDBDefaultCollations = map[string]string{
	"utf8mb4": "utf8mb4_general_ci", "utf8mb3": "utf8mb3_general_ci", "utf8": "utf8mb3_general_ci",
	"latin1": "latin1_swedish_ci", "ascii": "ascii_general_ci", "binary": "binary",
}

// MariaDBDefaultCollation is MariaDB's default collation of a character set ("" unknown).
func MariaDBDefaultCollation(cs string) string {
	cs = strings.ToLower(cs)
	if co, ok := mariaDBDefaultCollations[cs]; ok {
		return co
	}
	if info, err := charset.GetCharsetInfo(cs); err == nil {
		return strings.ToLower(info.DefaultCollation)
	}
	return ""
}

// enumCollations keeps the character set of ENUM and SET columns, which the TiDB parser's
// restore leaves out of the type: as a COLLATE option, which implies it.
func enumCollations(node ast.StmtNode) {
	fix := func(c *ast.ColumnDef) {
		if c.Tp == nil || (c.Tp.GetType() != mysql.TypeEnum && c.Tp.GetType() != mysql.TypeSet) {
			return
		}
		set, coll := c.Tp.GetCharset(), c.Tp.GetCollate()
		if set == "" && coll == "" {
			return
		}
		c.Tp.SetCharset("")
		c.Tp.SetCollate("")
		for _, o := range c.Options {
			if o.Tp == ast.ColumnOptionCollate {
				return
			}
		}
		if coll == "" {
			coll = MariaDBDefaultCollation(set)
		}
		if coll != "" {
			c.Options = append(c.Options, &ast.ColumnOption{Tp: ast.ColumnOptionCollate, StrValue: coll})
		}
	}
	switch n := node.(type) {
	case *ast.CreateTableStmt:
		for _, c := range n.Cols {
			fix(c)
		}
	case *ast.AlterTableStmt:
		for _, spec := range n.Specs {
			for _, c := range spec.NewColumns {
				fix(c)
			}
		}
	}
}
