package peer

import (
	"encoding/json"
	"fmt"

	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/internal/security"
)

// StoredTask is a task's configuration as kept (opaque to the FSM) in fsm.Task.Config: the
// task exactly as created (so GET /tasks is no lossy rebuild), with the target password
// encrypted, plus the normalised settings the workers run with.
type StoredTask struct {
	// API is the created task, target password replaced by its ciphertext.
	API json.RawMessage `json:"api"`

	Name                      string `json:"name"`
	Mode                      string `json:"mode"` // all | full | incremental
	ShardMode                 string `json:"shard_mode,omitempty"`
	MetaSchema                string `json:"meta_schema"`
	OnDuplicate               string `json:"on_duplicate"`
	EnhanceOnlineSchemaChange bool   `json:"enhance_online_schema_change"`
	// Collation is collation_compatible: strict or loose ("" in tasks stored before it
	// existed: strict).
	Collation string                    `json:"collation_compatible,omitempty"`
	Target    StoredTarget              `json:"target"`
	Filters   map[string]TaskFilter     `json:"filters,omitempty"`
	Full      FullConf                  `json:"full"`
	Incr      IncrConf                  `json:"incr"`
	Sources   map[string]SourceTaskConf `json:"sources"`
	// PrecheckWarnings are the findings of the precheck at creation that are not errors,
	// per source; the task status shows them.
	PrecheckWarnings map[string][]string `json:"precheck_warnings,omitempty"`
	// KeepDumpFiles is clean_dump_file: false: the dump stays after the load (until the task
	// is deleted).
	KeepDumpFiles bool `json:"keep_dump_files,omitempty"`
}

// StoredTarget is the downstream database.
type StoredTarget struct {
	Host        string          `json:"host"`
	Port        int             `json:"port"`
	User        string          `json:"user"`
	PasswordEnc string          `json:"password_enc,omitempty"`
	Security    *StoredSecurity `json:"security,omitempty"`
}

// TaskFilter is one named binlog_filter_rule.
type TaskFilter struct {
	IgnoreEvents []string `json:"ignore_events,omitempty"`
	IgnoreSQL    []string `json:"ignore_sql,omitempty"`
}

// FullConf is full_migrate_conf with defaults applied.
type FullConf struct {
	ExportThreads int    `json:"export_threads"`
	ImportThreads int    `json:"import_threads"`
	DataDir       string `json:"data_dir"`
	Consistency   string `json:"consistency"`
}

// IncrConf is incr_migrate_conf with defaults applied.
type IncrConf struct {
	ReplThreads int `json:"repl_threads"`
	ReplBatch   int `json:"repl_batch"`
}

// SourceTaskConf is what one source's subtask migrates and where incremental sync starts.
type SourceTaskConf struct {
	Rules      []MigrateRule `json:"rules"`
	BinlogName string        `json:"binlog_name,omitempty"`
	BinlogPos  uint32        `json:"binlog_pos,omitempty"`
	BinlogGTID string        `json:"binlog_gtid,omitempty"`
}

// MigrateRule is one table_migrate_rule of a source.
type MigrateRule struct {
	Schema       string   `json:"schema"`
	Table        string   `json:"table"`
	TargetSchema string   `json:"target_schema,omitempty"`
	TargetTable  string   `json:"target_table,omitempty"`
	FilterRules  []string `json:"filter_rules,omitempty"`
}

// Encode serialises the stored task.
func (t StoredTask) Encode() ([]byte, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode task config: %w", err)
	}
	return b, nil
}

// DecodeStoredTask parses fsm.Task.Config.
func DecodeStoredTask(b []byte) (StoredTask, error) {
	var t StoredTask
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("decode task config: %w", err)
	}
	return t, nil
}

// UpstreamConfig turns the stored target into connection settings, decrypting its secrets.
func (t StoredTarget) UpstreamConfig(c *security.Cipher) (upstream.Config, error) {
	return StoredSource{Host: t.Host, Port: t.Port, User: t.User, PasswordEnc: t.PasswordEnc, Security: t.Security}.UpstreamConfig(c)
}

// Rules compiles the table rules and binlog filters of the task for one source. The task's
// meta schema is excluded, so the task never migrates its own checkpoints.
func (t StoredTask) Rules(source string) (*rules.Rules, error) {
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
