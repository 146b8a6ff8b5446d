package fsm

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// richState exercises every record kind.
func richState(t *testing.T) *harness {
	h := seeded(t)
	h.ok(
		&RegisterMaster{Name: "m2", APIAddr: "b:8261", PeerAddr: "b:8291", GossipAddr: "b:7946"},
		&RegisterMaster{Name: "m1", APIAddr: "a:8261", PeerAddr: "a:8291", GossipAddr: "a:7946"},
		&AddSource{Source: Source{Name: "s4", Spec: SourceSpec{Version: SourceSpecVersion}, LastWorker: "w9"}},     // nothing but the version
		&AddSource{Source: Source{Name: "s5", Spec: SourceSpec{Version: SourceSpecVersion, Security: &TLSSpec{}}}}, // an empty TLS block, not none
		&BindSource{Source: "s2", Worker: "w2"},
		&BindSource{Source: "s1", Worker: "w1"},
		&UnbindSource{Source: "s2"},
		&BindSource{Source: "s2", Worker: "w3"},
		&StartRelay{Source: "s1", Workers: []string{"w1"}, BinlogName: "b.000009", BinlogGTID: "0-1-9", RelayDir: "/r"},
		&StartRelay{Source: "s3", Workers: []string{"w2"}},
		&SetRelayStage{Source: "s3", Stage: StagePaused},
		task("t2", "s1", "s2"),
		task("t1", "s3"),
		&SetSubtaskStage{Task: "t2", Sources: []string{"s2"}, Stage: StageStopped},
		&ReportShardDDL{Task: "t2", Source: "s2", Target: "`db`.`b`", DDLs: []string{"ALTER b"}},
		&ReportShardDDL{Task: "t2", Source: "s1", Target: "`db`.`a`", DDLs: []string{"ALTER a", "ALTER a2"}},
		&ReportShardDDL{Task: "t2", Source: "s2", Target: "`db`.`a`", DDLs: []string{"ALTER a", "ALTER a2"}},
		&ShardDDLDone{ID: ShardLockID("t2", "`db`.`a`"), Source: "s1"},
		&ReportShardDDL{Task: "t1", Source: "s3", Target: "`db`.`c`", DDLs: []string{"ALTER c"}},
		&UnlockShardDDL{ID: ShardLockID("t1", "`db`.`c`"), Action: ShardActionSkip},
		&ClaimShardColumns{Task: "t2", Target: "`db`.`b`", Source: "s2", Table: "`db`.`b2`", Columns: []ColumnDef{{Name: "y", Def: "int"}, {Name: "x", Def: "text"}}},
		&ClaimShardColumns{Task: "t2", Target: "`db`.`a`", Source: "s1", Table: "`db`.`a1`", Columns: []ColumnDef{{Name: "x", Def: "int"}}},
		&ClaimShardColumns{Task: "t1", Target: "`db`.`a`", Source: "s3", Table: "`db`.`a3`", Columns: []ColumnDef{{Name: "x", Def: "int"}}},
		&SetBinlogOps{Task: "t2", Ops: []BinlogOp{
			{Task: "t2", BinlogEvent: BinlogEvent{Source: "s2", File: "b.000003", Pos: 4}, Op: BinlogOpSkip},
			{Task: "t2", BinlogEvent: BinlogEvent{Source: "s1", File: "b.000002", Pos: 1200}, Op: BinlogOpReplace, SQLs: []string{"ALTER TABLE db.a ADD x INT"}},
		}},
	)
	return h
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	h := richState(t)
	snap := h.f.Snapshot()
	assert.Equal(t, h.f.Index(), snap.Index())
	data := snapshotBytes(t, snap)
	assert.Equal(t, data, snapshotBytes(t, snap), "WriteTo can be repeated")

	g := New()
	require.NoError(t, g.Restore(bytes.NewReader(data)))
	require.NoError(t, g.st.check())
	assert.Equal(t, h.f.Index(), g.Index())
	assert.Equal(t, string(data), string(snapshotBytes(t, g.Snapshot())))

	assert.Equal(t, h.f.Masters(), g.Masters())
	assert.Equal(t, h.f.Workers(), g.Workers())
	assert.Equal(t, h.f.Sources(), g.Sources())
	assert.Equal(t, h.f.Bindings(), g.Bindings())
	assert.Equal(t, h.f.Tasks(), g.Tasks())
	assert.Len(t, g.ShardLocks(""), 3)
	assert.Equal(t, h.f.ShardLocks(""), g.ShardLocks(""))
	for _, target := range []string{"`db`.`a`", "`db`.`b`"} {
		for _, task := range []string{"t1", "t2"} {
			assert.Equal(t, h.f.ShardColumns(task, target), g.ShardColumns(task, target))
		}
	}
	assert.Len(t, g.ShardColumns("t2", "`db`.`b`"), 2)
	assert.Len(t, g.BinlogOps(""), 2)
	assert.Equal(t, h.f.BinlogOps(""), g.BinlogOps(""))
	for _, s := range []string{"s1", "s2", "s3", "s4", "s5"} {
		r1, ok1 := h.f.Relay(s)
		r2, ok2 := g.Relay(s)
		assert.Equal(t, ok1, ok2)
		assert.Equal(t, r1, r2)
		assert.Equal(t, h.f.TasksOfSource(s), g.TasksOfSource(s))
	}
	for _, w := range []string{"w1", "w2", "w3", "ghost"} {
		assert.Equal(t, h.f.WorkerView(w), g.WorkerView(w))
	}

	// The restored FSM goes on applying like the original.
	data2, err := Encode(&DeleteWorker{Name: "w1"})
	require.NoError(t, err)
	require.NoError(t, h.f.Apply(h.f.Index()+1, data2))
	require.NoError(t, g.Apply(g.Index()+1, data2))
	assert.Equal(t, snapshotBytes(t, h.f.Snapshot()), snapshotBytes(t, g.Snapshot()))
}

