package fsm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const tgt = "`db`.`t`"

var (
	tgtLock = ShardLockID("t1", tgt)
	tgtDDLs = []string{"ALTER TABLE `db`.`t` ADD COLUMN c INT", "ALTER TABLE `db`.`t` ADD INDEX (c)"}
)

func report(source string, ddls ...string) *ReportShardDDL {
	return &ReportShardDDL{Task: "t1", Source: source, Target: tgt, DDLs: ddls}
}

func shardDone(source string) *ShardDDLDone { return &ShardDDLDone{ID: tgtLock, Source: source} }

// shardHarness has task t1 on s1..s3.
func shardHarness(t *testing.T) *harness {
	h := seeded(t)
	h.ok(task("t1", "s1", "s2", "s3"))
	return h
}

func (h *harness) lock() ShardLock {
	h.t.Helper()
	l, ok := h.f.ShardLock(tgtLock)
	require.True(h.t, ok, "lock %s", tgtLock)
	return l
}

// same applies a command that must succeed without changing the state.
func (h *harness) same(c Command) {
	h.t.Helper()
	before := stateBytes(h.t, h.f)
	h.ok(c)
	require.Equal(h.t, string(before), string(stateBytes(h.t, h.f)), "%T %+v changed the state", c, c)
}

func TestShardLockID(t *testing.T) {
	assert.Equal(t, "task-`db`.`t`", ShardLockID("task", tgt))
}

func TestReportShardDDL(t *testing.T) {
	h := shardHarness(t)
	h.ok(report("s2", tgtDDLs...))
	want := ShardLock{
		ID: tgtLock, Task: "t1", Target: tgt, DDLs: tgtDDLs, Owner: "s2",
		Sources: []string{"s1", "s2", "s3"}, Synced: []string{"s2"}, Acked: []string{},
	}
	assert.Equal(t, want, h.lock())

	h.same(report("s2", tgtDDLs...)) // a repeat

	h.ok(report("s1", tgtDDLs...))
	want.Synced = []string{"s1", "s2"}
	assert.Equal(t, want, h.lock(), "the first reporter stays the owner")

	h.ok(report("s3", tgtDDLs...))
	want.Synced = []string{"s1", "s2", "s3"}
	want.Resolved, want.Action = true, ShardActionExec
	assert.Equal(t, want, h.lock())
	h.same(report("s3", tgtDDLs...))

	// Reads are deep copies, sorted by ID, filtered by task.
	l := h.lock()
	l.DDLs[0], l.Synced[0] = "x", "x"
	assert.Equal(t, want, h.lock())
	h.ok(task("t0", "s1"), &ReportShardDDL{Task: "t0", Source: "s1", Target: "`db`.`u`", DDLs: []string{"DROP"}})
	assert.Equal(t, []ShardLock{want}, h.f.ShardLocks("t1"))
	all := h.f.ShardLocks("")
	require.Len(t, all, 2)
	assert.Equal(t, ShardLockID("t0", "`db`.`u`"), all[0].ID)
	assert.Equal(t, want, all[1])
	assert.Equal(t, []ShardLock{}, h.f.ShardLocks("nope"))
	_, ok := h.f.ShardLock("nope")
	assert.False(t, ok)
}

func TestReportShardDDLSingleSourceResolvesAtOnce(t *testing.T) {
	h := seeded(t)
	h.ok(task("t1", "s1"), report("s1", "DROP"))
	l := h.lock()
	assert.True(t, l.Resolved)
	assert.Equal(t, ShardActionExec, l.Action)
	assert.Equal(t, "s1", l.Owner)
}

