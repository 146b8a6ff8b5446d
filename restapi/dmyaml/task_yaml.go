package dmyaml

import (
	"fmt"
	"slices"

	"github.com/dm-oss/dm/restapi"
)

// TaskYAML writes the task as a DM task.yaml that ParseTask reads back into a task that
// migrates, routes and filters the same tables. Each source gets a block-allow list of its
// rules' patterns, one route per rule with a target and the filters its rules name; the
// task-wide settings go to mydumpers, loaders and syncers entries named "global". The password
// is written as the task holds it ("******" in an answer of the API).
func TaskYAML(t restapi.Task) ([]byte, error) {
	doc := taskDoc{
		Name: t.Name, TaskMode: string(t.TaskMode), OnlineDDL: t.EnhanceOnlineSchemaChange == nil || *t.EnhanceOnlineSchemaChange,
		CleanDumpFile: t.CleanDumpFile == nil || *t.CleanDumpFile, Collation: string(restapi.TaskCollationCompatibleStrict),
		Target: dbDoc{Host: t.TargetConfig.Host, Port: t.TargetConfig.Port, User: t.TargetConfig.User, Password: t.TargetConfig.Password, Security: securityDoc(t.TargetConfig.Security)},
		Routes: map[string]routeDoc{}, Filters: map[string]filterDoc{}, BAList: map[string]baDoc{},
	}
	if t.ShardMode != nil {
		doc.ShardMode = string(*t.ShardMode)
	}
	if t.MetaSchema != nil {
		doc.MetaSchema = *t.MetaSchema
	}
	if t.CollationCompatible != nil {
		doc.Collation = string(*t.CollationCompatible)
	}
	unitsDoc(t, &doc)
	for _, sc := range t.SourceConfig.SourceConf {
		inst, err := instanceDoc(t, sc, &doc)
		if err != nil {
			return nil, err
		}
		doc.Instances = append(doc.Instances, inst)
	}
	return marshal(doc)
}

type taskDoc struct {
	Name          string                 `yaml:"name"`
	TaskMode      string                 `yaml:"task-mode"`
	ShardMode     string                 `yaml:"shard-mode,omitempty"`
	MetaSchema    string                 `yaml:"meta-schema,omitempty"`
	OnlineDDL     bool                   `yaml:"online-ddl"`
	Collation     string                 `yaml:"collation_compatible"`
	CleanDumpFile bool                   `yaml:"clean-dump-file"`
	Target        dbDoc                  `yaml:"target-database"`
	Routes        map[string]routeDoc    `yaml:"routes,omitempty"`
	Filters       map[string]filterDoc   `yaml:"filters,omitempty"`
	BAList        map[string]baDoc       `yaml:"block-allow-list,omitempty"`
	Mydumpers     map[string]mydumperDoc `yaml:"mydumpers,omitempty"`
	Loaders       map[string]loaderDoc   `yaml:"loaders,omitempty"`
	Syncers       map[string]syncerDoc   `yaml:"syncers,omitempty"`
	Instances     []instDoc              `yaml:"mysql-instances"`
}

type routeDoc struct {
	SchemaPattern string `yaml:"schema-pattern"`
	TablePattern  string `yaml:"table-pattern,omitempty"`
	TargetSchema  string `yaml:"target-schema,omitempty"`
	TargetTable   string `yaml:"target-table,omitempty"`
}

type filterDoc struct {
	SchemaPattern string   `yaml:"schema-pattern"`
	TablePattern  string   `yaml:"table-pattern,omitempty"`
	Events        []string `yaml:"events,omitempty"`
	SQLPattern    []string `yaml:"sql-pattern,omitempty"`
	Action        string   `yaml:"action"`
}

type baDoc struct {
	DoDBs    []string   `yaml:"do-dbs,omitempty"`
	DoTables []tableDoc `yaml:"do-tables,omitempty"`
}

type tableDoc struct {
	DB    string `yaml:"db-name"`
	Table string `yaml:"tbl-name"`
}

type mydumperDoc struct {
	Threads   *int   `yaml:"threads,omitempty"`
	ExtraArgs string `yaml:"extra-args,omitempty"`
}

type loaderDoc struct {
	PoolSize    *int   `yaml:"pool-size,omitempty"`
	Dir         string `yaml:"dir,omitempty"`
	OnDuplicate string `yaml:"on-duplicate-logical"`
}

type syncerDoc struct {
	WorkerCount *int `yaml:"worker-count,omitempty"`
	Batch       *int `yaml:"batch,omitempty"`
}

type instDoc struct {
	SourceID    string   `yaml:"source-id"`
	Meta        *metaDoc `yaml:"meta,omitempty"`
	BAList      string   `yaml:"block-allow-list"`
	RouteRules  []string `yaml:"route-rules,omitempty"`
	FilterRules []string `yaml:"filter-rules,omitempty"`
	Mydumper    string   `yaml:"mydumper-config-name,omitempty"`
	Loader      string   `yaml:"loader-config-name"`
	Syncer      string   `yaml:"syncer-config-name,omitempty"`
}

type metaDoc struct {
	BinlogName string `yaml:"binlog-name,omitempty"`
	BinlogPos  *int   `yaml:"binlog-pos,omitempty"`
	BinlogGTID string `yaml:"binlog-gtid,omitempty"`
}

const globalUnit = "global"

func unitsDoc(t restapi.Task, doc *taskDoc) {
	onDup := string(t.OnDuplicate)
	if onDup == string(restapi.TaskOnDuplicateOverwrite) {
		onDup = string(restapi.TaskOnDuplicateReplace)
	}
	ld := loaderDoc{OnDuplicate: onDup}
	if f := t.SourceConfig.FullMigrateConf; f != nil {
		md := mydumperDoc{Threads: f.ExportThreads}
		if f.Consistency != nil {
			md.ExtraArgs = "--consistency " + string(*f.Consistency)
		}
		if md.Threads != nil || md.ExtraArgs != "" {
			doc.Mydumpers = map[string]mydumperDoc{globalUnit: md}
		}
		ld.PoolSize = f.ImportThreads
		if f.DataDir != nil {
			ld.Dir = *f.DataDir
		}
	}
	doc.Loaders = map[string]loaderDoc{globalUnit: ld}
	if i := t.SourceConfig.IncrMigrateConf; i != nil && (i.ReplThreads != nil || i.ReplBatch != nil) {
		doc.Syncers = map[string]syncerDoc{globalUnit: {WorkerCount: i.ReplThreads, Batch: i.ReplBatch}}
	}
}

// apiRule is a table_migrate_rule of one source, parsed.
type apiRule struct {
	index   int
	pair    tablePair
	target  *restapi.TaskTableMigrateRuleTarget
	filters []string
}

func sourceRules(t restapi.Task, source string) ([]apiRule, error) {
	var out []apiRule
	for i, r := range t.TableMigrateRule {
		if r.Source.SourceName != source {
			continue
		}
		table := r.Source.Table
		if table == "" {
			table = "*"
		}
		s, err := parseGlob(r.Source.Schema)
		if err != nil {
			return nil, fmt.Errorf("table_migrate_rule[%d]: schema: %w", i, err)
		}
		tb, err := parseGlob(table)
		if err != nil {
			return nil, fmt.Errorf("table_migrate_rule[%d]: table: %w", i, err)
		}
		ar := apiRule{index: i, pair: tablePair{s, tb}, target: r.Target}
		if r.Target != nil && r.Target.Schema == "" && r.Target.Table == "" {
			ar.target = nil
		}
		if r.BinlogFilterRule != nil {
			ar.filters = *r.BinlogFilterRule
		}
		out = append(out, ar)
	}
	return out, nil
}

func instanceDoc(t restapi.Task, sc restapi.TaskSourceConf, doc *taskDoc) (instDoc, error) {
	inst := instDoc{SourceID: sc.SourceName, BAList: "ba-" + sc.SourceName, Loader: globalUnit}
	if sc.BinlogName != nil || sc.BinlogPos != nil || sc.BinlogGtid != nil {
		inst.Meta = &metaDoc{BinlogPos: sc.BinlogPos}
		if sc.BinlogName != nil {
			inst.Meta.BinlogName = *sc.BinlogName
		}
		if sc.BinlogGtid != nil {
			inst.Meta.BinlogGTID = *sc.BinlogGtid
		}
	}
	if doc.Mydumpers != nil {
		inst.Mydumper = globalUnit
	}
	if doc.Syncers != nil {
		inst.Syncer = globalUnit
	}
	rs, err := sourceRules(t, sc.SourceName)
	if err != nil {
		return inst, err
	}
	if len(rs) == 0 {
		return inst, fmt.Errorf("source %q has no table_migrate_rule", sc.SourceName)
	}
	doc.BAList[inst.BAList] = baListDoc(rs)
	if inst.RouteRules, err = routesDoc(sc.SourceName, rs, doc); err != nil {
		return inst, err
	}
	inst.FilterRules, err = filtersDoc(t, sc.SourceName, rs, doc)
	return inst, err
}

func baListDoc(rs []apiRule) baDoc {
	var ba baDoc
	for _, r := range rs {
		s, tb := r.pair.schema.String(), r.pair.table.String()
		if !slices.Contains(ba.DoDBs, s) {
			ba.DoDBs = append(ba.DoDBs, s)
		}
		if td := (tableDoc{DB: s, Table: tb}); !slices.Contains(ba.DoTables, td) {
			ba.DoTables = append(ba.DoTables, td)
		}
	}
	return ba
}