func TestSnapshotFormat(t *testing.T) {
	h := newHarness(t)
	h.ok(worker("w1"), source("s1"), &BindSource{Source: "s1", Worker: "w1"})
	lines := strings.Split(strings.TrimSuffix(string(snapshotBytes(t, h.f.Snapshot())), "\n"), "\n")
	assert.Equal(t, []string{
		`{"kind":"header","data":{"version":2,"index":3}}`,
		`{"kind":"worker","data":{"name":"w1","addr":"w1:8262","gossip_addr":"w1:7946","keepalive_ttl":60,"relay_keepalive_ttl":1800}}`,
		`{"kind":"source","data":{"name":"s1","spec":{"version":1,"host":"s1.db","port":3306,"user":"dm","password_enc":"enc-s1","enable_gtid":false,` +
			`"security":{"ssl_ca":"ca","cert_allowed_cn":["s1"]},"purge":{"interval":3600,"expires":0,"remain_space":15}},` +
			`"relay_binlog_name":"","relay_binlog_gtid":"","relay_dir":"","last_worker":""}}`,
		`{"kind":"binding","data":{"source":"s1","worker":"w1"}}`,
		`{"kind":"end","data":{"records":3}}`,
	}, lines)
}

func TestSnapshotShardRecords(t *testing.T) {
	h := newHarness(t)
	h.ok(source("s1"), source("s2"), task("t", "s1", "s2"),
		&ReportShardDDL{Task: "t", Source: "s2", Target: "`d`.`x`", DDLs: []string{"ALTER x"}},
		&ClaimShardColumns{Task: "t", Target: "`d`.`x`", Source: "s1", Table: "`d`.`x1`", Columns: []ColumnDef{{Name: "B", Def: "int"}, {Name: "a", Def: "text"}}})
	lines := strings.Split(strings.TrimSuffix(string(snapshotBytes(t, h.f.Snapshot())), "\n"), "\n")
	require.Len(t, lines, 7)
	assert.Equal(t, []string{
		`{"kind":"shard_lock","data":{"id":"t-` + "`d`.`x`" + `","task":"t","target":"` + "`d`.`x`" + `","ddls":["ALTER x"],"owner":"s2","sources":["s1","s2"],"synced":["s2"],"resolved":false,"done":false,"acked":[]}}`,
		`{"kind":"shard_columns","data":{"task":"t","target":"` + "`d`.`x`" + `","columns":{"a":{"source":"s1","table":"` + "`d`.`x1`" + `","def":"text"},"b":{"source":"s1","table":"` + "`d`.`x1`" + `","def":"int"}}}}`,
		`{"kind":"end","data":{"records":5}}`,
	}, lines[4:])
}

