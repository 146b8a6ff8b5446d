package dmyaml

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/restapi"
)

// patternEntry is one entry of a block-allow list: the globs it stands for.
type patternEntry struct {
	text  string
	line  int
	globs []glob
}

// baList is one rule of block-allow-list.
type baList struct {
	name                   string
	line                   int
	doDBs, ignoreDBs       []patternEntry
	doTables, ignoreTables []tablePair
	ignoreDBsLine          int
	ignoreTablesLine       int
}

// pattern reads a name pattern of a DM file: "~expr" is a regular expression (block-allow
// lists only), anything else a wildcard pattern.
func pattern(r *reader, n *yaml.Node, key, text string, regexOK bool) []glob {
	if strings.HasPrefix(text, "~") {
		if !regexOK {
			r.fail(n, key, "regular expressions (~) are only accepted in block-allow-list")
			return nil
		}
		gs, err := regexGlobs(text[1:])
		if err != nil {
			r.fail(n, key, "%q: %v", text, err)
		}
		return gs
	}
	g, err := parseGlob(text)
	if err != nil {
		r.fail(n, key, "%q: %v", text, err)
		return nil
	}
	return []glob{g}
}

// patterns reads a list of schema patterns.
func patterns(m *mapping, key string) []patternEntry {
	v := m.value(key)
	if v == nil {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		m.r.fail(v, m.sub(key), "must be a list")
		return nil
	}
	var out []patternEntry
	for i, c := range v.Content {
		c = resolve(c)
		k := fmt.Sprintf("%s[%d]", m.sub(key), i)
		if c.Kind != yaml.ScalarNode || c.Value == "" {
			m.r.fail(c, k, "must be a non-empty pattern")
			continue
		}
		out = append(out, patternEntry{text: c.Value, line: c.Line, globs: pattern(m.r, c, k, c.Value, true)})
	}
	return out
}

// tablePatterns reads a list of {db-name, tbl-name} into the pairs they stand for.
func tablePatterns(m *mapping, key string) []tablePair {
	v := m.value(key)
	if v == nil {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		m.r.fail(v, m.sub(key), "must be a list")
		return nil
	}
	var out []tablePair
	for i, c := range v.Content {
		t := m.r.mapping(c, fmt.Sprintf("%s[%d]", m.sub(key), i))
		if t == nil {
			continue
		}
		var globs [2][]glob
		for j, k := range []string{"db-name", "tbl-name"} {
			s, ok := t.str(k)
			if !ok || s == "" {
				t.r.fail(resolve(c), t.sub(k), "is required")
				continue
			}
			globs[j] = pattern(t.r, t.keyNode(k), t.sub(k), s, true)
		}
		t.finish()
		for _, s := range globs[0] {
			for _, tb := range globs[1] {
				out = append(out, tablePair{s, tb})
			}
		}
	}
	return out
}

func readBAList(nm namedMapping) *baList {
	m := nm.m
	ba := &baList{name: nm.name, line: nm.line}
	ba.doDBs = patterns(m, "do-dbs")
	ba.ignoreDBs = patterns(m, "ignore-dbs")
	ba.doTables = tablePatterns(m, "do-tables")
	ba.ignoreTables = tablePatterns(m, "ignore-tables")
	ba.ignoreDBsLine, ba.ignoreTablesLine = lineOf(m.keyNode("ignore-dbs")), lineOf(m.keyNode("ignore-tables"))
	m.finish()
	return ba
}

