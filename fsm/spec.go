package fsm

import (
	"encoding/json"
	"maps"
	"slices"
)

// Versions of the specs this build writes and reads. A spec carries its version so that a later
// build can still read the specs an earlier one stored (the state lives as long as the cluster);
// a spec of a version this build does not know is refused. Version 1 is the form the master
// stored as opaque bytes before specs were typed (see legacy.go).
const (
	SourceSpecVersion = 1
	TaskSpecVersion   = 1
)

// Task modes (TaskSpec.Mode), as DM names them.
const (
	TaskModeAll         = "all"         // dump, load, then sync
	TaskModeFull        = "full"        // dump and load
	TaskModeIncremental = "incremental" // sync from a given binlog position
)

// SourceSpec is an upstream database as the cluster keeps it: how the worker bound to it
// connects and how it keeps its relay log. Secrets are encrypted by the masters with the
// cluster's key; the FSM neither reads nor needs them.
type SourceSpec struct {
	Version     int       `json:"version"`
	Host        string    `json:"host"`
	Port        int       `json:"port"`
	User        string    `json:"user"`
	PasswordEnc string    `json:"password_enc,omitempty"`
	EnableGTID  bool      `json:"enable_gtid"`
	Security    *TLSSpec  `json:"security,omitempty"`
	Purge       PurgeSpec `json:"purge"`
	// Flavor (mysql or mariadb) and ServerID are what the master found on the upstream when the
	// source was created.
	Flavor        string `json:"flavor,omitempty"`
	ServerID      uint32 `json:"server_id,omitempty"`
	CaseSensitive bool   `json:"case_sensitive,omitempty"`
}

// TLSSpec is the TLS material for reaching a database. Certificates are public; the private
// key is encrypted like a password.
type TLSSpec struct {
	SSLCA         string   `json:"ssl_ca,omitempty"`
	SSLCert       string   `json:"ssl_cert,omitempty"`
	SSLKeyEnc     string   `json:"ssl_key_enc,omitempty"`
	CertAllowedCN []string `json:"cert_allowed_cn,omitempty"`
}

// PurgeSpec is a source's relay-log purge policy: every Interval seconds, remove the files older
// than Expires hours (0: never by age), or any file no reader needs while less than RemainSpace
// GB are free.
type PurgeSpec struct {
	Interval    int64 `json:"interval"`
	Expires     int64 `json:"expires"`
	RemainSpace int64 `json:"remain_space"`
}

// TaskSpec is a migration task as the cluster keeps it: the normalised settings its subtasks
// run with, and the task exactly as it was created.
type TaskSpec struct {
	Version int `json:"version"`
	// API is the task as created through the OpenAPI (a restapi.Task document) with its secrets
	// encrypted, so that GET /tasks answers with what was sent, not with a lossy rebuild. The
	// FSM never reads it.
	API                       json.RawMessage `json:"api,omitempty"`
	Name                      string          `json:"name"`
	Mode                      string          `json:"mode"` // TaskModeAll, TaskModeFull or TaskModeIncremental
	ShardMode                 string          `json:"shard_mode,omitempty"`
	MetaSchema                string          `json:"meta_schema"`
	OnDuplicate               string          `json:"on_duplicate"`
	EnhanceOnlineSchemaChange bool            `json:"enhance_online_schema_change"`
	// Collation is collation_compatible: strict or loose ("" in tasks stored before it existed:
	// strict).
	Collation string                `json:"collation_compatible,omitempty"`
	Target    TargetSpec            `json:"target"`
	Filters   map[string]FilterSpec `json:"filters,omitempty"`
	Full      FullSpec              `json:"full"`
	Incr      IncrSpec              `json:"incr"`
	// Sources holds, by source name, what each source's subtask migrates.
	Sources map[string]SubtaskSpec `json:"sources"`
	// PrecheckWarnings are the findings of the precheck at creation that are not errors, per
	// source; the task status shows them.
	PrecheckWarnings map[string][]string `json:"precheck_warnings,omitempty"`
	// KeepDumpFiles is clean_dump_file: false: the dump stays after the load (until the task is
	// deleted).
	KeepDumpFiles bool `json:"keep_dump_files,omitempty"`
}

