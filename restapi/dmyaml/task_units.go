package dmyaml

import (
	"net/url"
	"strings"

	"github.com/dm-oss/dm/restapi"
)

// unitConf is what one source's mydumper, loader and syncer configurations say that the API
// can hold. nil fields were not given (the API's defaults apply, which are DM's).
type unitConf struct {
	exportThreads *int
	consistency   *string
	importThreads *int
	dataDir       *string
	onDuplicate   *string
	replThreads   *int
	replBatch     *int
}

func intPtr(v int64) *int { i := int(v); return &i }

// readMydumper reads one mydumpers entry (or an instance's inline mydumper).
func readMydumper(m *mapping, c *unitConf) {
	if v, ok := m.integer("threads", 1, restapi.MaxThreads); ok {
		c.exportThreads = intPtr(v)
	}
	if args, ok := m.str("extra-args"); ok {
		readDumpArgs(m, args, c)
	}
	if where, ok := m.str("where"); ok && where != "" {
		m.r.fail(m.keyNode("where"), m.sub("where"), "dumping only some rows is not supported")
	}
	m.ignore("chunk-filesize", "has no effect: the dump writes its own chunks")
	m.ignore("statement-size", "has no effect here")
	m.ignore("rows", "has no effect here")
	m.ignore("skip-tz-utc", "has no effect here")
	m.ignore("mydumper-path", "is deprecated in DM and has no effect")
	m.finish()
}

// readDumpArgs reads dumpling's extra-args: --consistency is kept; arguments that would
// choose other rows or tables are refused; any other is ignored with a warning.
func readDumpArgs(m *mapping, args string, c *unitConf) {
	f := strings.Fields(args)
	for i := 0; i < len(f); i++ {
		name, val, hasVal := strings.Cut(f[i], "=")
		switch name {
		case "--consistency":
			if !hasVal && i+1 < len(f) {
				i++
				val = f[i]
			}
			switch val {
			case "auto", "none", "flush", "snapshot", "lock":
				c.consistency = &val
			default:
				m.r.fail(m.keyNode("extra-args"), m.sub("extra-args"), "--consistency must be auto, none, flush, snapshot or lock, not %q", val)
			}
		case "-B", "--database", "-T", "--tables-list", "-f", "--filter", "-w", "--where", "-S", "--sql":
			m.r.fail(m.keyNode("extra-args"), m.sub("extra-args"), "%s would choose what is dumped, which is not supported: use block-allow-list", name)
			return
		default:
			if strings.HasPrefix(name, "-") {
				m.r.warn(m.keyNode("extra-args"), m.sub("extra-args"), "dump argument %s has no effect here", name)
			}
		}
	}
}

// readLoader reads one loaders entry.
func readLoader(m *mapping, c *unitConf) {
	if v, ok := m.integer("pool-size", 1, restapi.MaxThreads); ok {
		c.importThreads = intPtr(v)
	}
	if dir, ok := m.str("dir"); ok && dir != "" {
		if u, err := url.Parse(dir); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
			m.r.fail(m.keyNode("dir"), m.sub("dir"), "external storage (%s://) is not supported: give a directory on the worker", u.Scheme)
		} else {
			c.dataDir = &dir
		}
	}
	if mode, ok := m.str("import-mode"); ok {
		switch strings.ToLower(mode) {
		case "", "logical", "sql", "loader":
		case "physical":
			m.r.warn(m.keyNode("import-mode"), m.sub("import-mode"), "physical import is not supported: the data is loaded with SQL statements")
		default:
			m.r.fail(m.keyNode("import-mode"), m.sub("import-mode"), "must be logical or physical, not %q", mode)
		}
	}
	for _, key := range []string{"on-duplicate", "on-duplicate-logical"} {
		if v, ok := m.str(key); ok && v != "" {
			v = strings.ToLower(v)
			switch v {
			case "replace", "ignore", "error":
				c.onDuplicate = &v
			default:
				m.r.fail(m.keyNode(key), m.sub(key), "must be replace, ignore or error, not %q", v)
			}
		}
	}
	for _, key := range []string{"on-duplicate-physical", "sorting-dir-physical", "disk-quota-physical", "checksum-physical", "analyze", "range-concurrency", "compress-kv-pairs", "pd-addr"} {
		m.ignore(key, "only applies to the physical import, which is not supported")
	}
	m.finish()
}

