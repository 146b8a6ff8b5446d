package fsm

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commandGen produces random commands over small name pools, so that they collide often and
// exercise both the success paths and the rejections.
type commandGen struct {
	r *rand.Rand
	// created is the spec of the last AddTask generated for each task name, which updates
	// start from (an update must keep the settings the task's state depends on).
	created map[string]TaskSpec
}

func (g commandGen) pick(names ...string) string { return names[g.r.Intn(len(names))] }
func (g commandGen) master() string              { return g.pick("m1", "m2", "m3") }
func (g commandGen) worker() string              { return g.pick("w1", "w2", "w3", "w4", "w5", "ghost") }
func (g commandGen) source() string              { return g.pick("s1", "s2", "s3", "s4", "ghost") }
func (g commandGen) task() string                { return g.pick("t1", "t2", "t3") }
func (g commandGen) stage() Stage {
	return Stage(g.pick("New", "Running", "Paused", "Stopped", "Finished", "", "bogus"))
}

func (g commandGen) list(one func() string, min int) []string {
	var out []string
	for n := min + g.r.Intn(3); n > 0; n-- {
		out = append(out, one())
	}
	return out
}

func (g commandGen) text() string { return fmt.Sprintf("v%d", g.r.Intn(4)) }

func (g commandGen) target() string { return g.pick("`d`.`a`", "`d`.`b`") }

// shardSource leaves out the sources that are seldom in a task, so that locks see more reports.
func (g commandGen) shardSource() string { return g.pick("s1", "s2", "s3") }

// ddls mostly agree, so that locks get resolved, and sometimes conflict.
func (g commandGen) ddls() []string {
	return [][]string{{"ALTER 1"}, {"ALTER 1"}, {"ALTER 1"}, {"ALTER 1", "ALTER 2"}, nil}[g.r.Intn(5)]
}

func (g commandGen) lockID() string {
	if g.r.Intn(8) == 0 {
		return "ghost"
	}
	return ShardLockID(g.task(), g.target())
}

func (g commandGen) column() ColumnDef {
	return ColumnDef{Name: g.pick("a", "A", "b", ""), Def: g.pick("int(11)", " INT(11)", "varchar(20)")}
}

// binlogEvent mostly names a few events of the sources often in tasks, so that operations are
// replaced, reverted and done; sometimes one no operation can be on.
func (g commandGen) binlogEvent() BinlogEvent {
	e := BinlogEvent{Source: g.shardSource(), File: g.pick("b.000009", "b.000010"), Pos: uint32(4 + 100*g.r.Intn(2))}
	switch g.r.Intn(12) {
	case 0:
		e.File = ""
	case 1:
		e.Pos = 0
	case 2:
		e.Source = g.source()
	}
	return e
}

func (g commandGen) binlogOp(task string) BinlogOp {
	o := BinlogOp{Task: task, BinlogEvent: g.binlogEvent(), Op: g.pick(BinlogOpSkip, BinlogOpReplace)}
	switch g.r.Intn(12) {
	case 0:
		o.Op = "bogus"
	case 1:
		o.SQLs = []string{""}
	}
	if o.Op == BinlogOpReplace && o.SQLs == nil {
		o.SQLs = [][]string{{"ALTER TABLE d.a ADD c INT"}, {"SELECT 1", "SELECT 2"}}[g.r.Intn(2)]
	}
	return o
}

func (g commandGen) binlogCommand() Command {
	task := g.task()
	switch g.r.Intn(3) {
	case 0:
		c := &SetBinlogOps{Task: task}
		for n := g.r.Intn(3); n >= 0; n-- {
			c.Ops = append(c.Ops, g.binlogOp(task))
		}
		if len(c.Ops) > 0 && g.r.Intn(2) == 0 {
			c.Resume = []string{c.Ops[0].Source}
		}
		return c
	case 1:
		c := &RevertBinlogOps{Task: task}
		for n := g.r.Intn(4) / 3; n >= 0; n-- {
			c.Events = append(c.Events, g.binlogEvent())
		}
		return c
	}
	return &BinlogOpDone{Task: task, BinlogEvent: g.binlogEvent()}
}