// units are the tables a block-allow list migrates, as pairs, by DM's rules (tidb's
// pkg/util/filter): a table moves when its schema passes (in do-dbs if any, else not in
// ignore-dbs) and the table passes (in do-tables if any, else not in ignore-tables).
// Exclusions become the pairs of their complement. nil ba migrates everything.
func (ba *baList) units(r *reader, path string, alwaysExcluded func(glob) bool) ([]tablePair, error) {
	all := []tablePair{{starGlob, starGlob}}
	if ba == nil {
		return all, nil
	}
	schemas, tables := all, all
	var err error
	switch {
	case len(ba.doDBs) > 0:
		schemas = nil
		for _, e := range ba.doDBs {
			for _, g := range e.globs {
				schemas = append(schemas, tablePair{g, starGlob})
			}
		}
		if len(ba.ignoreDBs) > 0 {
			r.warnings = append(r.warnings, Warning{Line: ba.ignoreDBsLine, Key: path + "." + ba.name + ".ignore-dbs", Message: "has no effect while do-dbs is set (as in DM)"})
		}
	case len(ba.ignoreDBs) > 0:
		for _, e := range ba.ignoreDBs {
			for _, g := range e.globs {
				if alwaysExcluded(g) {
					continue // a system schema or the meta schema: never migrated anyway
				}
				if schemas, err = exclude(schemas, tablePair{g, starGlob}); err != nil {
					return nil, fmt.Errorf("ignore-dbs %q: %w", e.text, err)
				}
			}
		}
	}
	switch {
	case len(ba.doTables) > 0:
		tables = ba.doTables
		if len(ba.ignoreTables) > 0 {
			r.warnings = append(r.warnings, Warning{Line: ba.ignoreTablesLine, Key: path + "." + ba.name + ".ignore-tables", Message: "has no effect while do-tables is set (as in DM)"})
		}
	case len(ba.ignoreTables) > 0:
		for _, p := range ba.ignoreTables {
			if tables, err = exclude(tables, p); err != nil {
				return nil, fmt.Errorf("ignore-tables %s: %w", p, err)
			}
		}
	}
	return intersectSets(schemas, tables)
}

func exclude(set []tablePair, p tablePair) ([]tablePair, error) {
	not, err := p.complement()
	if err != nil {
		return nil, err
	}
	return intersectSets(set, not)
}

// route is one rule of routes.
type route struct {
	name        string
	pair        tablePair
	schemaLevel bool // no table-pattern: routes every table of the schema
	target      *restapi.TaskTableMigrateRuleTarget
	schema      *rules.Matcher
	table       *rules.Matcher
}

func readRoute(nm namedMapping) *route {
	m := nm.m
	rt := &route{name: nm.name}
	sp, _ := m.str("schema-pattern")
	tp, _ := m.str("table-pattern")
	if sp == "" {
		m.r.fail(m.node, m.path, "schema-pattern is required")
	}
	ts, _ := m.str("target-schema")
	tt, _ := m.str("target-table")
	for _, k := range []string{"extract-table", "extract-schema", "extract-source"} {
		m.refuse(k, "writing the source's names into target columns is not supported")
	}
	m.finish()
	rt.schemaLevel = tp == ""
	if tp == "" {
		tp = "*"
	}
	if sp == "" {
		return nil
	}
	sg := pattern(m.r, m.keyNode("schema-pattern"), m.sub("schema-pattern"), sp, false)
	tg := pattern(m.r, m.keyNode("table-pattern"), m.sub("table-pattern"), tp, false)
	if len(sg) != 1 || len(tg) != 1 {
		return nil
	}
	rt.pair = tablePair{sg[0], tg[0]}
	rt.schema, _ = rules.CompilePattern(sp, false)
	rt.table, _ = rules.CompilePattern(tp, false)
	if ts != "" || tt != "" {
		rt.target = &restapi.TaskTableMigrateRuleTarget{Schema: ts, Table: tt}
	}
	return rt
}

// filterRule is one rule of filters, as the API's Ignore-only rule with the tables it covers.
type filterRule struct {
	name  string // the API filter's: see filterNames
	file  string // the name in the file
	scope tablePair
	api   restapi.TaskBinLogFilterRule
}

func readFilter(nm namedMapping) *filterRule {
	m := nm.m
	f := &filterRule{name: nm.name, file: nm.name}
	sp, _ := m.str("schema-pattern")
	tp, _ := m.str("table-pattern")
	events, _ := m.list("events")
	sqls, _ := m.list("sql-pattern")
	action, _ := m.str("action")
	m.finish()
	if sp == "" {
		m.r.fail(m.node, m.path, "schema-pattern is required")
		return nil
	}
	if tp == "" {
		tp = "*"
	}
	sg := pattern(m.r, m.keyNode("schema-pattern"), m.sub("schema-pattern"), sp, false)
	tg := pattern(m.r, m.keyNode("table-pattern"), m.sub("table-pattern"), tp, false)
	kinds := eventKinds(m, events)
	for _, s := range sqls {
		if _, err := regexp.Compile(s); err != nil || strings.TrimSpace(s) == "" {
			m.r.fail(m.keyNode("sql-pattern"), m.sub("sql-pattern"), "%q is not a usable regular expression", s)
		}
	}
	ignore, ok := filterAction(m, action, kinds, sqls)
	if len(sg) != 1 || len(tg) != 1 || !ok {
		return nil
	}
	f.scope = tablePair{sg[0], tg[0]}
	f.api = ignore
	return f
}

