package syncer

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dm-oss/dm/binlog/ddl"
)

// optimisticPlan turns a shard's DDL (routed to target as stmt) into the statements that bring
// the merged table to a schema every shard's rows fit, or fails when the change cannot be
// merged. An empty plan means the merged table already has it (or keeps what it drops).
func (sh *shardMerge) optimisticPlan(src, target, stmt string) ([]string, error) {
	node := ddl.Parse(stmt, "").Node()
	if node == nil {
		return nil, fmt.Errorf("optimistic shard mode: cannot analyse the DDL of shard %s (%s)", src, truncate(stmt, 200))
	}
	cols, idx, err := sh.targetShape(target)
	if err != nil {
		return nil, err
	}
	conflict := func(format string, args ...any) error {
		return fmt.Errorf("optimistic shard mode: shard %s of source %q: "+format, append([]any{src, sh.s.cfg.Source}, args...)...)
	}
	var plan []string
	var claims []ColumnClaim
	addIndex := func(name string, keys []*ast.IndexPartSpecification, text string) {
		if name == "" && len(keys) > 0 && keys[0].Column != nil {
			name = keys[0].Column.Name.O // MySQL names an unnamed index after its first column
		}
		if idx[strings.ToLower(name)] {
			sh.s.log.Info("optimistic shard mode: the merged table already has the index", "shard", src, "target", target, "index", name)
			return
		}
		idx[strings.ToLower(name)] = true
		plan = append(plan, text)
	}
	switch n := node.(type) {
	case *ast.CreateIndexStmt:
		addIndex(n.IndexName, n.IndexPartSpecifications, stmt)
	case *ast.DropIndexStmt:
		sh.s.log.Info("optimistic shard mode: DROP INDEX not applied to the merged table (other shards may rely on it)", "shard", src, "target", target)
	case *ast.AlterTableStmt:
		// Columns are claimed first: when two shards add one column differently, the
		// Coordinator's error names both of them.
		for _, spec := range n.Specs {
			if spec.Tp != ast.AlterTableAddColumns {
				continue
			}
			for _, c := range spec.NewColumns {
				if notNullNoDefault(c) {
					return nil, conflict("adds column `%s` NOT NULL without a DEFAULT to the merged table %s: the other shards' rows have no value for it; add it with a DEFAULT or NULL", c.Name.Name.O, target)
				}
				claims = append(claims, ColumnClaim{Name: c.Name.Name.O, Def: normType(c.Tp.InfoSchemaStr())})
			}
		}
		if len(claims) > 0 {
			if sh.s.cfg.Coordinator == nil {
				return nil, fmt.Errorf("optimistic shard mode needs a Coordinator")
			}
			if err := sh.s.cfg.Coordinator.ClaimColumns(sh.parent, target, src, claims); err != nil {
				return nil, fmt.Errorf("optimistic shard mode: %w", err)
			}
		}
		for _, spec := range n.Specs {
			specText, err := ddl.Restore(spec)
			if err != nil {
				return nil, conflict("cannot restore %s: %v", truncate(stmt, 200), err)
			}
			alter := "ALTER TABLE " + target + " " + specText
			switch spec.Tp {
			case ast.AlterTableAddColumns:
				for _, c := range spec.NewColumns {
					name := c.Name.Name.O
					def := normType(c.Tp.InfoSchemaStr())
					if have, ok := cols[strings.ToLower(name)]; ok {
						if normType(have) != def {
							return nil, conflict("adds column `%s` %s, but the merged table %s has it as %s", name, def, target, have)
						}
						continue
					}
					cols[strings.ToLower(name)] = def
					plan = append(plan, alter)
				}
			case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
				c := spec.NewColumns[0]
				name := c.Name.Name.O
				if spec.OldColumnName != nil && !strings.EqualFold(spec.OldColumnName.Name.O, name) {
					return nil, conflict("renames column `%s` to `%s`; a merged table cannot follow a rename on one shard (use pessimistic mode, or rename on every shard by hand)", spec.OldColumnName.Name.O, name)
				}
				have, ok := cols[strings.ToLower(name)]
				if !ok {
					return nil, conflict("changes column `%s`, which the merged table %s does not have", name, target)
				}
				want := c.Tp.InfoSchemaStr()
				switch cmp, comparable := compareTypes(have, want); {
				case !comparable:
					return nil, conflict("changes column `%s` to %s, which is not compatible with %s in the merged table %s (kept by the other shards)", name, want, have, target)
				case cmp < 0:
					cols[strings.ToLower(name)] = want
					plan = append(plan, alter)
				default:
					sh.s.log.Info("optimistic shard mode: the merged column is already as wide; DDL not applied", "shard", src, "target", target, "column", name, "merged", have, "shard_type", want)
				}
			case ast.AlterTableAddConstraint:
				switch spec.Constraint.Tp {
				case ast.ConstraintIndex, ast.ConstraintKey, ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex, ast.ConstraintFulltext:
					addIndex(spec.Constraint.Name, spec.Constraint.Keys, alter)
				default:
					return nil, conflict("%s cannot be merged in optimistic mode", specText)
				}
			case ast.AlterTableDropColumn, ast.AlterTableDropIndex:
				sh.s.log.Info("optimistic shard mode: not applied to the merged table (the other shards may still write it)", "shard", src, "target", target, "change", specText)
			default:
				return nil, conflict("%s cannot be merged in optimistic mode; apply it to %s by hand, or use pessimistic mode", specText, target)
			}
		}
	default:
		return nil, conflict("%s cannot be merged in optimistic mode", truncate(stmt, 200))
	}
	return plan, nil
}

