// Package settings turns the cluster's specs (fsm.SourceSpec, fsm.TaskSpec) into the settings of
// the binlog library: a subtask's compiled table rules and binlog filters, the upstream and
// target connection settings with their secrets decrypted, the spec-given parts of the dump,
// load and sync configurations, and the position an incremental sync starts from.
//
// It is the one reading of a spec: dm-worker runs its subtasks with it, and dm-master's
// precheck checks the very rules and connections a worker will use. It needs both fsm and
// binlog, which may not import each other, so it can live in neither. It lives under worker/
// because what it produces is what a worker runs with; it imports nothing of the worker (nor
// of master/ or restapi/) but internal/security, so the master may import it without linking
// the worker.
package settings

import (
	"fmt"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/load"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/syncer"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
)

// connectTimeout bounds every connection made from a spec.
const connectTimeout = 5 * time.Second

// Upstream is how to reach the source, its secrets decrypted.
func Upstream(s fsm.SourceSpec, c *security.Cipher) (upstream.Config, error) {
	return connection(s.Host, s.Port, s.User, s.PasswordEnc, s.Security, c)
}

// Target is how to reach the task's target, its secrets decrypted.
func Target(t fsm.TargetSpec, c *security.Cipher) (upstream.Config, error) {
	return connection(t.Host, t.Port, t.User, t.PasswordEnc, t.Security, c)
}

func connection(host string, port int, user, passwordEnc string, sec *fsm.TLSSpec, c *security.Cipher) (upstream.Config, error) {
	pwd, err := c.Decrypt(passwordEnc)
	if err != nil {
		return upstream.Config{}, fmt.Errorf("password: %w", err)
	}
	cfg := upstream.Config{Host: host, Port: port, User: user, Password: pwd, ConnectTimeout: connectTimeout}
	if sec != nil {
		key, err := c.Decrypt(sec.SSLKeyEnc)
		if err != nil {
			return upstream.Config{}, fmt.Errorf("TLS key: %w", err)
		}
		cfg.SSLCA, cfg.SSLCert, cfg.SSLKey, cfg.CertAllowedCN = sec.SSLCA, sec.SSLCert, key, sec.CertAllowedCN
	}
	return cfg, nil
}

// Rules compiles the table rules and binlog filters of the task for one source. The task's
// meta schema is excluded, so the task never migrates its own checkpoints.
func Rules(t fsm.TaskSpec, source string) (*rules.Rules, error) {
	filters := make(map[string]rules.Filter, len(t.Filters))
	for name, f := range t.Filters {
		filters[name] = rules.Filter{IgnoreEvents: f.IgnoreEvents, IgnoreSQL: f.IgnoreSQL}
	}
	conf := t.Sources[source]
	migrate := make([]rules.MigrateRule, len(conf.Rules))
	for i, r := range conf.Rules {
		migrate[i] = rules.MigrateRule{SchemaPattern: r.Schema, TablePattern: r.Table, TargetSchema: r.TargetSchema, TargetTable: r.TargetTable, FilterRules: r.FilterRules}
	}
	rl, err := rules.New(migrate, filters, false)
	if err != nil {
		return nil, fmt.Errorf("rules of source %q: %w", source, err)
	}
	if t.MetaSchema != "" {
		rl.Exclude(t.MetaSchema)
	}
	return rl, nil
}

// Dump is the dump configuration the specs give; the caller adds the connection, the
// directory, the rules, the counters and the logger.
func Dump(t fsm.TaskSpec, s fsm.SourceSpec) dump.Config {
	return dump.Config{Flavor: s.Flavor, Threads: t.Full.ExportThreads, Consistency: t.Full.Consistency}
}

// Load is the load configuration of the task's subtask on source that the spec gives; the
// caller adds the directory, the target, the rules, the logger and whether it dumped anew.
func Load(t fsm.TaskSpec, source string) load.Config {
	return load.Config{
		Threads: t.Full.ImportThreads, OnDuplicate: t.OnDuplicate, MetaSchema: t.MetaSchema,
		Task: t.Name, Source: source, Collation: t.Collation,
	}
}

// Sync is the sync configuration of the task's subtask on source that the spec gives; the
// caller adds the connections, the rules, the schema tracker, the readers, the coordinator and
// what it observes with.
func Sync(t fsm.TaskSpec, source string) syncer.Config {
	return syncer.Config{
		Task: t.Name, Source: source, MetaSchema: t.MetaSchema,
		Workers: t.Incr.ReplThreads, Batch: t.Incr.ReplBatch,
		OnlineDDL: t.EnhanceOnlineSchemaChange, Collation: t.Collation, ShardMode: t.ShardMode,
	}
}

// SyncStart is where an incremental task's sync starts on source (zero for the other modes,
// which start where their dump was taken).
func SyncStart(t fsm.TaskSpec, source string) binlog.Location {
	if t.Mode != fsm.TaskModeIncremental {
		return binlog.Location{}
	}
	conf := t.Sources[source]
	return binlog.Location{File: conf.BinlogName, Pos: conf.BinlogPos, GTIDSet: conf.BinlogGTID}
}