func eventKinds(m *mapping, events []string) []rules.EventKind {
	var kinds []rules.EventKind
	for _, e := range events {
		k, err := rules.ParseEventKind(e)
		if err != nil {
			m.r.fail(m.keyNode("events"), m.sub("events"), "event %q is not supported (the supported ones: all, all dml, all ddl, none, none dml, none ddl, insert, update, delete, create/drop database, create/drop/truncate/rename/alter table, create/drop index, create/drop view)", e)
			continue
		}
		kinds = append(kinds, k)
	}
	return kinds
}

// filterAction turns DM's action into the API's ignore lists. Ignore keeps them; Do keeps only
// the listed events, so it ignores the others: that is exact when its DDL part is none or all
// of the DDL kinds, and without sql-pattern.
func filterAction(m *mapping, action string, kinds []rules.EventKind, sqls []string) (restapi.TaskBinLogFilterRule, bool) {
	var out restapi.TaskBinLogFilterRule
	switch strings.ToLower(action) {
	case "ignore":
		if len(kinds) > 0 {
			ev := make([]string, len(kinds))
			for i, k := range kinds {
				ev[i] = string(k)
			}
			out.IgnoreEvent = &ev
		}
		if len(sqls) > 0 {
			out.IgnoreSql = &sqls
		}
		return out, true
	case "do":
		if len(sqls) > 0 {
			m.r.fail(m.keyNode("sql-pattern"), m.sub("sql-pattern"), "with action Do (replicate only the matching statements) is not supported: only statements to ignore can be given")
			return out, false
		}
		ev, ok := complementEvents(kinds)
		if !ok {
			m.r.fail(m.keyNode("events"), m.sub("events"), "with action Do, DDL events must be all of them (all ddl) or none: a subset of DDL kinds cannot be kept exactly")
			return out, false
		}
		if len(ev) > 0 {
			out.IgnoreEvent = &ev
		}
		return out, true
	}
	m.r.fail(m.keyNode("action"), m.sub("action"), "must be Do or Ignore, not %q", action)
	return out, false
}

// complementEvents is the ignore list that keeps exactly the given events.
func complementEvents(kinds []rules.EventKind) ([]string, bool) {
	dml := map[rules.EventKind]bool{}
	allDML, allDDL, someDDL := false, false, false
	for _, k := range kinds {
		switch k {
		case rules.EventAll:
			return nil, true
		case rules.EventAllDML:
			allDML = true
		case rules.EventAllDDL:
			allDDL = true
		case rules.EventInsert, rules.EventUpdate, rules.EventDelete:
			dml[k] = true
		case rules.EventNone, rules.EventNoneDML, rules.EventNoneDDL:
		default:
			someDDL = true
		}
	}
	if someDDL && !allDDL {
		return nil, false
	}
	var out []string
	if !allDML {
		for _, k := range []rules.EventKind{rules.EventInsert, rules.EventUpdate, rules.EventDelete} {
			if !dml[k] {
				out = append(out, string(k))
			}
		}
	}
	if !allDDL {
		out = append(out, string(rules.EventAllDDL))
	}
	return out, true
}

// filterNames names the task's binlog_filter_rule entries. DM filters that ignore the same
// events and statements are one API filter, under the name of the first one read: a DM filter
// has one pattern, so TaskYAML writes an API filter naming tables no one pattern covers as
// several DM filters, and those read back as the one filter they were written from.
type filterNames struct {
	seen []*filterRule // the first filter read with each definition
	used map[string]restapi.TaskBinLogFilterRule
}

// name gives each filter the name of the first one read that does the same.
func (n *filterNames) name(fs []*filterRule) []*filterRule {
	out := make([]*filterRule, 0, len(fs))
	for _, f := range fs {
		i := slices.IndexFunc(n.seen, func(s *filterRule) bool { return reflect.DeepEqual(s.api, f.api) })
		if i < 0 {
			n.seen = append(n.seen, f)
			out = append(out, f)
			continue
		}
		named := *f
		named.name = n.seen[i].name
		out = append(out, &named)
	}
	return out
}

