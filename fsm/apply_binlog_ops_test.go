package fsm

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func event(source, file string, pos uint32) BinlogEvent {
	return BinlogEvent{Source: source, File: file, Pos: pos}
}

func skipOp(source, file string, pos uint32) BinlogOp {
	return BinlogOp{Task: "t1", BinlogEvent: event(source, file, pos), Op: BinlogOpSkip}
}

func replaceOp(source, file string, pos uint32, sqls ...string) BinlogOp {
	return BinlogOp{Task: "t1", BinlogEvent: event(source, file, pos), Op: BinlogOpReplace, SQLs: sqls}
}

func setOps(ops ...BinlogOp) *SetBinlogOps { return &SetBinlogOps{Task: "t1", Ops: ops} }

// binlogHarness has task t1 on s1 and s2, s1 bound to w1.
func binlogHarness(t *testing.T) *harness {
	h := seeded(t)
	h.ok(&BindSource{Source: "s1", Worker: "w1"}, plainTask("t1", "s1", "s2"))
	return h
}

func TestSetBinlogOps(t *testing.T) {
	h := binlogHarness(t)
	h.ok(setOps(skipOp("s1", "b.000010", 900), replaceOp("s1", "b.000009", 4, "ALTER TABLE t ADD c INT")))
	h.ok(setOps(skipOp("s2", "b.000001", 120)))
	assert.Equal(t, []BinlogOp{
		replaceOp("s1", "b.000009", 4, "ALTER TABLE t ADD c INT"),
		skipOp("s1", "b.000010", 900),
		skipOp("s2", "b.000001", 120),
	}, h.f.BinlogOps("t1"), "sorted by source, then file (by number) and position")
	assert.Empty(t, h.f.BinlogOps("other"))

	// An operation on the same event replaces the one there.
	h.ok(setOps(replaceOp("s1", "b.000010", 900, "SELECT 1", "SELECT 2")))
	o, ok := h.f.BinlogOpAt("t1", event("s1", "b.000010", 900))
	require.True(t, ok)
	assert.Equal(t, replaceOp("s1", "b.000010", 900, "SELECT 1", "SELECT 2"), o)
	o.SQLs[0] = "X"
	again, _ := h.f.BinlogOpAt("t1", event("s1", "b.000010", 900))
	assert.Equal(t, "SELECT 1", again.SQLs[0], "reads are copies")
	assert.Len(t, h.f.BinlogOps(""), 3)

	// The worker bound to s1 sees its source's operations, in order, with its subtask.
	v := h.f.WorkerView("w1")
	require.Len(t, v.Subtasks, 1)
	assert.Equal(t, []BinlogOp{replaceOp("s1", "b.000009", 4, "ALTER TABLE t ADD c INT"), replaceOp("s1", "b.000010", 900, "SELECT 1", "SELECT 2")}, v.Subtasks[0].BinlogOps)
}

func TestSetBinlogOpsRejects(t *testing.T) {
	h := binlogHarness(t)
	h.ok(setOps(skipOp("s1", "b.000001", 100)))
	for name, tc := range map[string]struct {
		c    *SetBinlogOps
		code Code
	}{
		"unknown task":        {&SetBinlogOps{Task: "nope", Ops: []BinlogOp{{Task: "nope", BinlogEvent: event("s1", "b.1", 4), Op: BinlogOpSkip}}}, CodeTaskNotExist},
		"no operation":        {setOps(), CodeVerifyHandleErrorArgs},
		"source not in task":  {setOps(skipOp("s3", "b.1", 4)), CodeSourceNotInTask},
		"no file":             {setOps(skipOp("s1", "", 4)), CodeVerifyHandleErrorArgs},
		"no position":         {setOps(skipOp("s1", "b.1", 0)), CodeVerifyHandleErrorArgs},
		"bad op":              {setOps(BinlogOp{Task: "t1", BinlogEvent: event("s1", "b.1", 4), Op: "inject"}), CodeVerifyHandleErrorArgs},
		"skip with sqls":      {setOps(BinlogOp{Task: "t1", BinlogEvent: event("s1", "b.1", 4), Op: BinlogOpSkip, SQLs: []string{"SELECT 1"}}), CodeVerifyHandleErrorArgs},
		"replace without sql": {setOps(replaceOp("s1", "b.1", 4)), CodeVerifyHandleErrorArgs},
		"replace empty sql":   {setOps(replaceOp("s1", "b.1", 4, "SELECT 1", "  ")), CodeVerifyHandleErrorArgs},
		"same event twice":    {setOps(skipOp("s1", "b.1", 4), replaceOp("s1", "b.1", 4, "SELECT 1")), CodeVerifyHandleErrorArgs},
		"other task's op":     {&SetBinlogOps{Task: "t1", Ops: []BinlogOp{{Task: "t2", BinlogEvent: event("s1", "b.1", 4), Op: BinlogOpSkip}}}, CodeRequestInvalid},
		"resume without op":   {&SetBinlogOps{Task: "t1", Ops: []BinlogOp{skipOp("s1", "b.1", 4)}, Resume: []string{"s2"}}, CodeRequestInvalid},
		// The first operations are valid: nothing of the command may be kept.
		"bad second op": {setOps(skipOp("s2", "b.1", 4), skipOp("s1", "b.1", 0)), CodeVerifyHandleErrorArgs},
	} {
		t.Run(name, func(t *testing.T) { h.reject(tc.c, tc.code) })
	}
}