func TestSnapshotIsPointInTime(t *testing.T) {
	h := richState(t)
	snap := h.f.Snapshot()
	before := snapshotBytes(t, snap)
	h.ok(&SetSubtaskStage{Task: "t2", Stage: StagePaused}, &StartRelay{Source: "s1", Workers: []string{"w1"}, RelayDir: "/x"},
		&DeleteSubtasks{Task: "t1"}, &UnbindSource{Source: "s1"})
	assert.Equal(t, before, snapshotBytes(t, snap))
}

func TestRestoreEmptyState(t *testing.T) {
	g := richState(t).f
	require.NoError(t, g.Restore(bytes.NewReader(snapshotBytes(t, New().Snapshot()))))
	assert.Equal(t, uint64(0), g.Index())
	assert.Empty(t, g.Workers())
	assert.Empty(t, g.Bindings())
}

// Every cut of a valid stream, at a line boundary or inside a record, must be refused.
func TestRestoreTruncatedKeepsOldState(t *testing.T) {
	data := snapshotBytes(t, richState(t).f.Snapshot())
	old := newHarness(t)
	old.ok(worker("old"), source("old-src"), &BindSource{Source: "old-src", Worker: "old"})
	oldBytes := snapshotBytes(t, old.f.Snapshot())

	for n := 0; n < len(data)-1; n++ { // the final newline alone is not needed
		err := old.f.Restore(bytes.NewReader(data[:n]))
		require.Error(t, err, "cut at %d of %d", n, len(data))
		require.Contains(t, err.Error(), "restore snapshot")
	}
	assert.Equal(t, oldBytes, snapshotBytes(t, old.f.Snapshot()))
	assert.Equal(t, uint64(3), old.f.Index())
}