// lockTarget takes a named lock (GET_LOCK) for the merged table on the control connection, so
// that the sources of the task change it one at a time. The lock goes with the session: if
// the connection is lost meanwhile, so is the lock, and only then can two sources race (a
// duplicate column or index of the same definition is then reported as already there).
func (sh *shardMerge) lockTarget(target string) (func(), error) {
	name := fmt.Sprintf("dm-shard-%x", fnvString(sh.s.cfg.Task+"\x00"+target))
	var got sql.NullInt64
	err := sh.ctl.do(sh.ctx, "shard lock", func(ctl *sql.Conn) error {
		return ctl.QueryRowContext(sh.ctx, "SELECT GET_LOCK(?, 300)", name).Scan(&got)
	})
	if err != nil {
		return nil, fmt.Errorf("optimistic shard mode: lock the merged table %s: %w", target, err)
	}
	if got.Int64 != 1 {
		return nil, fmt.Errorf("optimistic shard mode: another source held the lock on the merged table %s for 5 minutes", target)
	}
	held := sh.ctl.conn // the lock is this session's
	return func() {
		if held == sh.ctl.conn {
			held.ExecContext(context.WithoutCancel(sh.ctx), "DO RELEASE_LOCK(?)", name)
		}
	}, nil
}

func fnvString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// targetShape reads the merged table's columns (name → COLUMN_TYPE) and index names.
func (sh *shardMerge) targetShape(target string) (map[string]string, map[string]bool, error) {
	sch, tbl, ok := splitQuoted(target)
	if !ok {
		return nil, nil, fmt.Errorf("optimistic shard mode: bad target name %s", target)
	}
	cols, idx := map[string]string{}, map[string]bool{}
	err := sh.ctl.do(sh.ctx, "shard schema", func(ctl *sql.Conn) error {
		clear(cols)
		clear(idx)
		rows, err := ctl.QueryContext(sh.ctx, "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", sch, tbl)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n, t string
			if err := rows.Scan(&n, &t); err != nil {
				rows.Close()
				return err
			}
			cols[strings.ToLower(n)] = t
		}
		if err := rows.Close(); err != nil {
			return err
		}
		rows, err = ctl.QueryContext(sh.ctx, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", sch, tbl)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			idx[strings.ToLower(n)] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, fmt.Errorf("optimistic shard mode: read the merged table %s: %w", target, err)
	}
	return cols, idx, nil
}

// splitQuoted splits "`a`.`b`" (as tableKey writes it).
func splitQuoted(q string) (string, string, bool) {
	i := strings.Index(q, "`.`")
	if !strings.HasPrefix(q, "`") || !strings.HasSuffix(q, "`") || i < 0 {
		return "", "", false
	}
	un := func(s string) string { return strings.ReplaceAll(s, "``", "`") }
	return un(q[1:i]), un(q[i+3 : len(q)-1]), true
}

func notNullNoDefault(c *ast.ColumnDef) bool {
	notNull, hasDefault := false, false
	for _, o := range c.Options {
		switch o.Tp {
		case ast.ColumnOptionNotNull, ast.ColumnOptionPrimaryKey:
			notNull = true
		case ast.ColumnOptionNull:
			notNull = false
		case ast.ColumnOptionDefaultValue, ast.ColumnOptionAutoIncrement, ast.ColumnOptionGenerated:
			hasDefault = true
		}
	}
	return notNull && !hasDefault
}

// typeShape is a column type reduced to what widening compares: a family, a size (or
// precision) and a scale.
type typeShape struct {
	family      string
	size, scale int
	unsigned    bool
}

var intSizes = map[string]int{"tinyint": 1, "smallint": 2, "mediumint": 3, "int": 4, "integer": 4, "bigint": 8}
var textSizes = map[string]int{"tinytext": 255, "text": 65535, "mediumtext": 16777215, "longtext": 1<<32 - 1,
	"tinyblob": 255, "blob": 65535, "mediumblob": 16777215, "longblob": 1<<32 - 1}

// shapeOf reads COLUMN_TYPE-like text: "int(11) unsigned", "varchar(20)", "decimal(10,2)".
func shapeOf(t string) (typeShape, bool) {
	t = strings.ToLower(strings.TrimSpace(t))
	unsigned := strings.Contains(t, "unsigned")
	base, args := t, ""
	if i := strings.IndexByte(t, '('); i >= 0 {
		base = t[:i]
		if j := strings.IndexByte(t[i:], ')'); j > 0 {
			args = t[i+1 : i+j]
		}
	} else if i := strings.IndexByte(t, ' '); i >= 0 {
		base = t[:i]
	}
	nums := strings.Split(args, ",")
	num := func(i int) int {
		if i >= len(nums) {
			return 0
		}
		n, _ := strconv.Atoi(strings.TrimSpace(nums[i]))
		return n
	}
	switch {
	case intSizes[base] > 0:
		return typeShape{family: "int", size: intSizes[base], unsigned: unsigned}, true
	case base == "varchar" || base == "char":
		return typeShape{family: "string", size: num(0)}, true
	case base == "varbinary" || base == "binary":
		return typeShape{family: "binary", size: num(0)}, true
	case strings.HasSuffix(base, "text"):
		return typeShape{family: "string", size: textSizes[base]}, textSizes[base] > 0
	case strings.HasSuffix(base, "blob"):
		return typeShape{family: "binary", size: textSizes[base]}, textSizes[base] > 0
	case base == "decimal" || base == "numeric":
		return typeShape{family: "decimal", size: num(0), scale: num(1), unsigned: unsigned}, true
	case base == "float":
		return typeShape{family: "float", size: 4}, true
	case base == "double" || base == "real":
		return typeShape{family: "float", size: 8}, true
	}
	return typeShape{family: base + "(" + args + ")"}, true
}

// normType is the form two shards' column types are compared in: integer display widths
// and letter case do not count.
func normType(t string) string {
	sh, _ := shapeOf(t)
	if sh.family == "int" {
		for name, n := range intSizes {
			if n == sh.size && name != "integer" {
				if sh.unsigned {
					return name + " unsigned"
				}
				return name
			}
		}
	}
	return strings.ToLower(strings.TrimSpace(t))
}

// compareTypes orders two column types by what they hold: -1 when want is wider than have,
// 0 when the same, 1 when narrower; comparable is false across families (or signedness).
func compareTypes(have, want string) (cmp int, comparable bool) {
	a, okA := shapeOf(have)
	b, okB := shapeOf(want)
	if !okA || !okB || a.family != b.family || a.unsigned != b.unsigned {
		return 0, normType(have) == normType(want)
	}
	if a.family == "decimal" {
		switch {
		case a.size == b.size && a.scale == b.scale:
			return 0, true
		case b.scale >= a.scale && b.size-b.scale >= a.size-a.scale:
			return -1, true
		case a.scale >= b.scale && a.size-a.scale >= b.size-b.scale:
			return 1, true
		}
		return 0, false
	}
	switch {
	case a.size < b.size:
		return -1, true
	case a.size > b.size:
		return 1, true
	}
	return 0, true
}
