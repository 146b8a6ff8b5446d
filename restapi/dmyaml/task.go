package dmyaml

import (
	"fmt"
	"math"
	"strings"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/restapi"
)

// ParseTask reads a DM task.yaml into the API's task. Unknown keys are errors naming their
// line; keys DM has that do nothing here come back as warnings; keys whose loss would change
// which data moves are errors. See the package doc for the mapping.
func ParseTask(data []byte, opts Options) (restapi.Task, []Warning, error) {
	r := &reader{}
	root := r.document(data, "task file")
	if root == nil {
		return restapi.Task{}, r.warnings, r.err("task file")
	}
	t := readTask(root, opts)
	root.finish()
	if err := r.err("task file"); err != nil {
		return restapi.Task{}, r.warnings, err
	}
	return t, r.warnings, nil
}

func readTask(root *mapping, opts Options) restapi.Task {
	var t restapi.Task
	readGlobals(root, &t)
	t.TargetConfig = readTarget(root, opts)
	sets := readRuleSets(root)
	units := readUnitSets(root)
	readInstances(root, &t, sets, units)
	units.unused(root.r, root)
	sets.unused(root.r, root)
	ignoreGlobals(root)
	return t
}

func readGlobals(root *mapping, t *restapi.Task) {
	r := root.r
	t.Name, _ = root.str("name")
	if t.Name == "" {
		r.fail(root.keyNode("name"), "name", "is required")
	} else if !restapi.ValidTaskName(t.Name) {
		r.fail(root.keyNode("name"), "name", "%q must be 1-%d letters, digits, '_' or '-', not starting with '-'", t.Name, restapi.MaxTaskNameLen)
	}
	mode, _ := root.str("task-mode")
	switch mode {
	case "full", "incremental", "all":
		t.TaskMode = restapi.TaskTaskMode(mode)
	case "":
		r.fail(root.keyNode("task-mode"), "task-mode", "is required (full, incremental or all)")
	default:
		r.fail(root.keyNode("task-mode"), "task-mode", "must be full, incremental or all, not %q", mode)
	}
	readShardMode(root, t)
	if ms, ok := root.str("meta-schema"); ok && ms != "" {
		t.MetaSchema = &ms
	}
	online := true // DM's default
	if v, ok := root.boolean("online-ddl"); ok {
		online = v
	}
	switch scheme, _ := root.str("online-ddl-scheme"); scheme {
	case "":
	case "gh-ost", "pt":
		online = true
		r.warn(root.keyNode("online-ddl-scheme"), "online-ddl-scheme", "is deprecated: use online-ddl")
	default:
		r.fail(root.keyNode("online-ddl-scheme"), "online-ddl-scheme", "must be gh-ost or pt, not %q", scheme)
	}
	t.EnhanceOnlineSchemaChange = &online
	clean := true // DM's default
	if v, ok := root.boolean("clean-dump-file"); ok {
		clean = v
	}
	t.CleanDumpFile = &clean
	collation := restapi.TaskCollationCompatibleLoose // DM's default (the API's is strict)
	if v, ok := root.str("collation_compatible"); ok && v != "" {
		collation = restapi.TaskCollationCompatible(v)
		if !collation.Valid() {
			r.fail(root.keyNode("collation_compatible"), "collation_compatible", "must be loose or strict, not %q", v)
		}
	}
	t.CollationCompatible = &collation
	if cs, ok := root.boolean("case-sensitive"); ok && cs {
		r.fail(root.keyNode("case-sensitive"), "case-sensitive", "true is not supported: schema and table names are matched case-insensitively")
	}
	for _, k := range []string{"shadow-table-rules", "trash-table-rules"} {
		if l, ok := root.list(k); ok && len(l) > 0 {
			r.fail(root.keyNode(k), k, "custom online DDL table rules are not supported (gh-ost and pt-osc's own names are)")
		}
	}
	if items, ok := root.list("ignore-checking-items"); ok && len(items) > 0 {
		r.warn(root.keyNode("ignore-checking-items"), "ignore-checking-items", "the precheck cannot be skipped here: every check runs")
	}
}