// An operation on the event a subtask stopped on retries the subtask, unless the operator
// paused it.
func TestSetBinlogOpsResumes(t *testing.T) {
	h := binlogHarness(t)
	h.ok(&SetSubtaskStage{Task: "t1", Sources: []string{"s2"}, Stage: StagePaused})
	before, _ := h.f.Task("t1")
	h.ok(&SetBinlogOps{Task: "t1", Ops: []BinlogOp{skipOp("s1", "b.1", 4), skipOp("s2", "b.1", 4)}, Resume: []string{"s1", "s2", "s1"}})
	after, _ := h.f.Task("t1")
	assert.Equal(t, before.Subtasks["s1"].Resumes+1, after.Subtasks["s1"].Resumes, "raised once")
	assert.Equal(t, StageRunning, after.Subtasks["s1"].Stage)
	assert.Equal(t, *before.Subtasks["s2"], *after.Subtasks["s2"], "a paused subtask waits for its resume")

	h.ok(setOps(skipOp("s1", "b.1", 8)))
	again, _ := h.f.Task("t1")
	assert.Equal(t, after.Subtasks["s1"].Resumes, again.Subtasks["s1"].Resumes, "an operation armed ahead resumes nothing")
}

func TestRevertBinlogOps(t *testing.T) {
	h := binlogHarness(t)
	h.ok(setOps(skipOp("s1", "b.1", 4), skipOp("s1", "b.1", 8), skipOp("s2", "b.1", 4)))

	h.reject(&RevertBinlogOps{Task: "t1", Events: []BinlogEvent{event("s1", "b.1", 4), event("s1", "b.1", 12)}}, CodeSyncerOperatorNotExist)
	h.reject(&RevertBinlogOps{Task: "nope", Events: []BinlogEvent{event("s1", "b.1", 4)}}, CodeTaskNotExist)
	h.reject(&RevertBinlogOps{Task: "t1"}, CodeVerifyHandleErrorArgs)
	h.reject(&RevertBinlogOps{Task: "t1", Events: []BinlogEvent{event("s3", "b.1", 4)}}, CodeSourceNotInTask)
	h.reject(&RevertBinlogOps{Task: "t1", Events: []BinlogEvent{event("s1", "", 4)}}, CodeVerifyHandleErrorArgs)

	h.ok(&RevertBinlogOps{Task: "t1", Events: []BinlogEvent{event("s1", "b.1", 4), event("s2", "b.1", 4)}})
	assert.Equal(t, []BinlogOp{skipOp("s1", "b.1", 8)}, h.f.BinlogOps("t1"))
	h.reject(&RevertBinlogOps{Task: "t1", Events: []BinlogEvent{event("s1", "b.1", 4)}}, CodeSyncerOperatorNotExist)
}

func TestBinlogOpDone(t *testing.T) {
	h := binlogHarness(t)
	h.ok(setOps(skipOp("s1", "b.1", 4), skipOp("s1", "b.1", 8)))
	h.ok(&BinlogOpDone{Task: "t1", BinlogEvent: event("s1", "b.1", 4)})
	assert.Equal(t, []BinlogOp{skipOp("s1", "b.1", 8)}, h.f.BinlogOps("t1"))
	h.same(&BinlogOpDone{Task: "t1", BinlogEvent: event("s1", "b.1", 4)}) // a repeated report
	h.reject(&BinlogOpDone{Task: "nope", BinlogEvent: event("s1", "b.1", 8)}, CodeTaskNotExist)
	h.reject(&BinlogOpDone{Task: "t1", BinlogEvent: event("s3", "b.1", 8)}, CodeSourceNotInTask)
}