// readSyncer reads one syncers entry.
func readSyncer(m *mapping, c *unitConf) {
	if v, ok := m.integer("worker-count", 1, restapi.MaxThreads); ok {
		c.replThreads = intPtr(v)
	}
	if v, ok := m.integer("batch", 1, restapi.MaxReplBatch); ok {
		c.replBatch = intPtr(v)
	}
	for _, key := range []string{"queue-size", "checkpoint-flush-interval", "compact", "multiple-rows", "safe-mode", "safe-mode-duration"} {
		m.ignore(key, "is not configurable here")
	}
	for _, key := range []string{"enable-ansi-quotes", "max-retry", "auto-fix-gtid", "enable-gtid", "disable-detect", "meta-file"} {
		m.ignore(key, "is deprecated in DM and has no effect")
	}
	m.finish()
}

// unitSets are the named mydumpers, loaders and syncers of a task file, read once.
type unitSets struct {
	dumpers, loaders, syncers map[string]unitConf
	used                      map[string]bool // "mydumpers.global" etc.
}

func readUnitSets(root *mapping) *unitSets {
	u := &unitSets{dumpers: map[string]unitConf{}, loaders: map[string]unitConf{}, syncers: map[string]unitConf{}, used: map[string]bool{}}
	for _, e := range root.entries("mydumpers") {
		var c unitConf
		readMydumper(e.m, &c)
		u.dumpers[e.name] = c
	}
	for _, e := range root.entries("loaders") {
		var c unitConf
		readLoader(e.m, &c)
		u.loaders[e.name] = c
	}
	for _, e := range root.entries("syncers") {
		var c unitConf
		readSyncer(e.m, &c)
		u.syncers[e.name] = c
	}
	return u
}

// instanceUnits is the configuration of one instance: its named (or inline) mydumper, loader
// and syncer, then its thread overrides, as DM applies them.
func (u *unitSets) instanceUnits(m *mapping) unitConf {
	var c unitConf
	pick := func(kind, nameKey, inlineKey string, set map[string]unitConf, read func(*mapping, *unitConf), merge func(unitConf)) {
		name, hasName := m.str(nameKey)
		inline := m.child(inlineKey)
		switch {
		case hasName && inline != nil:
			m.r.fail(m.keyNode(inlineKey), m.sub(inlineKey), "give %s or %s, not both", nameKey, inlineKey)
		case hasName:
			conf, ok := set[name]
			if !ok {
				m.r.fail(m.keyNode(nameKey), m.sub(nameKey), "%q is not defined in %s", name, kind)
				return
			}
			u.used[kind+"."+name] = true
			merge(conf)
		case inline != nil:
			var conf unitConf
			read(inline, &conf)
			merge(conf)
		}
	}
	pick("mydumpers", "mydumper-config-name", "mydumper", u.dumpers, readMydumper, func(o unitConf) {
		c.exportThreads, c.consistency = o.exportThreads, o.consistency
	})
	pick("loaders", "loader-config-name", "loader", u.loaders, readLoader, func(o unitConf) {
		c.importThreads, c.dataDir, c.onDuplicate = o.importThreads, o.dataDir, o.onDuplicate
	})
	pick("syncers", "syncer-config-name", "syncer", u.syncers, readSyncer, func(o unitConf) {
		c.replThreads, c.replBatch = o.replThreads, o.replBatch
	})
	for key, dst := range map[string]**int{"mydumper-thread": &c.exportThreads, "loader-thread": &c.importThreads, "syncer-thread": &c.replThreads} {
		if v, ok := m.integer(key, 0, restapi.MaxThreads); ok && v > 0 {
			*dst = intPtr(v)
		}
	}
	return c
}