func TestReportShardDDLRejects(t *testing.T) {
	h := shardHarness(t)
	e := h.reject(&ReportShardDDL{Task: "nope", Source: "s1", Target: tgt, DDLs: tgtDDLs}, CodeTaskNotExist)
	assert.Equal(t, `task "nope" does not exist`, e.Msg)
	h.ok(task("t2", "s1"))
	e = h.reject(&ReportShardDDL{Task: "t2", Source: "s2", Target: tgt, DDLs: tgtDDLs}, CodeSourceNotInTask)
	assert.Equal(t, `source "s2" is not part of task "t2"`, e.Msg)
	h.ok(plainTask("plain", "s1"))
	e = h.reject(&ReportShardDDL{Task: "plain", Source: "s1", Target: tgt, DDLs: []string{"DROP TABLE `db`.`t`"}}, CodeRequestInvalid)
	assert.Equal(t, `task "plain" merges no shards (it has no shard_mode), so it takes no shard DDLs or columns from source "s1"`, e.Msg)
	assert.Empty(t, h.f.ShardLocks("plain"))
	h.reject(&ReportShardDDL{Task: "t1", Source: "s1", DDLs: tgtDDLs}, CodeRequestInvalid)
	h.reject(report("s1"), CodeRequestInvalid)
	h.reject(report("s1", "ALTER", ""), CodeRequestInvalid)

	h.ok(report("s1", "A1", "A2"))
	e = h.reject(report("s2", "B1"), CodeShardDDLConflict)
	assert.Equal(t, `source "s2" sent DDLs ["B1"] for `+"`db`.`t`"+`, but lock t1-`+"`db`.`t`"+` holds ["A1" "A2"] from source "s1"`, e.Msg)
	h.reject(report("s2", "A1"), CodeShardDDLConflict)
	h.reject(report("s1", "A2", "A1"), CodeShardDDLConflict)

	// Ids are formed as DM forms them, so two locks can claim one; the second is refused.
	h.ok(task("a", "s1"), task("a-b", "s1"), &ReportShardDDL{Task: "a-b", Source: "s1", Target: "c", DDLs: tgtDDLs})
	e = h.reject(&ReportShardDDL{Task: "a", Source: "s1", Target: "b-c", DDLs: tgtDDLs}, CodeRequestInvalid)
	assert.Contains(t, e.Msg, `lock "a-b-c" belongs to task "a-b"`)
}

func TestShardDDLDone(t *testing.T) {
	h := shardHarness(t)
	h.same(shardDone("s1")) // unknown lock

	h.ok(report("s2", tgtDDLs...), report("s1", tgtDDLs...))
	e := h.reject(shardDone("s2"), CodeRequestInvalid)
	assert.Equal(t, `lock "t1-`+tgt+`" is not resolved yet: source(s) s3 have not reported its DDLs`, e.Msg)
	e = h.reject(shardDone("s1"), CodeRequestInvalid)
	assert.Equal(t, `source "s1" cannot ack lock "t1-`+tgt+`" before its owner "s2" ran the DDLs`, e.Msg)
	e = h.reject(shardDone("s3"), CodeRequestInvalid)
	assert.Contains(t, e.Msg, `source "s3" has not reported the DDLs of lock`)

	h.ok(report("s3", tgtDDLs...))
	h.reject(shardDone("s1"), CodeRequestInvalid) // resolved, but the owner has not run the DDLs
	h.ok(shardDone("s2"))
	l := h.lock()
	assert.True(t, l.Done)
	assert.Equal(t, []string{"s2"}, l.Acked)
	h.same(shardDone("s2"))

	h.ok(shardDone("s3"))
	assert.Equal(t, []string{"s2", "s3"}, h.lock().Acked)
	h.same(shardDone("s3"))

	// A source past the DDLs that reports them again changes nothing; its next, different DDLs
	// wait for the lock to go.
	h.same(report("s3", tgtDDLs...))
	e = h.reject(report("s3", "NEXT"), CodeShardDDLConflict)
	assert.Contains(t, e.Msg, "already acked")

	h.ok(shardDone("s1"))
	_, ok := h.f.ShardLock(tgtLock)
	assert.False(t, ok, "the last ack removes the lock")
	h.same(shardDone("s1")) // a late repeat
	assert.Empty(t, h.f.ShardLocks(""))

	h.ok(report("s3", "NEXT"))
	assert.Equal(t, "s3", h.lock().Owner, "the next DDLs start a new lock")
}

func TestUnlockShardDDL(t *testing.T) {
	h := shardHarness(t)
	e := h.reject(&UnlockShardDDL{ID: tgtLock}, CodeShardLockNotFound)
	assert.Equal(t, `lock "t1-`+tgt+`" not found`, e.Msg)

	h.ok(report("s2", tgtDDLs...), report("s1", tgtDDLs...))
	h.reject(&UnlockShardDDL{ID: tgtLock, Action: "drop"}, CodeRequestInvalid)
	e = h.reject(&UnlockShardDDL{ID: tgtLock, Owner: "s3"}, CodeRequestInvalid)
	assert.Equal(t, `source "s3" cannot own lock "t1-`+tgt+`": only a source that reported its DDLs can run them, one of s1, s2`, e.Msg)

	h.ok(&UnlockShardDDL{ID: tgtLock, Owner: "s1"}) // Action "" is exec
	want := ShardLock{
		ID: tgtLock, Task: "t1", Target: tgt, DDLs: tgtDDLs, Owner: "s1", Sources: []string{"s1", "s2"},
		Synced: []string{"s1", "s2"}, Resolved: true, Action: ShardActionExec, Acked: []string{},
	}
	assert.Equal(t, want, h.lock(), "s3, which never reported, is dropped")

	// Until the owner ran them, the operator may change their mind.
	h.ok(&UnlockShardDDL{ID: tgtLock, Action: ShardActionExec, Owner: "s2"})
	want.Owner = "s2"
	assert.Equal(t, want, h.lock())

	// A dropped source that reports after all joins the lock and must ack it too.
	h.ok(report("s3", tgtDDLs...))
	want.Sources, want.Synced = []string{"s1", "s2", "s3"}, []string{"s1", "s2", "s3"}
	assert.Equal(t, want, h.lock())

	h.ok(shardDone("s2"))
	e = h.reject(&UnlockShardDDL{ID: tgtLock}, CodeRequestInvalid)
	assert.Equal(t, `lock "t1-`+tgt+`" is already resolved: its owner "s2" ran its DDLs`, e.Msg)
	h.ok(shardDone("s1"), shardDone("s3"))
	assert.Empty(t, h.f.ShardLocks(""))
}