// The operations go with their subtasks.
func TestBinlogOpsGoWithTheirSubtasks(t *testing.T) {
	h := binlogHarness(t)
	h.ok(plainTask("t2", "s1"))
	h.ok(setOps(skipOp("s1", "b.1", 4), skipOp("s2", "b.1", 4)),
		&SetBinlogOps{Task: "t2", Ops: []BinlogOp{{Task: "t2", BinlogEvent: event("s1", "b.1", 4), Op: BinlogOpSkip}}})
	h.ok(&DeleteSubtasks{Task: "t1", Sources: []string{"s2"}})
	assert.Equal(t, []BinlogOp{skipOp("s1", "b.1", 4)}, h.f.BinlogOps("t1"))
	h.ok(&DeleteSubtasks{Task: "t1"})
	assert.Empty(t, h.f.BinlogOps("t1"))
	assert.Len(t, h.f.BinlogOps("t2"), 1, "another task's operation on the same event stays")

	// A task created again under the name starts without operations.
	h.ok(plainTask("t1", "s1"))
	assert.Empty(t, h.f.BinlogOps("t1"))
	assert.Empty(t, h.f.WorkerView("w1").Subtasks[0].BinlogOps)
}

func TestSnapshotBinlogOpRecords(t *testing.T) {
	h := newHarness(t)
	h.ok(source("s1"), plainTask("t1", "s1"),
		setOps(replaceOp("s1", "b.000010", 4, "SELECT 1"), skipOp("s1", "b.000009", 900)))
	data := snapshotBytes(t, h.f.Snapshot())
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 6)
	assert.Equal(t, []string{
		`{"kind":"binlog_op","data":{"task":"t1","source":"s1","file":"b.000009","pos":900,"op":"skip"}}`,
		`{"kind":"binlog_op","data":{"task":"t1","source":"s1","file":"b.000010","pos":4,"op":"replace","sqls":["SELECT 1"]}}`,
		`{"kind":"end","data":{"records":4}}`,
	}, lines[3:])

	g := New()
	require.NoError(t, g.Restore(bytes.NewReader(data)))
	assert.Equal(t, h.f.BinlogOps(""), g.BinlogOps(""))
	assert.Equal(t, string(data), string(snapshotBytes(t, g.Snapshot())))

	const (
		hdr  = `{"kind":"header","data":{"version":2,"index":5}}` + "\n"
		s1   = `{"kind":"source","data":{"name":"s1","spec":{"version":1}}}` + "\n"
		task = `{"kind":"task","data":{"name":"t","spec":{"version":1,"name":"t"},"subtasks":{"s1":{"source":"s1","stage":"Running"}}}}` + "\n"
	)
	op := func(data string) string { return `{"kind":"binlog_op","data":` + data + `}` + "\n" }
	end := func(n int) string { return `{"kind":"end","data":{"records":` + string(rune('0'+n)) + `}}` + "\n" }
	require.NoError(t, New().Restore(strings.NewReader(hdr+s1+task+op(`{"task":"t","source":"s1","file":"b.1","pos":4,"op":"skip"}`)+end(3))))
	for name, stream := range map[string]string{
		"unknown task":     hdr + s1 + op(`{"task":"u","source":"s1","file":"b.1","pos":4,"op":"skip"}`) + end(2),
		"source not in it": hdr + s1 + task + op(`{"task":"t","source":"s2","file":"b.1","pos":4,"op":"skip"}`) + end(3),
		"bad op":           hdr + s1 + task + op(`{"task":"t","source":"s1","file":"b.1","pos":4,"op":"inject"}`) + end(3),
		"replace no sql":   hdr + s1 + task + op(`{"task":"t","source":"s1","file":"b.1","pos":4,"op":"replace"}`) + end(3),
		"no position":      hdr + s1 + task + op(`{"task":"t","source":"s1","file":"b.1","pos":0,"op":"skip"}`) + end(3),
		"unknown field":    hdr + s1 + task + op(`{"task":"t","source":"s1","file":"b.1","pos":4,"op":"skip","x":1}`) + end(3),
		"twice": hdr + s1 + task + op(`{"task":"t","source":"s1","file":"b.1","pos":4,"op":"skip"}`) +
			op(`{"task":"t","source":"s1","file":"b.1","pos":4,"op":"skip"}`) + end(4),
	} {
		err := g.Restore(strings.NewReader(stream))
		assert.Error(t, err, name)
		t.Logf("%s: %v", name, err)
	}
	assert.Equal(t, h.f.BinlogOps(""), g.BinlogOps(""), "a refused stream leaves the state as it was")
}

func TestCompareBinlogFiles(t *testing.T) {
	assert.Equal(t, -1, compareBinlogFiles("b.000009", "b.000010"))
	assert.Equal(t, -1, compareBinlogFiles("b.999999", "b.1000000"))
	assert.Equal(t, 0, compareBinlogFiles("b.000010", "b.000010"))
	assert.Equal(t, 1, compareBinlogFiles("b.2", "a.3"))
	assert.Equal(t, -1, compareBinlogFiles("b", "b.1"))
}