// unused warns about the named configurations no instance refers to (DM refuses them).
func (u *unitSets) unused(r *reader, root *mapping) {
	for kind, set := range map[string]map[string]unitConf{"mydumpers": u.dumpers, "loaders": u.loaders, "syncers": u.syncers} {
		for name := range set {
			if !u.used[kind+"."+name] {
				r.warn(root.keyNode(kind), kind+"."+name, "is not used by any mysql-instances entry")
			}
		}
	}
}

// dmUnitDefaults are DM's values for what an instance leaves out.
var dmUnitDefaults = unitConf{
	exportThreads: intPtr(4), consistency: strPtr("auto"), importThreads: intPtr(16), dataDir: strPtr("./dumped_data"),
	onDuplicate: strPtr("replace"), replThreads: intPtr(16), replBatch: intPtr(100),
}

func strPtr(s string) *string { return &s }

// withDefaults fills in DM's values, to compare instances.
func (c unitConf) withDefaults() unitConf {
	d := dmUnitDefaults
	for _, f := range []struct{ dst, src **int }{{&c.exportThreads, &d.exportThreads}, {&c.importThreads, &d.importThreads}, {&c.replThreads, &d.replThreads}, {&c.replBatch, &d.replBatch}} {
		if *f.dst == nil {
			*f.dst = *f.src
		}
	}
	for _, f := range []struct{ dst, src **string }{{&c.consistency, &d.consistency}, {&c.dataDir, &d.dataDir}, {&c.onDuplicate, &d.onDuplicate}} {
		if *f.dst == nil {
			*f.dst = *f.src
		}
	}
	return c
}

// taskWide folds the instances' configurations into the API's task-wide settings: the first
// instance's value wins; another instance with a different one (DM's defaults filled in) gets
// a warning, or a problem for on-duplicate, which changes what the load writes.
func taskWide(r *reader, confs []unitConf, lines []int, t *restapi.Task) {
	if len(confs) == 0 {
		return
	}
	first := confs[0]
	a := first.withDefaults()
	for i, c := range confs[1:] {
		b := c.withDefaults()
		differs := func(key string, same bool) {
			if !same {
				r.warn(nil, key, "mysql-instances[%d] (line %d) differs from the first entry: the task uses the first one's value for every source", i+1, lines[i+1])
			}
		}
		differs("threads", eqInt(a.exportThreads, b.exportThreads) && eqInt(a.importThreads, b.importThreads) && eqInt(a.replThreads, b.replThreads))
		differs("syncers.batch", eqInt(a.replBatch, b.replBatch))
		differs("loaders.dir", eqStr(a.dataDir, b.dataDir))
		differs("mydumpers.extra-args --consistency", eqStr(a.consistency, b.consistency))
		if !eqStr(a.onDuplicate, b.onDuplicate) {
			r.problems = append(r.problems, Problem{Line: lines[i+1], Key: "loaders.on-duplicate-logical",
				Message: "differs between mysql-instances entries: the task has one on-duplicate for every source"})
		}
	}
	t.OnDuplicate = restapi.TaskOnDuplicate(*a.onDuplicate)
	if first.exportThreads != nil || first.importThreads != nil || first.dataDir != nil || first.consistency != nil {
		full := &restapi.TaskFullMigrateConf{ExportThreads: first.exportThreads, ImportThreads: first.importThreads, DataDir: first.dataDir}
		if first.consistency != nil {
			cons := restapi.TaskFullMigrateConfConsistency(*first.consistency)
			full.Consistency = &cons
		}
		t.SourceConfig.FullMigrateConf = full
	}
	if first.replThreads != nil || first.replBatch != nil {
		t.SourceConfig.IncrMigrateConf = &restapi.TaskIncrMigrateConf{ReplThreads: first.replThreads, ReplBatch: first.replBatch}
	}
}

func eqInt(a, b *int) bool    { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }
func eqStr(a, b *string) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }
