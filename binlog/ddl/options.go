package ddl

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dm-oss/dm/binlog/upstream"
)

// quoteBareOptions writes in backticks an ENGINE name that is not a known engine's, and an
// AUTOEXTEND_SIZE. The parser takes ENGINE 'name' and ENGINE `name` (the same for
// AUTOEXTEND_SIZE) and keeps only the name, which its restore writes bare: ENGINE='My Engine'
// (which MariaDB takes with a warning when engine substitution is allowed) would come back as
// text no one parses, and AUTOEXTEND_SIZE='64' as a number the parser refuses there.
func quoteBareOptions(node ast.StmtNode) {
	var opts []*ast.TableOption
	switch n := node.(type) {
	case *ast.CreateTableStmt:
		opts = n.Options
	case *ast.AlterTableStmt:
		for _, spec := range n.Specs {
			opts = append(opts, spec.Options...)
		}
	}
	for _, o := range opts {
		switch {
		case o.StrValue == "":
		case o.Tp == ast.TableOptionEngine && !knownEngine(o.StrValue),
			o.Tp == ast.TableOptionAutoextendSize:
			o.StrValue = upstream.QuoteName(o.StrValue)
		}
	}
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
