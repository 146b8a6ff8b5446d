package ddl

import (
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dm-oss/dm/binlog/upstream"
)

// withQuotedOptions is n, or a shallow copy of it whose ENGINE names that are not a known
// engine's, and whose AUTOEXTEND_SIZE, are in backticks. The parser takes ENGINE 'name' and
// ENGINE `name` (the same for AUTOEXTEND_SIZE) and keeps only the name, which its restore
// writes bare: ENGINE='My Engine' (which MariaDB takes with a warning when engine substitution
// is allowed) would come back as text no one parses, and AUTOEXTEND_SIZE='64' as a number the
// parser refuses there. A copy, not a change to n: the tracker restores one table's statement
// from several readers at once.
func withQuotedOptions(n ast.Node) ast.Node {
	switch n := n.(type) {
	case *ast.CreateTableStmt:
		if opts, ok := quotedOptions(n.Options); ok {
			c := *n
			c.Options = opts
			return &c
		}
	case *ast.AlterTableStmt:
		specs := slices.Clone(n.Specs)
		changed := false
		for i, spec := range specs {
			specs[i] = withQuotedOptions(spec).(*ast.AlterTableSpec)
			changed = changed || specs[i] != spec
		}
		if changed {
			c := *n
			c.Specs = specs
			return &c
		}
	case *ast.AlterTableSpec:
		if opts, ok := quotedOptions(n.Options); ok {
			c := *n
			c.Options = opts
			return &c
		}
	}
	return n
}

// quotedOptions is a copy of opts with the values that need it in backticks; false when none
// does.
func quotedOptions(opts []*ast.TableOption) ([]*ast.TableOption, bool) {
	var out []*ast.TableOption
	for i, o := range opts {
		bare := o.StrValue != "" && (o.Tp == ast.TableOptionAutoextendSize || o.Tp == ast.TableOptionEngine && !knownEngine(o.StrValue))
		if !bare {
			continue
		}
		if out == nil {
			out = slices.Clone(opts)
		}
		q := *o
		q.StrValue = upstream.QuoteName(o.StrValue)
		out[i] = &q
	}
	return out, out != nil
}

// knownEngine reports whether name is a storage engine of MariaDB, MySQL or TiDB, all of
// which are names the parser reads bare.
func knownEngine(name string) bool {
	switch strings.ToLower(name) {
	case "innodb", "myisam", "aria", "memory", "heap", "csv", "archive", "blackhole",
		"mrg_myisam", "merge", "federated", "federatedx", "connect", "rocksdb", "tokudb",
		"s3", "sequence", "spider", "oqgraph", "mroonga", "columnstore", "ndb", "ndbcluster",
		"tidb":
		return true
	}
	return false
}
