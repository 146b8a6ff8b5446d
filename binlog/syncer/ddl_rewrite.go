package syncer

import (
	"context"
	"errors"
	"fmt"

	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
)

// ddlRewriter decides which upstream DDL reaches the target and in what form: the
// block-allow list and binlog filters (ignore_sql matches the statement as written and as the
// parser restores it), then the DDL layer's rendering for the target — routed, always
// schema-qualified names, IF [NOT] EXISTS on CREATE/DROP and, with collation_compatible
// strict, the character sets and collations the upstream resolved. The plain DDL path, online
// DDL and shard merging all go through it.
type ddlRewriter struct {
	match func(schema, table string) bool
	rules *rules.Rules // nil: every table as is
	base  ddl.Render
}

func newDDLRewriter(s *Syncer, flavor string, charsets ddl.Charsets) *ddlRewriter {
	w := &ddlRewriter{match: s.match, rules: s.cfg.Rules,
		base: ddl.Render{Flavor: flavor, Collation: s.cfg.Collation, Charsets: charsets, IfExists: true}}
	if rl := s.cfg.Rules; rl != nil {
		w.base.RouteTable = func(n ddl.TableName) ddl.TableName {
			t := rl.Route(n.Schema, n.Table)
			return ddl.TableName{Schema: t.Schema, Table: t.Table}
		}
		w.base.RouteSchema = rl.RouteSchema
	}
	return w
}

// rewrite returns the target's statements for st; none means nothing to apply. keep, when
// not nil, narrows what the filters keep of a DROP TABLE or RENAME TABLE further.
func (w *ddlRewriter) rewrite(ctx context.Context, st *ddl.Statement, keep func(i int) bool) ([]string, error) {
	texts := []string{st.Text}
	if restored := st.Restored(); restored != "" {
		texts = append(texts, restored)
	}
	skip := func(schema, table string) bool {
		return !w.match(schema, table) || w.rules != nil && w.rules.SkipDDL(schema, table, st.Kind, texts...)
	}
	render := w.base
	if st.Database != "" {
		if skip(st.Database, "") {
			return nil, nil
		}
	} else {
		render.Keep = func(i int) bool {
			n := st.Tables[i]
			return !skip(n.Schema, n.Table) && (keep == nil || keep(i))
		}
		kept := 0
		for i := range st.Tables {
			if render.Keep(i) {
				kept++
			}
		}
		if kept == 0 {
			return nil, nil
		}
	}
	stmts, err := st.Render(ctx, render)
	if errors.Is(err, ddl.ErrNothingLeft) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("DDL %s: %w", truncate(st.Text, 200), err)
	}
	return stmts, nil
}

// createDatabaseFor renders CREATE DATABASE IF NOT EXISTS for the database of the table a
// CREATE TABLE (or RENAME TABLE) puts in place: routed, and with the upstream database's
// character set and collation in strict mode. "" for other statements.
func (w *ddlRewriter) createDatabaseFor(ctx context.Context, st *ddl.Statement) (string, error) {
	var db string
	switch st.Kind {
	case rules.EventCreateTable:
		db = st.Tables[0].Schema
	case rules.EventRenameTable:
		db = st.Others[0].Schema
	}
	if db == "" {
		return "", nil
	}
	stmts, err := ddl.Parse("CREATE DATABASE "+upstream.QuoteName(db), "").Render(ctx, w.base)
	if err != nil || len(stmts) != 1 {
		return "", err
	}
	return stmts[0], nil
}

// targetSchema is the routed schema a DDL's USE names ("" when the schema is not migrated).
func (w *ddlRewriter) targetSchema(schema string) string {
	if schema == "" || !w.match(schema, "") {
		return ""
	}
	if w.rules != nil {
		return w.rules.RouteSchema(schema)
	}
	return schema
}
