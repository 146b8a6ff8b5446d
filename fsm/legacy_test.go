package fsm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fixtures in testdata were written by the code before typed specs (envelope and snapshot
// version 1, configs as opaque bytes holding the JSON of the master's peer.StoredSource and
// peer.StoredTask, secrets encrypted with the default key): v1-log.jsonl is the log of a small
// cluster, one entry per line as the master proposed them (two sources, one of them with TLS;
// a sharded task with every setting; an incremental task stored before collation_compatible
// existed; stages, a load worker and a shard lock), and v1-snapshot.jsonl the snapshot of the
// FSM after the last of them.

func readV1Log(t *testing.T) [][]byte {
	t.Helper()
	f, err := os.Open("testdata/v1-log.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var entries [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		entries = append(entries, bytes.Clone(sc.Bytes()))
	}
	require.NoError(t, sc.Err())
	require.Len(t, entries, 13)
	return entries
}

func replayV1Log(t *testing.T) *FSM {
	t.Helper()
	f := New()
	for i, entry := range readV1Log(t) {
		require.True(t, bytes.HasPrefix(entry, []byte(`{"v":1,`)), "entry %d is a version 1 entry", i+1)
		require.NoError(t, f.Apply(uint64(i+1), entry), "entry %d", i+1)
	}
	require.NoError(t, f.st.check())
	return f
}

// wantV1Orders is the spec of task "orders" of the fixtures, secrets left out.
func wantV1Orders() TaskSpec {
	return TaskSpec{Version: 1, Name: "orders", Mode: TaskModeAll, ShardMode: "pessimistic", MetaSchema: "dm_meta",
		OnDuplicate: "replace", EnhanceOnlineSchemaChange: true, Collation: "strict",
		Target:  TargetSpec{Host: "tidb", Port: 4000, User: "root"},
		Filters: map[string]FilterSpec{"no-drop": {IgnoreEvents: []string{"drop table"}, IgnoreSQL: []string{"^DROP"}}},
		Full:    FullSpec{ExportThreads: 2, ImportThreads: 8, DataDir: "./dumped_data", Consistency: "auto"},
		Incr:    IncrSpec{ReplThreads: 4, ReplBatch: 50},
		Sources: map[string]SubtaskSpec{
			"mysql-01": {Rules: []RuleSpec{{Schema: "shop_*", Table: "orders_*", TargetSchema: "shop", TargetTable: "orders", FilterRules: []string{"no-drop"}}}},
			"mysql-02": {Rules: []RuleSpec{{Schema: "shop_*", Table: "orders_*", TargetSchema: "shop", TargetTable: "orders"}},
				BinlogName: "mysql-bin.000002", BinlogPos: 4, BinlogGTID: "0-1-7"},
		},
		PrecheckWarnings: map[string][]string{"mysql-02": {"source mysql-02: tables without a primary or unique key (migrated, but their updates and deletes are slower): shop_1.orders_x"}},
		KeepDumpFiles:    true,
	}
}

// requireV1State checks what the fixtures hold, read through the typed specs.
func requireV1State(t *testing.T, f *FSM) {
	t.Helper()
	src1, ok := f.Source("mysql-01")
	require.True(t, ok)
	require.NotEmpty(t, src1.Spec.PasswordEnc)
	src1.Spec.PasswordEnc = ""
	assert.Equal(t, Source{Name: "mysql-01", RelayBinlogName: "mysql-bin.000001", RelayDir: "relay-a",
		Spec: SourceSpec{Version: 1, Host: "127.0.0.1", Port: 3306, User: "root", EnableGTID: true,
			Purge: PurgeSpec{Interval: 3600, RemainSpace: 15}, Flavor: "mariadb", ServerID: 11, CaseSensitive: true}}, src1)

	src2, ok := f.Source("mysql-02")
	require.True(t, ok)
	require.NotNil(t, src2.Spec.Security)
	require.NotEmpty(t, src2.Spec.Security.SSLKeyEnc)
	require.NotEqual(t, "-----KEY-----", src2.Spec.Security.SSLKeyEnc, "the key stays encrypted")
	src2.Spec.PasswordEnc, src2.Spec.Security.SSLKeyEnc = "", ""
	assert.Equal(t, SourceSpec{Version: 1, Host: "db-b", Port: 3307, User: "dm",
		Security: &TLSSpec{SSLCA: "-----CA-----", SSLCert: "-----CERT-----", CertAllowedCN: []string{"dm"}},
		Purge:    PurgeSpec{Interval: 60, Expires: 24, RemainSpace: 5}, Flavor: "mysql", ServerID: 12}, src2.Spec)

	orders, ok := f.Task("orders")
	require.True(t, ok)
	var api struct {
		Name   string `json:"name"`
		Target struct {
			Password string `json:"password"`
		} `json:"target_config"`
		Rules []json.RawMessage `json:"table_migrate_rule"`
	}
	require.NoError(t, json.Unmarshal(orders.Spec.API, &api), "the task as created is kept")
	assert.Equal(t, "orders", api.Name)
	assert.Len(t, api.Rules, 2)
	require.NotEmpty(t, orders.Spec.Target.PasswordEnc)
	assert.Equal(t, api.Target.Password, orders.Spec.Target.PasswordEnc, "both copies of the target password are the ciphertext")
	orders.Spec.API, orders.Spec.Target.PasswordEnc = nil, ""
	assert.Equal(t, wantV1Orders(), orders.Spec)
	assert.Equal(t, map[string]*Subtask{
		"mysql-01": {Source: "mysql-01", Stage: StageRunning, LoadWorker: "worker1"},
		"mysql-02": {Source: "mysql-02", Stage: StagePaused},
	}, orders.Subtasks)

	legacy, ok := f.Task("legacy")
	require.True(t, ok)
	assert.Equal(t, 1, legacy.Spec.Version)
	assert.Equal(t, TaskModeIncremental, legacy.Spec.Mode)
	assert.Equal(t, "", legacy.Spec.Collation, "stored before collation_compatible: strict by default")
	assert.Equal(t, map[string]SubtaskSpec{"mysql-01": {Rules: []RuleSpec{{Schema: "app", Table: "*"}}, BinlogName: "mysql-bin.000001", BinlogPos: 1234}}, legacy.Spec.Sources)

	view := f.WorkerView("worker1")
	require.Len(t, view.Subtasks, 2)
	assert.Equal(t, "legacy", view.Subtasks[0].Task)
	assert.Equal(t, legacy.Spec, view.Subtasks[0].Spec)
	require.NotNil(t, view.Relay)
	assert.Equal(t, []string{"worker1"}, view.Relay.Workers)
	assert.Len(t, f.ShardLocks("orders"), 1)
}

// TestReplayV1Log: a log written before typed specs replays, and its configs read as specs.
func TestReplayV1Log(t *testing.T) {
	f := replayV1Log(t)
	assert.Equal(t, uint64(13), f.Index())
	requireV1State(t, f)
}

// TestRestoreV1Snapshot: a snapshot written before typed specs restores to the state its log
// gives, and the next snapshot is written in the current version.
func TestRestoreV1Snapshot(t *testing.T) {
	data, err := os.ReadFile("testdata/v1-snapshot.jsonl")
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(data, []byte(`{"kind":"header","data":{"version":1,"index":13}}`)))

	restored := New()
	require.NoError(t, restored.Restore(bytes.NewReader(data)))
	assert.Equal(t, uint64(13), restored.Index())
	requireV1State(t, restored)

	replayed := replayV1Log(t)
	now := snapshotBytes(t, restored.Snapshot())
	assert.Equal(t, string(snapshotBytes(t, replayed.Snapshot())), string(now), "the snapshot and the log give one state")
	assert.True(t, strings.HasPrefix(string(now), `{"kind":"header","data":{"version":2,"index":13}}`))
	assert.NotContains(t, string(now), `"config"`)

	again := New()
	require.NoError(t, again.Restore(bytes.NewReader(now)))
	assert.Equal(t, string(now), string(snapshotBytes(t, again.Snapshot())))
}

// TestV1EntriesReencode: a version 1 entry decodes to the command a current master would
// propose for it, which encodes as version 2 and decodes back unchanged.
func TestV1EntriesReencode(t *testing.T) {
	for i, entry := range readV1Log(t) {
		c, err := Decode(entry)
		require.NoError(t, err, "entry %d", i+1)
		data, err := Encode(c)
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(data, []byte(`{"v":2,`)))
		again, err := Decode(data)
		require.NoError(t, err)
		assert.Equal(t, c, again, "entry %d", i+1)
		if c.CommandType() != TypeAddSource && c.CommandType() != TypeAddTask {
			// Only the commands with specs changed between the versions.
			var v1, v2 envelope
			require.NoError(t, json.Unmarshal(entry, &v1))
			require.NoError(t, json.Unmarshal(data, &v2))
			assert.JSONEq(t, string(v1.B), string(v2.B), "entry %d", i+1)
		}
	}
}