func readShardMode(root *mapping, t *restapi.Task) {
	r := root.r
	mode, _ := root.str("shard-mode")
	sharding, hasSharding := root.boolean("is-sharding")
	if hasSharding {
		r.warn(root.keyNode("is-sharding"), "is-sharding", "is deprecated: use shard-mode")
		if sharding && mode == "" {
			mode = "pessimistic"
		}
	}
	switch mode {
	case "":
	case "pessimistic", "optimistic":
		sm := restapi.TaskShardMode(mode)
		t.ShardMode = &sm
	default:
		r.fail(root.keyNode("shard-mode"), "shard-mode", "must be pessimistic, optimistic or empty, not %q", mode)
	}
	if strict, ok := root.boolean("strict-optimistic-shard-mode"); ok && strict {
		if mode != "optimistic" {
			r.fail(root.keyNode("strict-optimistic-shard-mode"), "strict-optimistic-shard-mode", "needs shard-mode optimistic")
		} else {
			r.warn(root.keyNode("strict-optimistic-shard-mode"), "strict-optimistic-shard-mode", "is not supported: the optimistic mode applies its own checks")
		}
	}
}

func readTarget(root *mapping, opts Options) restapi.TaskTargetDataBase {
	var tg restapi.TaskTargetDataBase
	m := root.child("target-database")
	if m == nil {
		root.r.fail(nil, "target-database", "is required")
		return tg
	}
	tg.Host, _ = m.str("host")
	if tg.Host == "" {
		m.r.fail(m.keyNode("host"), m.sub("host"), "is required")
	}
	if port, ok := m.integer("port", 1, 65535); ok {
		tg.Port = int(port)
	} else if !m.has("port") {
		m.r.fail(m.node, m.sub("port"), "is required")
	}
	tg.User, _ = m.str("user")
	if tg.User == "" {
		m.r.fail(m.keyNode("user"), m.sub("user"), "is required")
	}
	pwd, _ := m.str("password")
	tg.Password = opts.password(m.r, m.keyNode("password"), m.sub("password"), pwd)
	tg.Security = opts.security(m.child("security"))
	m.ignore("max-allowed-packet", "is deprecated and has no effect: the driver reads the server's value")
	if session := m.child("session"); session != nil && len(session.order) > 0 {
		session.markAll()
		m.r.warn(m.keyNode("session"), m.sub("session"), "session variables (%s) are not set here: the target's own defaults apply", strings.Join(session.order, ", "))
	}
	m.finish()
	return tg
}

// ignoreGlobals accepts, with a warning, the global keys DM has that do nothing here.
func ignoreGlobals(root *mapping) {
	for _, k := range []string{"enable-heartbeat", "heartbeat-update-interval", "heartbeat-report-interval", "ansi-quotes"} {
		root.ignore(k, "is deprecated in DM and has no effect")
	}
	root.ignore("remove-meta", "is deprecated in DM and has no effect here: use start-task --remove-meta")
	root.ignore("timezone", "has no effect: sessions use the target's time zone, as DM's default does")
	root.ignore("mariadb2tidb", "has no effect: schemas are replayed as the upstream wrote them")
	root.ignore("experimental", "has no effect here")
	root.ignore("validators", "continuous validation is not supported")
	if cm := root.child("column-mappings"); cm != nil && len(cm.order) > 0 {
		cm.markAll()
		root.r.fail(root.keyNode("column-mappings"), "column-mappings", "column mapping is not supported (DM removed it too)")
	}
}

// ruleSets are the named rules of a task file.
type ruleSets struct {
	routes  map[string]*route
	filters map[string]*filterRule
	ba      map[string]*baList
	baKey   string // block-allow-list, or the deprecated black-white-list
	exprs   map[string]int
	used    map[string]bool
}