func TestUnlockShardDDLSkip(t *testing.T) {
	h := shardHarness(t)
	h.ok(report("s1", tgtDDLs...), report("s3", tgtDDLs...))
	h.ok(&UnlockShardDDL{ID: tgtLock, Action: ShardActionSkip})
	assert.Equal(t, ShardLock{
		ID: tgtLock, Task: "t1", Target: tgt, DDLs: tgtDDLs, Owner: "s1", Sources: []string{"s1", "s3"},
		Synced: []string{"s1", "s3"}, Resolved: true, Action: ShardActionSkip, Done: true, Acked: []string{},
	}, h.lock())
	e := h.reject(&UnlockShardDDL{ID: tgtLock, Action: ShardActionExec}, CodeRequestInvalid)
	assert.Equal(t, `lock "t1-`+tgt+`" is already resolved: its DDLs were skipped`, e.Msg)

	// After a skip nobody runs the DDLs: any source may ack right away.
	h.ok(shardDone("s3"))
	assert.Equal(t, []string{"s3"}, h.lock().Acked)
	h.ok(shardDone("s1"))
	assert.Empty(t, h.f.ShardLocks(""))
}

func TestDeleteSubtasksDropsShardState(t *testing.T) {
	h := shardHarness(t)
	h.ok(task("t2", "s1", "s2"), &ReportShardDDL{Task: "t2", Source: "s1", Target: tgt, DDLs: tgtDDLs},
		&ClaimShardColumns{Task: "t2", Target: tgt, Source: "s1", Table: "`db`.`t1`", Columns: []ColumnDef{{Name: "c", Def: "int"}}})

	h.ok(report("s1", tgtDDLs...), report("s2", tgtDDLs...))
	// The owner goes: the first source left takes over.
	h.ok(&DeleteSubtasks{Task: "t1", Sources: []string{"s1"}})
	l := h.lock()
	assert.Equal(t, "s2", l.Owner)
	assert.Equal(t, []string{"s2", "s3"}, l.Sources)
	assert.Equal(t, []string{"s2"}, l.Synced)
	assert.False(t, l.Resolved)

	// The only source not heard from goes: nothing is left to wait for.
	h.ok(&DeleteSubtasks{Task: "t1", Sources: []string{"s3"}})
	l = h.lock()
	assert.True(t, l.Resolved)
	assert.Equal(t, ShardActionExec, l.Action)
	assert.Equal(t, []string{"s2"}, l.Sources)

	// The last source that reported goes: so does the lock.
	h.ok(task("t1", "s1"), &DeleteSubtasks{Task: "t1", Sources: []string{"s2"}})
	assert.Empty(t, h.f.ShardLocks("t1"))

	// The only source that had not acked goes: the lock is complete.
	h.ok(task("t1", "s2", "s3"), report("s1", tgtDDLs...), report("s2", tgtDDLs...), report("s3", tgtDDLs...),
		shardDone("s1"), shardDone("s2"))
	h.ok(&DeleteSubtasks{Task: "t1", Sources: []string{"s3"}})
	assert.Empty(t, h.f.ShardLocks("t1"))

	// The task goes: its locks and column claims go with it, other tasks' stay.
	h.ok(&ReportShardDDL{Task: "t1", Source: "s1", Target: "`db`.`u`", DDLs: tgtDDLs},
		&ClaimShardColumns{Task: "t1", Target: tgt, Source: "s1", Table: "`db`.`t1`", Columns: []ColumnDef{{Name: "c", Def: "int"}}})
	h.ok(&DeleteSubtasks{Task: "t1"})
	assert.Empty(t, h.f.ShardLocks("t1"))
	assert.Empty(t, h.f.ShardColumns("t1", tgt))
	assert.Len(t, h.f.ShardLocks("t2"), 1)
	assert.Len(t, h.f.ShardColumns("t2", tgt), 1)

	// A task of the same name starts afresh.
	h.ok(task("t1", "s1"))
	assert.Empty(t, h.f.ShardColumns("t1", tgt))
}