// TargetSpec is the downstream database of a task.
type TargetSpec struct {
	Host        string   `json:"host"`
	Port        int      `json:"port"`
	User        string   `json:"user"`
	PasswordEnc string   `json:"password_enc,omitempty"`
	Security    *TLSSpec `json:"security,omitempty"`
}

// FilterSpec is one named binlog_filter_rule.
type FilterSpec struct {
	IgnoreEvents []string `json:"ignore_events,omitempty"`
	IgnoreSQL    []string `json:"ignore_sql,omitempty"`
}

// FullSpec is full_migrate_conf with defaults applied.
type FullSpec struct {
	ExportThreads int    `json:"export_threads"`
	ImportThreads int    `json:"import_threads"`
	DataDir       string `json:"data_dir"`
	Consistency   string `json:"consistency"`
}

// IncrSpec is incr_migrate_conf with defaults applied.
type IncrSpec struct {
	ReplThreads int `json:"repl_threads"`
	ReplBatch   int `json:"repl_batch"`
}

// SubtaskSpec is what one source's subtask migrates, and where its incremental sync starts.
type SubtaskSpec struct {
	Rules      []RuleSpec `json:"rules"`
	BinlogName string     `json:"binlog_name,omitempty"`
	BinlogPos  uint32     `json:"binlog_pos,omitempty"`
	BinlogGTID string     `json:"binlog_gtid,omitempty"`
}

// RuleSpec is one table_migrate_rule of a source: the tables it matches, where they go, and the
// named filters (TaskSpec.Filters) that apply to them.
type RuleSpec struct {
	Schema       string   `json:"schema"`
	Table        string   `json:"table"`
	TargetSchema string   `json:"target_schema,omitempty"`
	TargetTable  string   `json:"target_table,omitempty"`
	FilterRules  []string `json:"filter_rules,omitempty"`
}

// Reads hand out deep copies; the copies keep nil and empty apart, so that a copy encodes
// exactly like the original.

func (s SourceSpec) clone() SourceSpec {
	s.Security = s.Security.clone()
	return s
}

func (t *TLSSpec) clone() *TLSSpec {
	if t == nil {
		return nil
	}
	c := *t
	c.CertAllowedCN = slices.Clone(t.CertAllowedCN)
	return &c
}

func (t TaskSpec) clone() TaskSpec {
	t.API = slices.Clone(t.API)
	t.Target.Security = t.Target.Security.clone()
	t.Filters = cloneMap(t.Filters, func(f FilterSpec) FilterSpec {
		return FilterSpec{IgnoreEvents: slices.Clone(f.IgnoreEvents), IgnoreSQL: slices.Clone(f.IgnoreSQL)}
	})
	t.Sources = cloneMap(t.Sources, func(st SubtaskSpec) SubtaskSpec {
		st.Rules = slices.Clone(st.Rules)
		for i := range st.Rules {
			st.Rules[i].FilterRules = slices.Clone(st.Rules[i].FilterRules)
		}
		return st
	})
	t.PrecheckWarnings = cloneMap(t.PrecheckWarnings, slices.Clone[[]string])
	return t
}

// cloneMap copies m, passing each value through cp; nil stays nil.
func cloneMap[V any](m map[string]V, cp func(V) V) map[string]V {
	if m == nil {
		return nil
	}
	c := maps.Clone(m)
	for k, v := range c {
		c[k] = cp(v)
	}
	return c
}

func specVersionKnown(v, current int) bool { return v >= 1 && v <= current }

// checkSourceSpec reports a source spec this build cannot use.
func checkSourceSpec(name string, s SourceSpec) *Error {
	if !specVersionKnown(s.Version, SourceSpecVersion) {
		return invalidf("source %q has a spec of version %d; this build reads versions up to %d", name, s.Version, SourceSpecVersion)
	}
	return nil
}

// checkTaskSpec reports a task spec this build cannot use, or that belongs to another task.
func checkTaskSpec(name string, t TaskSpec) *Error {
	if !specVersionKnown(t.Version, TaskSpecVersion) {
		return invalidf("task %q has a spec of version %d; this build reads versions up to %d", name, t.Version, TaskSpecVersion)
	}
	if t.Name != name {
		return invalidf("task %q has the spec of task %q", name, t.Name)
	}
	return nil
}
