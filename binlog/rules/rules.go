package rules

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
)

// ErrBadTarget is wrapped by the errors for target names containing wildcards.
var ErrBadTarget = errors.New("bad target name")

// TableRef names a table (Table is "" for a schema).
type TableRef struct{ Schema, Table string }

// String quotes the names as MySQL does: "`schema`.`table`", backticks inside names doubled;
// "`schema`" alone when Table is "".
func (t TableRef) String() string {
	if t.Table == "" {
		return quote(t.Schema)
	}
	return quote(t.Schema) + "." + quote(t.Table)
}

func quote(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// less orders by schema, then table.
func (t TableRef) less(o TableRef) bool {
	if t.Schema != o.Schema {
		return t.Schema < o.Schema
	}
	return t.Table < o.Table
}

// MigrateRule is one table_migrate_rule entry of a task for one source.
type MigrateRule struct {
	// SchemaPattern (required) and TablePattern ("" = every table, same as "*"): see the
	// package doc for the wildcard syntax.
	SchemaPattern, TablePattern string
	// TargetSchema / TargetTable: "" keeps the source name. TargetTable "" with TargetSchema set
	// routes the schema and keeps the table name; TargetSchema "" with TargetTable set keeps the
	// schema and renames the table.
	TargetSchema, TargetTable string
	// FilterRules names the binlog_filter_rules that apply to the tables this rule matches.
	FilterRules []string
}

type compiledRule struct {
	schema, table *Matcher
	exact         bool // both patterns are literal
	targetSchema  string
	targetTable   string
	filters       []*compiledFilter
}

func (c *compiledRule) matchSchema(schema string) bool { return c.schema.Match(schema) }

func (c *compiledRule) match(schema, table string) bool {
	return c.schema.Match(schema) && c.table.Match(table)
}

func (c *compiledRule) route(schema, table string) TableRef {
	t := TableRef{Schema: schema, Table: table}
	if c.targetSchema != "" {
		t.Schema = c.targetSchema
	}
	if c.targetTable != "" {
		t.Table = c.targetTable
	}
	return t
}

// Rules is the compiled set of table_migrate_rules and binlog_filter_rules of one task for
// one source. It is immutable after New except for Exclude, and safe for concurrent use.
type Rules struct {
	rules         []*compiledRule
	caseSensitive bool
	excluded      atomic.Pointer[map[string]bool] // keys folded by fold()
}

// systemSchemas are never migrated.
var systemSchemas = map[string]bool{
	"mysql": true, "information_schema": true, "performance_schema": true, "sys": true,
}

// IsSystemSchema reports whether schema is one of MySQL's system schemas (case-insensitive).
func IsSystemSchema(schema string) bool { return systemSchemas[strings.ToLower(schema)] }

// New validates and compiles the rules of one source. Errors name the offending rule (by
// index and patterns) or filter, and wrap ErrBadPattern, ErrBadTarget, ErrUnknownEvent,
// ErrBadSQLPattern or ErrUnknownFilter. Every filter is validated, referenced or not.
func New(migrate []MigrateRule, filters map[string]Filter, caseSensitive bool) (*Rules, error) {
	names := make([]string, 0, len(filters))
	for name := range filters {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic first error
	compiled := make(map[string]*compiledFilter, len(filters))
	for _, name := range names {
		cf, err := compileFilter(name, filters[name])
		if err != nil {
			return nil, err
		}
		compiled[name] = cf
	}

	r := &Rules{caseSensitive: caseSensitive}
	for i, m := range migrate {
		where := fmt.Sprintf("table_migrate_rule #%d (%s)", i, TableRef{m.SchemaPattern, m.TablePattern})
		if m.SchemaPattern == "" {
			return nil, fmt.Errorf("%s: %w: empty schema pattern", where, ErrBadPattern)
		}
		tp := m.TablePattern
		if tp == "" {
			tp = "*"
		}
		sm, err := CompilePattern(m.SchemaPattern, caseSensitive)
		if err != nil {
			return nil, fmt.Errorf("%s: schema: %w", where, err)
		}
		tm, err := CompilePattern(tp, caseSensitive)
		if err != nil {
			return nil, fmt.Errorf("%s: table: %w", where, err)
		}
		for _, tgt := range []string{m.TargetSchema, m.TargetTable} {
			if HasWildcard(tgt) {
				return nil, fmt.Errorf("%s: %w %q: target names cannot contain wildcards", where, ErrBadTarget, tgt)
			}
		}
		cr := &compiledRule{
			schema:       sm,
			table:        tm,
			exact:        sm.Literal() && tm.Literal(),
			targetSchema: m.TargetSchema,
			targetTable:  m.TargetTable,
		}
		seen := map[string]bool{}
		for _, fn := range m.FilterRules {
			cf, ok := compiled[fn]
			if !ok {
				return nil, fmt.Errorf("%s: %w %q", where, ErrUnknownFilter, fn)
			}
			if !seen[fn] {
				seen[fn] = true
				cr.filters = append(cr.filters, cf)
			}
		}
		r.rules = append(r.rules, cr)
	}
	empty := map[string]bool{}
	r.excluded.Store(&empty)
	return r, nil
}

// CaseSensitive reports how names are compared.
func (r *Rules) CaseSensitive() bool { return r.caseSensitive }

func (r *Rules) fold(s string) string {
	if r.caseSensitive {
		return s
	}
	return strings.ToLower(s)
}

// Exclude removes schema from Match, MatchSchema, Route and Targets results, e.g. DM's own
// meta schema ("dm_meta"). Safe to call concurrently with the other methods.
func (r *Rules) Exclude(schema string) {
	key := r.fold(schema)
	for {
		old := r.excluded.Load()
		if (*old)[key] {
			return
		}
		next := make(map[string]bool, len(*old)+1)
		for k := range *old {
			next[k] = true
		}
		next[key] = true
		if r.excluded.CompareAndSwap(old, &next) {
			return
		}
	}
}

// blocked: system or excluded schema, never migrated.
func (r *Rules) blocked(schema string) bool {
	return IsSystemSchema(schema) || (*r.excluded.Load())[r.fold(schema)]
}

// Match reports whether the table is migrated: some rule matches it (the block-allow list) and
// its schema is neither a system schema nor excluded. Match(schema, "") is MatchSchema(schema).
func (r *Rules) Match(schema, table string) bool {
	if table == "" {
		return r.MatchSchema(schema)
	}
	if r.blocked(schema) {
		return false
	}
	for _, c := range r.rules {
		if c.match(schema, table) {
			return true
		}
	}
	return false
}

// MatchSchema reports whether some table of the schema could be migrated: some rule's schema
// pattern matches it, and it is neither a system schema nor excluded. Used for CREATE/DROP
// DATABASE and to pick the schemas to dump.
func (r *Rules) MatchSchema(schema string) bool {
	if r.blocked(schema) {
		return false
	}
	for _, c := range r.rules {
		if c.matchSchema(schema) {
			return true
		}
	}
	return false
}

// Route returns the target of a migrated table. Precedence: a rule whose schema and table
// patterns are both wildcard-free wins over any rule with a wildcard; otherwise (or between
// several exact rules) the first matching rule in the list wins. A rule without a target routes
// to the source name, and so takes part in the precedence like any other. Tables that Match
// rejects route to themselves. Route(schema, "") is {RouteSchema(schema), ""}.
func (r *Rules) Route(schema, table string) TableRef {
	if table == "" {
		return TableRef{Schema: r.RouteSchema(schema)}
	}
	if r.blocked(schema) {
		return TableRef{Schema: schema, Table: table}
	}
	var first *compiledRule
	for _, c := range r.rules {
		if !c.match(schema, table) {
			continue
		}
		if c.exact {
			return c.route(schema, table)
		}
		if first == nil {
			first = c
		}
	}
	if first == nil {
		return TableRef{Schema: schema, Table: table}
	}
	return first.route(schema, table)
}

// RouteSchema returns the target schema of a schema-level DDL (CREATE/DROP DATABASE): the
// target schema of the first rule whose schema pattern matches, else the schema itself (also
// for a blocked schema, or when that rule keeps the schema name).
func (r *Rules) RouteSchema(schema string) string {
	if r.blocked(schema) {
		return schema
	}
	for _, c := range r.rules {
		if c.matchSchema(schema) {
			if c.targetSchema != "" {
				return c.targetSchema
			}
			return schema
		}
	}
	return schema
}

// SkipDML reports whether a row event of kind (insert/update/delete) on the table is ignored by
// the filters of any rule matching the table. ignore_sql never applies to row events. It does
// not consult Match: a table no rule matches has no filters, so false.
func (r *Rules) SkipDML(schema, table string, kind EventKind) bool {
	kind = normalizeEvent(string(kind))
	for _, c := range r.rules {
		if len(c.filters) == 0 || !c.match(schema, table) {
			continue
		}
		for _, f := range c.filters {
			if f.skip(false, kind, "") {
				return true
			}
		}
	}
	return false
}

// SkipDDL reports whether a DDL is ignored by the filters of any rule matching the table:
// either its kind matches the filter's ignore_event list, or the filter's ignore_sql regexps
// (joined with |, case-insensitive, unanchored) find a match in one of sqls (the statement as
// written and as the parser restores it: a pattern written against either form matches). Any
// kind is accepted; one outside the vocabulary (or "") can still be caught by `all`, `all ddl` or ignore_sql. For a
// schema-level DDL pass table "": then the filters of every rule whose schema pattern matches
// apply, whatever its table pattern.
func (r *Rules) SkipDDL(schema, table string, kind EventKind, sqls ...string) bool {
	kind = normalizeEvent(string(kind))
	for _, c := range r.rules {
		if len(c.filters) == 0 {
			continue
		}
		if table == "" {
			if !c.matchSchema(schema) {
				continue
			}
		} else if !c.match(schema, table) {
			continue
		}
		for _, f := range c.filters {
			if f.skip(true, kind, "") {
				return true
			}
			for _, sql := range sqls {
				if f.skip(true, kind, sql) {
					return true
				}
			}
		}
	}
	return false
}

// Targets groups source tables by the target they route to: for each migrated table (Match;
// entries with an empty Table are skipped) its Route, mapped to the sorted, deduplicated
// sources. A target with several sources is a shard-merge group.
func (r *Rules) Targets(tables []TableRef) map[TableRef][]TableRef {
	out := map[TableRef][]TableRef{}
	for _, t := range tables {
		if t.Table == "" || !r.Match(t.Schema, t.Table) {
			continue
		}
		tgt := r.Route(t.Schema, t.Table)
		out[tgt] = append(out[tgt], t)
	}
	for k, srcs := range out {
		sort.Slice(srcs, func(i, j int) bool { return srcs[i].less(srcs[j]) })
		dedup := srcs[:0]
		for _, s := range srcs {
			if len(dedup) == 0 || s != dedup[len(dedup)-1] {
				dedup = append(dedup, s)
			}
		}
		out[k] = dedup
	}
	return out
}