func claim(source, table string, cols ...ColumnDef) *ClaimShardColumns {
	return &ClaimShardColumns{Task: "t1", Target: tgt, Source: source, Table: table, Columns: cols}
}

func TestClaimShardColumns(t *testing.T) {
	h := shardHarness(t)
	assert.Equal(t, map[string]ShardColumn{}, h.f.ShardColumns("t1", tgt))

	h.ok(claim("s1", "`db`.`t1`", ColumnDef{Name: "C", Def: "int(11)"}, ColumnDef{Name: "d", Def: " varchar(20) DEFAULT NULL "}))
	want := map[string]ShardColumn{
		"c": {Source: "s1", Table: "`db`.`t1`", Def: "int(11)"},
		"d": {Source: "s1", Table: "`db`.`t1`", Def: "varchar(20) DEFAULT NULL"},
	}
	assert.Equal(t, want, h.f.ShardColumns("t1", tgt))

	// The same definition, in any case and spacing, agrees; the first claim stands.
	h.same(claim("s2", "`db`.`t2`", ColumnDef{Name: "c", Def: " INT(11)"}, ColumnDef{Name: "D", Def: "VARCHAR(20) default null"}))
	h.same(claim("s1", "`db`.`t1`"))

	h.ok(claim("s2", "`db`.`t2`", ColumnDef{Name: "e", Def: "int"}))
	want["e"] = ShardColumn{Source: "s2", Table: "`db`.`t2`", Def: "int"}
	got := h.f.ShardColumns("t1", tgt)
	assert.Equal(t, want, got)
	got["c"] = ShardColumn{}
	assert.Equal(t, want, h.f.ShardColumns("t1", tgt), "reads are copies")

	// Other targets and tasks are separate.
	h.ok(&ClaimShardColumns{Task: "t1", Target: "`db`.`u`", Source: "s3", Table: "`db`.`u3`", Columns: []ColumnDef{{Name: "c", Def: "text"}}})
	assert.Equal(t, map[string]ShardColumn{"c": {Source: "s3", Table: "`db`.`u3`", Def: "text"}}, h.f.ShardColumns("t1", "`db`.`u`"))
	assert.Empty(t, h.f.ShardColumns("t2", tgt))
}

func TestClaimShardColumnsRejects(t *testing.T) {
	h := shardHarness(t)
	h.ok(claim("s1", "`db`.`t1`", ColumnDef{Name: "c", Def: "int(11)"}))

	// All or nothing: the new column f is not recorded either.
	e := h.reject(claim("s2", "`db`.`t2`", ColumnDef{Name: "f", Def: "int"}, ColumnDef{Name: "C", Def: "varchar(20)"}), CodeShardDDLConflict)
	assert.Equal(t, "shards disagree on column `c` of `db`.`t`: source \"s1\" table `db`.`t1` added it as int(11), source \"s2\" table `db`.`t2` adds it as varchar(20)", e.Msg)
	e = h.reject(claim("s2", "`db`.`t2`", ColumnDef{Name: "g", Def: "int"}, ColumnDef{Name: "G", Def: "bigint"}), CodeShardDDLConflict)
	assert.Contains(t, e.Msg, "column `g`")

	e = h.reject(&ClaimShardColumns{Task: "nope", Target: tgt, Source: "s1", Table: "`db`.`t1`"}, CodeTaskNotExist)
	assert.Equal(t, `task "nope" does not exist`, e.Msg)
	h.reject(&ClaimShardColumns{Task: "t1", Target: tgt, Source: "s9", Table: "`db`.`t1`"}, CodeSourceNotInTask)
	h.ok(plainTask("plain", "s1"))
	h.reject(&ClaimShardColumns{Task: "plain", Target: tgt, Source: "s1", Table: "`db`.`t1`", Columns: []ColumnDef{{Name: "h", Def: "int"}}}, CodeRequestInvalid)
	h.reject(&ClaimShardColumns{Task: "t1", Source: "s1", Table: "`db`.`t1`"}, CodeRequestInvalid)
	h.reject(&ClaimShardColumns{Task: "t1", Target: tgt, Source: "s1"}, CodeRequestInvalid)
	h.reject(claim("s1", "`db`.`t1`", ColumnDef{Name: "h", Def: "int"}, ColumnDef{Def: "int"}), CodeRequestInvalid)
	h.reject(claim("s1", "`db`.`t1`", ColumnDef{Name: "h", Def: " "}), CodeRequestInvalid)
}