// routesDoc writes a route per rule with a target, the single-table ones first (they win in
// the API whatever their place). A rule without a target that wins over a routed rule for some
// tables cannot be written as DM routes, which always apply: that is an error.
func routesDoc(source string, rs []apiRule, doc *taskDoc) ([]string, error) {
	if err := checkShadowedRoutes(rs); err != nil {
		return nil, err
	}
	var names []string
	for _, exactFirst := range []bool{true, false} {
		for _, r := range rs {
			if r.target == nil {
				continue
			}
			if _, _, exact := r.pair.exact(); exact != exactFirst {
				continue
			}
			name := fmt.Sprintf("route-%s-%d", source, r.index)
			doc.Routes[name] = routeDoc{SchemaPattern: r.pair.schema.String(), TablePattern: r.pair.table.String(), TargetSchema: r.target.Schema, TargetTable: r.target.Table}
			names = append(names, name)
		}
	}
	return names, nil
}

func checkShadowedRoutes(rs []apiRule) error {
	for _, a := range rs {
		if a.target != nil {
			continue
		}
		_, _, aExact := a.pair.exact()
		for _, b := range rs {
			if b.target == nil {
				continue
			}
			_, _, bExact := b.pair.exact()
			aWins := (a.index < b.index && !bExact) || (aExact && (!bExact || a.index < b.index))
			if !aWins {
				continue
			}
			if _, overlap, err := a.pair.intersect(b.pair); err != nil || overlap {
				return fmt.Errorf("table_migrate_rule[%d] (%s, no target) comes first for some tables of table_migrate_rule[%d] (%s, routed): DM's routes cannot keep that order", a.index, a.pair, b.index, b.pair)
			}
		}
	}
	return nil
}

// filtersDoc writes the filters a source's rules name. A filter gets one DM filter whose
// pattern is the rule pattern covering all the rules naming it, when that pattern adds no
// other table; else one DM filter per rule.
func filtersDoc(t restapi.Task, source string, rs []apiRule, doc *taskDoc) ([]string, error) {
	var names []string
	var order []string
	for _, r := range rs {
		for _, f := range r.filters {
			if !slices.Contains(order, f) {
				order = append(order, f)
			}
		}
	}
	for _, fname := range order {
		def, ok := filterDef(t, fname)
		if !ok {
			return nil, fmt.Errorf("binlog filter rule %q is not defined in binlog_filter_rule", fname)
		}
		for k, scope := range filterScopes(rs, fname) {
			name := fname
			if k > 0 {
				name = fmt.Sprintf("%s-%s-%d", fname, source, k)
			}
			fd := def
			fd.SchemaPattern, fd.TablePattern = scope.schema.String(), scope.table.String()
			if prev, taken := doc.Filters[name]; taken && (prev.SchemaPattern != fd.SchemaPattern || prev.TablePattern != fd.TablePattern) {
				name = fmt.Sprintf("%s-%s-%d", fname, source, k)
			}
			doc.Filters[name] = fd
			names = append(names, name)
		}
	}
	return names, nil
}

func filterDef(t restapi.Task, name string) (filterDoc, bool) {
	if t.BinlogFilterRule == nil {
		return filterDoc{}, false
	}
	f, ok := (*t.BinlogFilterRule)[name]
	if !ok {
		return filterDoc{}, false
	}
	d := filterDoc{Action: "Ignore"}
	if f.IgnoreEvent != nil {
		d.Events = *f.IgnoreEvent
	}
	if f.IgnoreSql != nil {
		d.SQLPattern = *f.IgnoreSql
	}
	return d, true
}

// filterScopes are the patterns of DM filters covering exactly the tables of the rules that
// name fname: one covering pattern when there is one, else each rule's.
func filterScopes(rs []apiRule, fname string) []tablePair {
	var refs, others []tablePair
	for _, r := range rs {
		if slices.Contains(r.filters, fname) {
			refs = append(refs, r.pair)
		} else {
			others = append(others, r.pair)
		}
	}
	for _, c := range refs {
		if coversOnly(c, refs, others) {
			return []tablePair{c}
		}
	}
	return refs
}

// coversOnly: c contains every ref, and what c shares with another rule lies inside a ref.
func coversOnly(c tablePair, refs, others []tablePair) bool {
	for _, r := range refs {
		if in, err := c.contains(r); err != nil || !in {
			return false
		}
	}
	for _, o := range others {
		p, overlap, err := c.intersect(o)
		if err != nil {
			return false
		}
		if !overlap {
			continue
		}
		if !slices.ContainsFunc(refs, func(r tablePair) bool { in, err := r.contains(p); return err == nil && in }) {
			return false
		}
	}
	return true
}
