package ddl

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/types"
)

// MariaDB has no JSON type: `j JSON` is LONGTEXT with a CHECK (json_valid(j)) constraint,
// and that is what SHOW CREATE TABLE (so the dump) prints. The rule, the same in the full
// copy and in the binlog replay: a TiDB or MySQL target gets a native JSON column for such a
// column (and for a column declared JSON); a MariaDB target gets the column as written.

// nativeJSON turns MariaDB's JSON columns (LONGTEXT + CHECK (json_valid(col))) into JSON.
func nativeJSON(node ast.StmtNode) {
	switch n := node.(type) {
	case *ast.CreateTableStmt:
		checked := map[string]bool{}
		kept := n.Constraints[:0]
		for _, c := range n.Constraints {
			if col := jsonValidColumn(c.Tp == ast.ConstraintCheck, c.Expr); col != "" && isLongText(n.Cols, col) {
				checked[col] = true
				continue
			}
			kept = append(kept, c)
		}
		n.Constraints = kept
		for _, c := range n.Cols {
			columnToJSON(c, checked[c.Name.Name.L])
		}
	case *ast.AlterTableStmt:
		for _, spec := range n.Specs {
			for _, c := range spec.NewColumns {
				columnToJSON(c, false)
			}
		}
	}
}

// columnToJSON makes c a JSON column when it is LONGTEXT with a json_valid check (its own, or
// the table's when tableChecked).
func columnToJSON(c *ast.ColumnDef, tableChecked bool) {
	if c.Tp == nil || c.Tp.GetType() != mysql.TypeLongBlob || !IsTextType(c.Tp) {
		return
	}
	own := false
	for _, o := range c.Options {
		own = own || jsonValidColumn(o.Tp == ast.ColumnOptionCheck, o.Expr) == c.Name.Name.L
	}
	if !own && !tableChecked {
		return
	}
	kept := c.Options[:0]
	for _, o := range c.Options {
		isCheck := jsonValidColumn(o.Tp == ast.ColumnOptionCheck, o.Expr) == c.Name.Name.L
		if !isCheck && o.Tp != ast.ColumnOptionCollate {
			kept = append(kept, o)
		}
	}
	c.Options = kept
	c.Tp = types.NewFieldType(mysql.TypeJSON)
}

// jsonValidColumn returns the lower-cased column of a CHECK (json_valid(`col`)), "" otherwise.
func jsonValidColumn(isCheck bool, e ast.ExprNode) string {
	if !isCheck {
		return ""
	}
	f, ok := e.(*ast.FuncCallExpr)
	if !ok || !strings.EqualFold(f.FnName.L, "json_valid") || len(f.Args) != 1 {
		return ""
	}
	col, ok := f.Args[0].(*ast.ColumnNameExpr)
	if !ok {
		return ""
	}
	return col.Name.Name.L
}

func isLongText(cols []*ast.ColumnDef, name string) bool {
	for _, c := range cols {
		if c.Name.Name.L == name {
			return c.Tp != nil && c.Tp.GetType() == mysql.TypeLongBlob && IsTextType(c.Tp)
		}
	}
	return false
}

// dropUnenforcedChecks removes the CHECK constraints declared NOT ENFORCED (MySQL), which a
// MariaDB target cannot express: enforcing them there would refuse rows the upstream took.
func dropUnenforcedChecks(node ast.StmtNode) {
	dropOpts := func(c *ast.ColumnDef) {
		kept := c.Options[:0]
		for _, o := range c.Options {
			if o.Tp != ast.ColumnOptionCheck || o.Enforced {
				kept = append(kept, o)
			}
		}
		c.Options = kept
	}
	switch n := node.(type) {
	case *ast.CreateTableStmt:
		kept := n.Constraints[:0]
		for _, c := range n.Constraints {
			if c.Tp != ast.ConstraintCheck || c.Enforced {
				kept = append(kept, c)
			}
		}
		n.Constraints = kept
		for _, c := range n.Cols {
			dropOpts(c)
		}
	case *ast.AlterTableStmt:
		for _, spec := range n.Specs {
			for _, c := range spec.NewColumns {
				dropOpts(c)
			}
		}
	}
}