func TestRestoreRejectsCorruptStreams(t *testing.T) {
	const (
		hdr = `{"kind":"header","data":{"version":2,"index":5}}` + "\n"
		w1  = `{"kind":"worker","data":{"name":"w1"}}` + "\n"
		w2  = `{"kind":"worker","data":{"name":"w2"}}` + "\n"
		s1  = `{"kind":"source","data":{"name":"s1","spec":{"version":1}}}` + "\n"
		s2  = `{"kind":"source","data":{"name":"s2","spec":{"version":1}}}` + "\n"
		// tspec is the spec of task t.
		tspec = `"spec":{"version":1,"name":"t"}`
	)
	end := func(n int) string { return `{"kind":"end","data":{"records":` + strconv.Itoa(n) + `}}` + "\n" }
	// Task t on s1 and s2, with a lock that heard from the given sources only.
	const t1 = `{"kind":"task","data":{"name":"t",` + tspec + `,"subtasks":{"s1":{"source":"s1","stage":"Running"},"s2":{"source":"s2","stage":"Running"}}}}` + "\n"
	lock := func(task, synced, owner string) string {
		return `{"kind":"shard_lock","data":{"id":"t-x","task":` + task + `,"target":"x","ddls":["D"],"owner":` + owner +
			`,"sources":["s1","s2"],"synced":` + synced + `,"resolved":false,"done":false,"acked":[]}}` + "\n"
	}
	cols := func(task, columns string) string {
		return `{"kind":"shard_columns","data":{"task":` + task + `,"target":"x","columns":` + columns + `}}` + "\n"
	}

	// The baseline is valid, so each case below fails for its own reason only.
	g := New()
	require.NoError(t, g.Restore(strings.NewReader(hdr+w1+s1+end(2))))
	assert.Equal(t, uint64(5), g.Index())
	shard := New()
	require.NoError(t, shard.Restore(strings.NewReader(hdr+s1+s2+t1+lock(`"t"`, `["s1"]`, `"s1"`)+
		cols(`"t"`, `{"c":{"source":"s1","table":"x1","def":"int"}}`)+end(5))))
	assert.Len(t, shard.ShardLocks("t"), 1)
	assert.Len(t, shard.ShardColumns("t", "x"), 1)

	for name, stream := range map[string]string{
		"empty":                  ``,
		"no header":              w1 + end(1),
		"header twice":           hdr + hdr + end(1),
		"bad version":            `{"kind":"header","data":{"version":3,"index":5}}` + "\n" + end(0),
		"source spec version 0":  hdr + `{"kind":"source","data":{"name":"s1","spec":{"version":0}}}` + "\n" + end(1),
		"source spec version 2":  hdr + `{"kind":"source","data":{"name":"s1","spec":{"version":2}}}` + "\n" + end(1),
		"source without spec":    hdr + `{"kind":"source","data":{"name":"s1"}}` + "\n" + end(1),
		"source with config":     hdr + `{"kind":"source","data":{"name":"s1","config":"e30="}}` + "\n" + end(1),
		"source spec unknown":    hdr + `{"kind":"source","data":{"name":"s1","spec":{"version":1,"x":1}}}` + "\n" + end(1),
		"task spec of another":   hdr + s1 + `{"kind":"task","data":{"name":"t","spec":{"version":1,"name":"u"},"subtasks":{"s1":{"source":"s1","stage":"Running"}}}}` + "\n" + end(2),
		"task spec version 0":    hdr + s1 + `{"kind":"task","data":{"name":"t","spec":{"name":"t"},"subtasks":{"s1":{"source":"s1","stage":"Running"}}}}` + "\n" + end(2),
		"v1 source empty config": `{"kind":"header","data":{"version":1,"index":5}}` + "\n" + `{"kind":"source","data":{"name":"s1","config":""}}` + "\n" + end(1),
		"v1 source bad config":   `{"kind":"header","data":{"version":1,"index":5}}` + "\n" + `{"kind":"source","data":{"name":"s1","config":"bm90IGpzb24="}}` + "\n" + end(1),
		"v1 source with spec":    `{"kind":"header","data":{"version":1,"index":5}}` + "\n" + s1 + end(1),
		"unknown kind":           hdr + `{"kind":"gizmo","data":{}}` + "\n" + end(1),
		"unknown field":          hdr + `{"kind":"worker","data":{"name":"w1","x":1}}` + "\n" + end(1),
		"unknown record field":   hdr + `{"kind":"worker","data":{"name":"w1"},"x":1}` + "\n" + end(1),
		"bad json":               hdr + `{"kind":"worker","data":{"name":}}` + "\n" + end(1),
		"duplicate worker":       hdr + w1 + w1 + end(2),
		"unnamed worker":         hdr + `{"kind":"worker","data":{"name":""}}` + "\n" + end(1),
		"count mismatch":         hdr + w1 + end(2),
		"data after end":         hdr + w1 + end(1) + w2,
		"garbage after end":      hdr + w1 + end(1) + "xx",
		"binding unknown worker": hdr + s1 + `{"kind":"binding","data":{"source":"s1","worker":"w1"}}` + "\n" + end(2),
		"worker bound twice": hdr + w1 + s1 + s2 + `{"kind":"binding","data":{"source":"s1","worker":"w1"}}` + "\n" +
			`{"kind":"binding","data":{"source":"s2","worker":"w1"}}` + "\n" + end(5),
		"relay bad stage":  hdr + w1 + s1 + `{"kind":"relay","data":{"source":"s1","workers":["w1"],"stage":"Stopped"}}` + "\n" + end(3),
		"relay no workers": hdr + s1 + `{"kind":"relay","data":{"source":"s1","workers":[],"stage":"Running"}}` + "\n" + end(2),
		"relay unsorted":   hdr + w1 + w2 + s1 + `{"kind":"relay","data":{"source":"s1","workers":["w2","w1"],"stage":"Running"}}` + "\n" + end(4),
		"worker relays twice": hdr + w1 + s1 + s2 + `{"kind":"relay","data":{"source":"s1","workers":["w1"],"stage":"Running"}}` + "\n" +
			`{"kind":"relay","data":{"source":"s2","workers":["w1"],"stage":"Running"}}` + "\n" + end(5),
		"relay worker bound elsewhere": hdr + w1 + s1 + s2 + `{"kind":"binding","data":{"source":"s2","worker":"w1"}}` + "\n" +
			`{"kind":"relay","data":{"source":"s1","workers":["w1"],"stage":"Running"}}` + "\n" + end(5),
		"null task":               hdr + `{"kind":"task","data":null}` + "\n" + end(1),
		"no data":                 hdr + `{"kind":"worker"}` + "\n" + end(1),
		"task unknown source":     hdr + `{"kind":"task","data":{"name":"t",` + tspec + `,"subtasks":{"s1":{"source":"s1","stage":"Running"}}}}` + "\n" + end(1),
		"task no subtasks":        hdr + s1 + `{"kind":"task","data":{"name":"t",` + tspec + `,"subtasks":{}}}` + "\n" + end(2),
		"task null subtask":       hdr + s1 + `{"kind":"task","data":{"name":"t",` + tspec + `,"subtasks":{"s1":null}}}` + "\n" + end(2),
		"subtask wrong source":    hdr + s1 + s2 + `{"kind":"task","data":{"name":"t",` + tspec + `,"subtasks":{"s1":{"source":"s2","stage":"Running"}}}}` + "\n" + end(3),
		"subtask bad stage":       hdr + s1 + `{"kind":"task","data":{"name":"t",` + tspec + `,"subtasks":{"s1":{"source":"s1","stage":"Nope"}}}}` + "\n" + end(2),
		"shard lock unknown task": hdr + s1 + lock(`"t"`, `["s1"]`, `"s1"`) + end(2),
		"shard lock wrong id":     hdr + s1 + s2 + t1 + strings.Replace(lock(`"t"`, `["s1"]`, `"s1"`), `"id":"t-x"`, `"id":"t-y"`, 1) + end(4),
		"shard lock twice":        hdr + s1 + s2 + t1 + lock(`"t"`, `["s1"]`, `"s1"`) + lock(`"t"`, `["s1"]`, `"s1"`) + end(5),
		"shard lock not synced":   hdr + s1 + s2 + t1 + lock(`"t"`, `[]`, `"s1"`) + end(4),
		"shard lock unsorted":     hdr + s1 + s2 + t1 + lock(`"t"`, `["s2","s1"]`, `"s1"`) + end(4),
		"shard lock bad owner":    hdr + s1 + s2 + t1 + lock(`"t"`, `["s1"]`, `"s2"`) + end(4),
		"shard lock foreign src": hdr + s1 + s2 + `{"kind":"task","data":{"name":"t",` + tspec + `,"subtasks":{"s1":{"source":"s1","stage":"Running"}}}}` + "\n" +
			lock(`"t"`, `["s1"]`, `"s1"`) + end(4),
		"shard lock all synced": hdr + s1 + s2 + t1 + lock(`"t"`, `["s1","s2"]`, `"s1"`) + end(4),
		"shard lock no action":  hdr + s1 + s2 + t1 + strings.Replace(lock(`"t"`, `["s1"]`, `"s1"`), `"resolved":false`, `"resolved":true`, 1) + end(4),
		"shard lock early ack":  hdr + s1 + s2 + t1 + strings.Replace(lock(`"t"`, `["s1"]`, `"s1"`), `"acked":[]`, `"acked":["s1"]`, 1) + end(4),
		"shard columns no task": hdr + s1 + cols(`"t"`, `{"c":{"source":"s1","table":"x1","def":"int"}}`) + end(2),
		"shard columns empty":   hdr + s1 + s2 + t1 + cols(`"t"`, `{}`) + end(4),
		"shard columns null":    hdr + s1 + s2 + t1 + cols(`"t"`, `null`) + end(4),
		"shard columns upper":   hdr + s1 + s2 + t1 + cols(`"t"`, `{"C":{"source":"s1","table":"x1","def":"int"}}`) + end(4),
		"shard columns no def":  hdr + s1 + s2 + t1 + cols(`"t"`, `{"c":{"source":"s1","table":"x1","def":""}}`) + end(4),
		"shard columns twice": hdr + s1 + s2 + t1 + cols(`"t"`, `{"c":{"source":"s1","table":"x1","def":"int"}}`) +
			cols(`"t"`, `{"d":{"source":"s1","table":"x1","def":"int"}}`) + end(5),
	} {
		err := g.Restore(strings.NewReader(stream))
		assert.Error(t, err, name)
		t.Logf("%s: %v", name, err)
	}
	assert.Equal(t, uint64(5), g.Index())
	assert.Equal(t, []Worker{{Name: "w1"}}, g.Workers())
}