func (g commandGen) next() Command {
	ct := CommandType(1 + g.r.Intn(15))
	switch g.r.Intn(10) {
	case 0, 1, 2:
		// A shard lock only moves on when its task exists and several of its commands land on it.
		ct = CommandType(16 + g.r.Intn(4))
	case 3, 4:
		// So do binlog operations: set, then reverted or done.
		return g.binlogCommand()
	}
	if g.r.Intn(10) == 0 {
		ct = g.pickType(TypeUpdateSource, TypeUpdateTask)
	}
	switch ct {
	case TypeUpdateSource:
		return g.updateSource()
	case TypeUpdateTask:
		return g.updateTask()
	case TypeRegisterMaster:
		return &RegisterMaster{Name: g.master(), APIAddr: g.text(), PeerAddr: g.text(), GossipAddr: g.text()}
	case TypeRemoveMaster:
		return &RemoveMaster{Name: g.master()}
	case TypeRegisterWorker:
		return &RegisterWorker{Name: g.worker(), Addr: g.text(), KeepaliveTTL: int64(g.r.Intn(100)), RelayKeepaliveTTL: int64(g.r.Intn(5000))}
	case TypeDeleteWorker:
		return &DeleteWorker{Name: g.worker()}
	case TypeAddSource:
		spec := SourceSpec{Version: SourceSpecVersion, Host: g.text()}
		if g.r.Intn(10) == 0 {
			spec.Version = g.r.Intn(2) * 2 // 0 or 2: unknown
		}
		return &AddSource{Source: Source{Name: g.source(), Spec: spec, RelayDir: g.text()}}
	case TypeDeleteSource:
		return &DeleteSource{Name: g.source()}
	case TypeBindSource:
		return &BindSource{Source: g.source(), Worker: g.worker(), Rebind: g.r.Intn(2) == 0}
	case TypeUnbindSource:
		return &UnbindSource{Source: g.source()}
	case TypeStartRelay:
		return &StartRelay{Source: g.source(), Workers: g.list(g.worker, 0), BinlogName: g.pick("", "b.1", "b.2"), RelayDir: g.pick("", "/r")}
	case TypeStopRelay:
		return &StopRelay{Source: g.source(), Workers: g.list(g.worker, 0)}
	case TypeSetRelayStage:
		return &SetRelayStage{Source: g.source(), Stage: g.stage()}
	case TypeAddTask:
		sources := g.list(g.source, 0)
		t := Task{Name: g.task(), Subtasks: map[string]*Subtask{}}
		t.Spec = taskSpec(t.Name, sources...)
		t.Spec.MetaSchema = g.text()
		t.Spec.ShardMode = g.pick("pessimistic", "pessimistic", "optimistic", "")
		for _, s := range sources {
			t.Subtasks[s] = &Subtask{Source: s, Stage: g.stage()}
		}
		switch g.r.Intn(20) {
		case 0:
			t.Spec.Name = g.task() // often another task's
		case 1:
			t.Spec.Sources = nil
		}
		g.created[t.Name] = t.Spec
		return &AddTask{Task: t}
	case TypeDeleteSubtasks:
		return &DeleteSubtasks{Task: g.task(), Sources: g.list(g.source, 0)}
	case TypeSetSubtaskStage:
		return &SetSubtaskStage{Task: g.task(), Sources: g.list(g.source, 0), Stage: g.stage()}
	case TypeSetLoadWorker:
		return &SetLoadWorker{Task: g.task(), Source: g.source(), Worker: g.pick("", "w1", "w2", "ghost")}
	case TypeReportShardDDL:
		return &ReportShardDDL{Task: g.task(), Source: g.shardSource(), Target: g.pick("`d`.`a`", "`d`.`b`", ""), DDLs: g.ddls()}
	case TypeShardDDLDone:
		return &ShardDDLDone{ID: g.lockID(), Source: g.shardSource()}
	case TypeUnlockShardDDL:
		return &UnlockShardDDL{ID: g.lockID(), Owner: g.pick("", "", "s1", "s2", "s3", "s4"), Action: g.pick("", ShardActionExec, ShardActionSkip, "bogus")}
	default:
		var cols []ColumnDef
		for n := g.r.Intn(3); n > 0; n-- {
			cols = append(cols, g.column())
		}
		return &ClaimShardColumns{Task: g.task(), Target: g.target(), Source: g.shardSource(), Table: g.pick("`d`.`a1`", "`d`.`a2`"), Columns: cols}
	}
}

func (g commandGen) pickType(types ...CommandType) CommandType { return types[g.r.Intn(len(types))] }

// sourceSpec varies what a source update may change and what it may be refused for: GTID turned
// on, another server.
func (g commandGen) sourceSpec() SourceSpec {
	spec := SourceSpec{Version: SourceSpecVersion, Host: g.text(), EnableGTID: g.r.Intn(3) > 0,
		Flavor: g.pick("", "mariadb", "mariadb", "mysql"), ServerID: uint32(g.r.Intn(3))}
	if g.r.Intn(10) == 0 {
		spec.Version = 2
	}
	return spec
}

func (g commandGen) updateSource() Command {
	return &UpdateSource{Name: g.source(), Spec: g.sourceSpec()}
}

