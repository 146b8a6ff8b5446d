package fsm

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleCommands has one command of every type, with every field set.
func sampleCommands() []Command {
	return []Command{
		&RegisterMaster{Name: "m1", APIAddr: "a:8261", PeerAddr: "a:8291", GossipAddr: "a:7946"},
		&RemoveMaster{Name: "m1"},
		&RegisterWorker{Name: "w1", Addr: "w:8262", GossipAddr: "w:7946", KeepaliveTTL: 60, RelayKeepaliveTTL: 1800},
		&DeleteWorker{Name: "w1"},
		&AddSource{Source: Source{Name: "s1", Spec: SourceSpec{Version: 1, Host: "h", Port: 3306, User: "u", PasswordEnc: "p", EnableGTID: true,
			Security: &TLSSpec{SSLCA: "ca", SSLCert: "cert", SSLKeyEnc: "key", CertAllowedCN: []string{"cn"}}, Purge: PurgeSpec{Interval: 1, Expires: 2, RemainSpace: 3},
			Flavor: "mariadb", ServerID: 7, CaseSensitive: true}, RelayBinlogName: "b.000001", RelayBinlogGTID: "0-1-2", RelayDir: "/r", LastWorker: "w0"}},
		&DeleteSource{Name: "s1"},
		&BindSource{Source: "s1", Worker: "w1", Rebind: true},
		&UnbindSource{Source: "s1"},
		&StartRelay{Source: "s1", Workers: []string{"w1", "w2"}, BinlogName: "b.000002", BinlogGTID: "0-1-3", RelayDir: "/d"},
		&StopRelay{Source: "s1", Workers: []string{"w2"}},
		&SetRelayStage{Source: "s1", Stage: StagePaused},
		&AddTask{Task: Task{Name: "t1", Spec: fullTaskSpec(), Subtasks: map[string]*Subtask{"s1": {Source: "s1", Stage: StagePaused}}}},
		&DeleteSubtasks{Task: "t1", Sources: []string{"s1"}},
		&SetSubtaskStage{Task: "t1", Sources: []string{"s1"}, Stage: StageStopped},
		&SetLoadWorker{Task: "t1", Source: "s1", Worker: "w1"},
		&ReportShardDDL{Task: "t1", Source: "s1", Target: "`db`.`t`", DDLs: []string{"ALTER TABLE `db`.`t` ADD COLUMN c INT"}},
		&ShardDDLDone{ID: "t1-`db`.`t`", Source: "s1"},
		&UnlockShardDDL{ID: "t1-`db`.`t`", Owner: "s2", Action: ShardActionSkip},
		&ClaimShardColumns{Task: "t1", Target: "`db`.`t`", Source: "s1", Table: "`db`.`t1`", Columns: []ColumnDef{{Name: "c", Def: "int(11)"}}},
		&SetClusterKey{Key: []byte("0123456789abcdef0123456789abcdef")},
		&RekeySecrets{Sources: []SourceSecrets{{Name: "s1", PasswordEnc: "p2", SSLKeyEnc: "k2"}},
			Tasks: []TaskSecrets{{Name: "t1", PasswordEnc: "p3", SSLKeyEnc: "k3", API: json.RawMessage(`{"name":"t1"}`)}}},
		&SetBinlogOps{Task: "t1", Ops: []BinlogOp{
			{Task: "t1", BinlogEvent: BinlogEvent{Source: "s1", File: "b.000001", Pos: 4321}, Op: BinlogOpReplace, SQLs: []string{"ALTER TABLE t ADD c INT", "SELECT 1"}},
			{Task: "t1", BinlogEvent: BinlogEvent{Source: "s2", File: "b.000002", Pos: 4}, Op: BinlogOpSkip},
		}, Resume: []string{"s1"}},
		&RevertBinlogOps{Task: "t1", Events: []BinlogEvent{{Source: "s2", File: "b.000002", Pos: 4}}},
		&BinlogOpDone{Task: "t1", BinlogEvent: BinlogEvent{Source: "s1", File: "b.000001", Pos: 4321}},
		&UpdateSource{Name: "s1", Spec: SourceSpec{Version: 1, Host: "h2", Port: 3307, User: "u2", PasswordEnc: "p4", EnableGTID: true,
			Security: &TLSSpec{SSLCA: "ca2", SSLCert: "cert2", SSLKeyEnc: "key2", CertAllowedCN: []string{"cn2"}}, Purge: PurgeSpec{Interval: 4, Expires: 5, RemainSpace: 6},
			Flavor: "mariadb", ServerID: 8, CaseSensitive: true}},
		&UpdateTask{Spec: fullTaskSpec()},
	}
}