func readRuleSets(root *mapping) *ruleSets {
	s := &ruleSets{routes: map[string]*route{}, filters: map[string]*filterRule{}, ba: map[string]*baList{}, exprs: map[string]int{}, used: map[string]bool{}}
	for _, e := range root.entries("routes") {
		s.routes[e.name] = readRoute(e)
	}
	for _, e := range root.entries("filters") {
		s.filters[e.name] = readFilter(e)
	}
	s.baKey = "block-allow-list"
	bw := root.entries("black-white-list")
	ba := root.entries("block-allow-list")
	if len(bw) > 0 {
		root.r.warn(root.keyNode("black-white-list"), "black-white-list", "is deprecated: use block-allow-list")
		if len(ba) == 0 {
			ba, s.baKey = bw, "black-white-list"
		}
	}
	for _, e := range ba {
		s.ba[e.name] = readBAList(e)
	}
	for _, e := range root.entries("expression-filter") {
		e.m.markAll()
		s.exprs[e.name] = e.line
	}
	return s
}

func (s *ruleSets) unused(r *reader, root *mapping) {
	for kind, names := range map[string][]string{"routes": keys(s.routes), "filters": keys(s.filters), s.baKey: keys(s.ba)} {
		for _, name := range names {
			if !s.used[kind+"."+name] {
				r.warn(root.keyNode(kind), kind+"."+name, "is not used by any mysql-instances entry")
			}
		}
	}
	for name, line := range s.exprs {
		r.warnings = append(r.warnings, Warning{Line: line, Key: "expression-filter." + name, Message: "expression filters are not supported (this one is not used by any mysql-instances entry)"})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func readInstances(root *mapping, t *restapi.Task, sets *ruleSets, units *unitSets) {
	v := root.value("mysql-instances")
	if v == nil || len(v.Content) == 0 {
		root.r.fail(v, "mysql-instances", "needs at least one entry")
		return
	}
	var confs []unitConf
	var lines []int
	seen := map[string]int{}
	filters := &filterNames{used: map[string]restapi.TaskBinLogFilterRule{}}
	t.TableMigrateRule = []restapi.TaskTableMigrateRule{}
	for i, c := range v.Content {
		m := root.r.mapping(c, fmt.Sprintf("mysql-instances[%d]", i))
		if m == nil {
			continue
		}
		sc, rules := readInstance(m, t, sets, filters)
		if sc.SourceName != "" {
			if first, dup := seen[sc.SourceName]; dup {
				m.r.fail(m.keyNode("source-id"), m.sub("source-id"), "source %q is already in mysql-instances[%d]", sc.SourceName, first)
			}
			seen[sc.SourceName] = i
		}
		confs = append(confs, units.instanceUnits(m))
		lines = append(lines, resolve(c).Line)
		m.ignore("validator-config-name", "continuous validation is not supported")
		m.finish()
		t.SourceConfig.SourceConf = append(t.SourceConfig.SourceConf, sc)
		t.TableMigrateRule = append(t.TableMigrateRule, rules...)
	}
	taskWide(root.r, confs, lines, t)
	if len(filters.used) > 0 {
		t.BinlogFilterRule = &filters.used
	}
}

// readInstance reads one mysql-instances entry: its source and start point, and the
// table_migrate_rules its block-allow list, routes and filters make.
func readInstance(m *mapping, t *restapi.Task, sets *ruleSets, filters *filterNames) (restapi.TaskSourceConf, []restapi.TaskTableMigrateRule) {
	var sc restapi.TaskSourceConf
	sc.SourceName, _ = m.str("source-id")
	if sc.SourceName == "" {
		m.r.fail(m.node, m.sub("source-id"), "is required")
	}
	if meta := m.child("meta"); meta != nil {
		if name, ok := meta.str("binlog-name"); ok && name != "" {
			sc.BinlogName = &name
		}
		if pos, ok := meta.integer("binlog-pos", 0, math.MaxUint32); ok {
			p := int(pos)
			sc.BinlogPos = &p
		}
		if gtid, ok := meta.str("binlog-gtid"); ok && gtid != "" {
			sc.BinlogGtid = &gtid
		}
		meta.finish()
	}
	for _, k := range []string{"column-mapping-rules", "expression-filters"} {
		if l, ok := m.list(k); ok && len(l) > 0 {
			m.r.fail(m.keyNode(k), m.sub(k), "is not supported, and ignoring it would change which rows move")
		}
	}
	ba := instanceBAList(m, sets)
	routes := pickRules(m, "route-rules", "routes", sets.routes, sets.used)
	fs := filters.name(pickRules(m, "filter-rules", "filters", sets.filters, sets.used))
	if sc.SourceName == "" || len(m.r.problems) > 0 {
		return sc, nil
	}
	meta := "dm_meta"
	if t.MetaSchema != nil {
		meta = *t.MetaSchema
	}
	units, err := ba.units(m.r, sets.baKey, func(g glob) bool {
		lit, ok := g.literal()
		return ok && (rules.IsSystemSchema(lit) || strings.EqualFold(lit, meta))
	})
	var gen []genRule
	if err == nil {
		gen, err = migrateRules(units, routes, fs)
	}
	if err != nil {
		m.r.fail(m.node, m.path, "its tables cannot be expressed as table_migrate_rule: %v", err)
		return sc, nil
	}
	if len(gen) == 0 {
		m.r.fail(m.node, m.path, "its block-allow list selects no table")
	}
	for _, name := range filters.use(fs, gen) {
		m.r.warn(m.keyNode("filter-rules"), m.sub("filter-rules"), "%q matches none of the tables this entry migrates", name)
	}
	return sc, apiRules(sc.SourceName, gen)
}

func instanceBAList(m *mapping, sets *ruleSets) *baList {
	name, ok := m.str("block-allow-list")
	if bw, hasBW := m.str("black-white-list"); hasBW {
		m.r.warn(m.keyNode("black-white-list"), m.sub("black-white-list"), "is deprecated: use block-allow-list")
		if !ok || name == "" {
			name, ok = bw, true
		}
	}
	if !ok || name == "" {
		return nil
	}
	ba, found := sets.ba[name]
	if !found {
		m.r.fail(m.keyNode("block-allow-list"), m.sub("block-allow-list"), "%q is not defined in %s", name, sets.baKey)
		return nil
	}
	sets.used[sets.baKey+"."+name] = true
	return ba
}

// pickRules resolves the names an instance lists (route-rules, filter-rules) in its order.
func pickRules[T any](m *mapping, key, kind string, set map[string]*T, used map[string]bool) []*T {
	names, _ := m.list(key)
	var out []*T
	seen := map[string]bool{}
	for _, name := range names {
		rule, ok := set[name]
		switch {
		case !ok:
			m.r.fail(m.keyNode(key), m.sub(key), "%q is not defined in %s", name, kind)
		case seen[name]:
			m.r.fail(m.keyNode(key), m.sub(key), "%q is listed twice", name)
		case rule != nil:
			out = append(out, rule)
		}
		seen[name] = true
		used[kind+"."+name] = true
	}
	return out
}

func apiRules(source string, gen []genRule) []restapi.TaskTableMigrateRule {
	out := make([]restapi.TaskTableMigrateRule, 0, len(gen))
	for _, g := range gen {
		r := restapi.TaskTableMigrateRule{
			Source: restapi.TaskTableMigrateRuleSource{SourceName: source, Schema: g.pair.schema.String(), Table: g.pair.table.String()},
		}
		if g.target != nil {
			tgt := *g.target
			r.Target = &tgt
		}
		if len(g.filters) > 0 {
			fs := append([]string(nil), g.filters...)
			r.BinlogFilterRule = &fs
		}
		out = append(out, r)
	}
	return out
}