// updateTask mostly starts from the spec the task was created with and changes what an update
// may change, so that some updates go through.
func (g commandGen) updateTask() Command {
	name := g.task()
	spec, ok := g.created[name]
	if !ok || g.r.Intn(5) == 0 {
		spec = taskSpec(name, g.list(g.source, 1)...)
		spec.MetaSchema = g.text()
	}
	spec = spec.clone()
	spec.Incr.ReplThreads = g.r.Intn(4)
	switch g.r.Intn(10) {
	case 0:
		spec.Name = g.task()
	case 1:
		spec.ShardMode = g.pick("pessimistic", "optimistic", "")
	}
	return &UpdateTask{Spec: spec}
}

// TestDeterministicReplay applies one long random log to two FSMs: they must end byte-equal, keep
// every invariant at every step, and leave the state untouched on every rejection.
func TestDeterministicReplay(t *testing.T) {
	const steps = 8000
	gen := commandGen{r: rand.New(rand.NewSource(20240601)), created: map[string]TaskSpec{}}
	a, b := New(), New()
	okByType := map[CommandType]int{}
	rejectedByCode := map[Code]int{}
	locksCompleted := 0
	opsDone, opsDropped := 0, 0

	for i := uint64(1); i <= steps; i++ {
		c := gen.next()
		data, err := Encode(c)
		require.NoError(t, err)
		before := stateBytes(t, a)
		locksBefore := len(a.ShardLocks(""))
		opsBefore := len(a.BinlogOps(""))

		errA := a.Apply(i, data)
		errB := b.Apply(i, data)
		require.Equal(t, errA, errB, "step %d: %T", i, c)
		require.NoError(t, a.st.check(), "step %d: %T %+v", i, c, c)
		if errA != nil {
			code, ok := CodeOf(errA)
			require.True(t, ok, "rejections are *Error")
			rejectedByCode[code]++
			require.Equal(t, string(before), string(stateBytes(t, a)), "step %d: rejected %T changed the state: %v", i, c, errA)
		} else {
			okByType[c.CommandType()]++
			if _, ok := c.(*ShardDDLDone); ok && len(a.ShardLocks("")) < locksBefore {
				locksCompleted++ // the last ack removed the lock
			}
			switch c.(type) {
			case *BinlogOpDone:
				if len(a.BinlogOps("")) < opsBefore {
					opsDone++
				}
			case *DeleteSubtasks:
				if len(a.BinlogOps("")) < opsBefore {
					opsDropped++ // the operations went with their subtasks
				}
			}
		}
	}

	snapA := snapshotBytes(t, a.Snapshot())
	assert.Equal(t, string(snapA), string(snapshotBytes(t, b.Snapshot())))

	restored := New()
	require.NoError(t, restored.Restore(bytes.NewReader(snapA)))
	assert.Equal(t, string(snapA), string(snapshotBytes(t, restored.Snapshot())))
	assert.Equal(t, uint64(steps), restored.Index())

	// The generator must actually reach the interesting paths, or the test proves little.
	for ct := CommandType(1); ct <= 24; ct++ {
		if ct == TypeSetClusterKey || ct == TypeRekeySecrets {
			continue // not generated: they concern secrets, not the model
		}
		assert.Positive(t, okByType[ct], "no successful %s", ct)
	}
	for _, ct := range []CommandType{TypeUpdateSource, TypeUpdateTask} {
		assert.Positive(t, okByType[ct], "no successful %s", ct)
	}
	assert.Positive(t, locksCompleted, "no shard lock went through its whole life")
	assert.Positive(t, opsDone, "no binlog operation was done")
	assert.Positive(t, opsDropped, "no binlog operation went with its subtask")
	for _, code := range []Code{CodeRequestInvalid, CodeMasterNotExist, CodeWorkerNotExist, CodeWorkerInvalidTrans,
		CodeSourceExist, CodeSourceNotExist, CodeSourceHasTasks, CodeRelayStageInvalid, CodeSubtaskExist,
		CodeSubtaskStageInvalid, CodeSubtaskTaskNotExist, CodeSourceNotInTask, CodeTaskNotExist, CodeRelayWorkerBusy,
		CodeRelayWorkerWrongBound, CodeRelayWorkerWrongRelay, CodeSourceHasRelayWorkers, CodeTaskSourceNotFound,
		CodeShardLockNotFound, CodeShardDDLConflict, CodeSourceCfgUpdate, CodeSubtaskCfgUpdate,
		CodeVerifyHandleErrorArgs, CodeSyncerOperatorNotExist} {
		assert.Positive(t, rejectedByCode[code], "no rejection with code %d", code)
	}
	t.Logf("successes by type: %v; rejections by code: %v; shard locks completed: %d; binlog operations done: %d, dropped: %d",
		okByType, rejectedByCode, locksCompleted, opsDone, opsDropped)
}