// commandTypes are the types in use, in the order of sampleCommands. The numbers between them
// are reserved for commands of other branches of the project.
func commandTypes() []CommandType {
	types := []CommandType{}
	for ct := CommandType(1); ct <= 26; ct++ {
		types = append(types, ct)
	}
	return types
}

// fullTaskSpec is a task spec with every field set.
func fullTaskSpec() TaskSpec {
	return TaskSpec{Version: 1, API: json.RawMessage(`{"name":"t1","task_mode":"all"}`), Name: "t1", Mode: TaskModeAll,
		ShardMode: "optimistic", MetaSchema: "dm_meta", OnDuplicate: "replace", EnhanceOnlineSchemaChange: true, Collation: "loose",
		Target:  TargetSpec{Host: "t", Port: 4000, User: "root", PasswordEnc: "p", Security: &TLSSpec{SSLCA: "ca", CertAllowedCN: []string{"cn"}}},
		Filters: map[string]FilterSpec{"f": {IgnoreEvents: []string{"drop table"}, IgnoreSQL: []string{"^DROP"}}},
		Full:    FullSpec{ExportThreads: 1, ImportThreads: 2, DataDir: "d", Consistency: "none"},
		Incr:    IncrSpec{ReplThreads: 3, ReplBatch: 4},
		Sources: map[string]SubtaskSpec{"s1": {Rules: []RuleSpec{{Schema: "a", Table: "b", TargetSchema: "c", TargetTable: "d", FilterRules: []string{"f"}}},
			BinlogName: "b.000001", BinlogPos: 4, BinlogGTID: "0-1-2"}},
		PrecheckWarnings: map[string][]string{"s1": {"w"}}, KeepDumpFiles: true,
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	cmds := sampleCommands()
	require.Len(t, cmds, len(commandTypes()))
	for i, c := range cmds {
		require.Equal(t, commandTypes()[i], c.CommandType())
		data, err := Encode(c)
		require.NoError(t, err)
		got, err := Decode(data)
		require.NoError(t, err)
		assert.Equal(t, c, got, c.CommandType().String())
	}
}

func TestEnvelopeFormat(t *testing.T) {
	data, err := Encode(&RemoveMaster{Name: "m1"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":2,"t":2,"b":{"name":"m1"}}`, string(data))

	// A value, not only a pointer, is a Command; Decode always hands back a pointer.
	data, err = Encode(DeleteWorker{Name: "w1"})
	require.NoError(t, err)
	got, err := Decode(data)
	require.NoError(t, err)
	assert.Equal(t, &DeleteWorker{Name: "w1"}, got)
}

func TestEncodeRejectsNil(t *testing.T) {
	_, err := Encode(nil)
	assert.Error(t, err)
	var nilPtr *BindSource
	_, err = Encode(nilPtr)
	assert.Error(t, err)
}

func TestCommandTypeString(t *testing.T) {
	assert.Equal(t, "RegisterMaster", TypeRegisterMaster.String())
	assert.Equal(t, "SetSubtaskStage", TypeSetSubtaskStage.String())
	assert.Equal(t, "CommandType(99)", CommandType(99).String())
	for _, c := range sampleCommands() {
		assert.NotContains(t, c.CommandType().String(), "CommandType(")
	}
}

// The numbers are part of the log format and must never move.
func TestCommandTypeNumbersAreStable(t *testing.T) {
	want := map[CommandType]uint16{
		TypeRegisterMaster: 1, TypeRemoveMaster: 2, TypeRegisterWorker: 3, TypeDeleteWorker: 4,
		TypeAddSource: 5, TypeDeleteSource: 6, TypeBindSource: 7, TypeUnbindSource: 8,
		TypeStartRelay: 9, TypeStopRelay: 10, TypeSetRelayStage: 11, TypeAddTask: 12,
		TypeDeleteSubtasks: 13, TypeSetSubtaskStage: 14, TypeSetLoadWorker: 15, TypeReportShardDDL: 16,
		TypeShardDDLDone: 17, TypeUnlockShardDDL: 18, TypeClaimShardColumns: 19, TypeSetClusterKey: 20,
		TypeRekeySecrets: 21, TypeSetBinlogOps: 22, TypeRevertBinlogOps: 23, TypeBinlogOpDone: 24,
		TypeUpdateSource: 25, TypeUpdateTask: 26,
	}
	for ct, n := range want {
		assert.Equal(t, n, uint16(ct), ct.String())
	}
}

func TestEveryTypeHasDecoderAndHandler(t *testing.T) {
	f := New()
	for _, ct := range commandTypes() {
		c, ok := newCommand(ct)
		require.True(t, ok, ct.String())
		require.Equal(t, ct, c.CommandType())
		require.Contains(t, f.handlers, ct)
	}
	_, ok := newCommand(0)
	assert.False(t, ok)
	_, ok = newCommand(27)
	assert.False(t, ok)
	assert.Len(t, f.handlers, len(commandTypes()))
}

func TestDecodeRejects(t *testing.T) {
	cases := map[string]string{
		"garbage":          `not json`,
		"empty":            ``,
		"no version":       `{"t":2,"b":{"name":"m"}}`,
		"unknown version":  `{"v":3,"t":2,"b":{"name":"m"}}`,
		"unknown type":     `{"v":1,"t":99,"b":{}}`,
		"type zero":        `{"v":1,"t":0,"b":{}}`,
		"no body":          `{"v":1,"t":2}`,
		"null body":        `{"v":1,"t":2,"b":null}`,
		"bad body":         `{"v":1,"t":2,"b":{"name":5}}`,
		"unknown field":    `{"v":1,"t":2,"b":{"name":"m","extra":1}}`,
		"unknown env key":  `{"v":1,"t":2,"b":{"name":"m"},"x":1}`,
		"trailing data":    `{"v":1,"t":2,"b":{"name":"m"}} {}`,
		"body not object":  `{"v":1,"t":2,"b":[1]}`,
		"truncated":        `{"v":1,"t":2,"b":{"name":"m"`,
		"stage wrong type": `{"v":1,"t":11,"b":{"source":"s","stage":3}}`,
		// Version 1 carried configs, version 2 specs; neither reads the other's.
		"v1 source with a spec":   `{"v":1,"t":5,"b":{"source":{"name":"s","spec":{"version":1}}}}`,
		"v2 source with a config": `{"v":2,"t":5,"b":{"source":{"name":"s","config":"e30="}}}`,
		"v1 task with a spec":     `{"v":1,"t":12,"b":{"task":{"name":"t","spec":{"version":1}}}}`,
		"v2 task with a config":   `{"v":2,"t":12,"b":{"task":{"name":"t","config":"e30="}}}`,
		"v1 config not JSON":      `{"v":1,"t":5,"b":{"source":{"name":"s","config":"bm90IGpzb24="}}}`,
		"v1 config not base64":    `{"v":1,"t":12,"b":{"task":{"name":"t","config":"{}"}}}`,
		"v2 spec unknown field":   `{"v":2,"t":5,"b":{"source":{"name":"s","spec":{"version":1,"future":true}}}}`,
	}
	// The rules of the envelope hold in both versions.
	v2 := map[string]string{}
	for name, data := range cases {
		if strings.HasPrefix(data, `{"v":1,`) && !strings.HasPrefix(name, "v1 ") {
			v2[name+" (v2)"] = strings.Replace(data, `"v":1`, `"v":2`, 1)
		}
	}
	maps.Copy(cases, v2)
	for name, data := range cases {
		_, err := Decode([]byte(data))
		assert.Error(t, err, name)
	}
}

func TestApplyPanicsOnUndecodableEntry(t *testing.T) {
	h := seeded(t)
	before := stateBytes(t, h.f)
	idx := h.f.Index()
	for name, data := range map[string]string{
		"garbage":         "\x00\x01garbage",
		"unknown version": `{"v":7,"t":3,"b":{"name":"w9"}}`,
		"unknown type":    `{"v":1,"t":4242,"b":{}}`,
		"bad body":        `{"v":1,"t":3,"b":{"name":["w9"]}}`,
		"unknown field":   `{"v":1,"t":3,"b":{"name":"w9","future":true}}`,
	} {
		assert.Panics(t, func() { _ = h.f.Apply(idx+1, []byte(data)) }, name)
	}
	assert.Equal(t, idx, h.f.Index(), "a panicking entry must not move the index")
	assert.Equal(t, before, stateBytes(t, h.f))
}

func TestErrorType(t *testing.T) {
	h := newHarness(t)
	err := h.apply(&DeleteWorker{Name: "w1"})
	assert.EqualError(t, err, `worker "w1" does not exist`)
	code, ok := CodeOf(err)
	assert.True(t, ok)
	assert.Equal(t, CodeWorkerNotExist, code)

	var coded interface{ ErrorCode() int }
	require.ErrorAs(t, err, &coded)
	assert.Equal(t, int(CodeWorkerNotExist), coded.ErrorCode())

	_, ok = CodeOf(assert.AnError)
	assert.False(t, ok)

	// The typed nil must not leak out as a non-nil error on success.
	assert.NoError(t, h.apply(worker("w1")))
}