// use adds the filters the rules name to the task's, and returns the names of the filters of
// fs no rule names: they match no table the entry migrates.
func (n *filterNames) use(fs []*filterRule, gen []genRule) []string {
	var unused []string
	for _, f := range fs {
		named := slices.ContainsFunc(gen, func(g genRule) bool { return slices.Contains(g.filters, f.name) })
		if !named {
			unused = append(unused, f.file)
			continue
		}
		n.used[f.name] = f.api
	}
	return unused
}

// genRule is a table_migrate_rule being built for one source.
type genRule struct {
	pair    tablePair
	target  *restapi.TaskTableMigrateRuleTarget
	filters []string
}

// migrateRules combines an instance's block-allow list units, routes and filters into
// table_migrate_rules (see the package doc for why this is exact).
func migrateRules(units []tablePair, routes []*route, filters []*filterRule) ([]genRule, error) {
	var out []genRule
	ordered := make([]*route, 0, len(routes))
	for _, level := range []bool{false, true} {
		for _, rt := range routes {
			if rt.schemaLevel == level {
				ordered = append(ordered, rt)
			}
		}
	}
	for _, rt := range ordered {
		for _, u := range units {
			p, ok, err := u.intersect(rt.pair)
			if err != nil {
				return nil, fmt.Errorf("route %q: %w", rt.name, err)
			}
			if ok {
				out = append(out, genRule{pair: p, target: rt.target})
			}
		}
	}
	out = singleTablesFirst(out)
	for _, u := range units {
		out = append(out, genRule{pair: u})
	}
	for _, f := range filters {
		var err error
		if out, err = attachFilter(out, f); err != nil {
			return nil, fmt.Errorf("filter %q: %w", f.file, err)
		}
	}
	for i := range out {
		if s, t, ok := out[i].pair.exact(); ok {
			out[i].target = dmRoute(ordered, s, t)
		}
	}
	return dropShadowed(out)
}

// dropShadowed drops a rule that an earlier one makes useless: the earlier one matches all its
// tables first with all its filters. A single-table rule wins over any wildcard one wherever it
// stands, so only an earlier rule for the same single table makes it useless.
func dropShadowed(in []genRule) ([]genRule, error) {
	var out []genRule
	for _, g := range in {
		useless := false
		_, _, exact := g.pair.exact()
		for _, o := range out {
			if _, _, oExact := o.pair.exact(); exact && !oExact {
				continue
			}
			in, err := o.pair.contains(g.pair)
			if err != nil {
				return nil, err
			}
			if in && subset(g.filters, o.filters) {
				useless = true
				break
			}
		}
		if !useless {
			out = append(out, g)
		}
	}
	return out, nil
}

// singleTablesFirst moves the routed single-table rules ahead of the routed wildcard ones,
// keeping the order within each. That changes nothing (a single-table rule wins wherever it
// stands) and is the order TaskYAML writes routes in, so a task read from a file it wrote is
// the same task, rule for rule.
func singleTablesFirst(in []genRule) []genRule {
	out := make([]genRule, 0, len(in))
	for _, exactFirst := range []bool{true, false} {
		for _, g := range in {
			if _, _, exact := g.pair.exact(); exact == exactFirst {
				out = append(out, g)
			}
		}
	}
	return out
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// attachFilter names f on the rules its tables contain, and splits off the part of a rule
// they only overlap (placed just before it, with its target, so routing does not change).
func attachFilter(in []genRule, f *filterRule) ([]genRule, error) {
	var out []genRule
	for _, g := range in {
		if slices.Contains(g.filters, f.name) {
			out = append(out, g) // a filter doing the same already applies
			continue
		}
		inside, err := f.scope.contains(g.pair)
		if err != nil {
			return nil, err
		}
		if inside {
			g.filters = append(slices.Clone(g.filters), f.name)
			out = append(out, g)
			continue
		}
		p, ok, err := g.pair.intersect(f.scope)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, genRule{pair: p, target: g.target, filters: append(slices.Clone(g.filters), f.name)})
		}
		out = append(out, g)
	}
	return out, nil
}

// dmRoute is where DM routes one table: the first table-level route matching it, else the
// first schema-level one, else nowhere (nil keeps the names). ordered has the table-level
// routes first.
func dmRoute(ordered []*route, schema, table string) *restapi.TaskTableMigrateRuleTarget {
	for _, rt := range ordered {
		if rt.schema.Match(schema) && (rt.schemaLevel || rt.table.Match(table)) {
			return rt.target
		}
	}
	return nil
}
