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
type commandGen struct{ r *rand.Rand }

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

func (g commandGen) next() Command {
	switch CommandType(1 + g.r.Intn(14)) {
	case TypeRegisterMaster:
		return &RegisterMaster{Name: g.master(), APIAddr: g.text(), PeerAddr: g.text(), GossipAddr: g.text()}
	case TypeRemoveMaster:
		return &RemoveMaster{Name: g.master()}
	case TypeRegisterWorker:
		return &RegisterWorker{Name: g.worker(), Addr: g.text(), KeepaliveTTL: int64(g.r.Intn(100)), RelayKeepaliveTTL: int64(g.r.Intn(5000))}
	case TypeDeleteWorker:
		return &DeleteWorker{Name: g.worker()}
	case TypeAddSource:
		return &AddSource{Source: Source{Name: g.source(), Config: []byte(g.text()), RelayDir: g.text()}}
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
		t := Task{Name: g.task(), Config: []byte(g.text()), Subtasks: map[string]*Subtask{}}
		for _, s := range g.list(g.source, 0) {
			t.Subtasks[s] = &Subtask{Source: s, Stage: g.stage()}
		}
		return &AddTask{Task: t}
	case TypeDeleteSubtasks:
		return &DeleteSubtasks{Task: g.task(), Sources: g.list(g.source, 0)}
	default:
		return &SetSubtaskStage{Task: g.task(), Sources: g.list(g.source, 0), Stage: g.stage()}
	}
}

// TestDeterministicReplay applies one long random log to two FSMs: they must end byte-equal, keep
// every invariant at every step, and leave the state untouched on every rejection.
func TestDeterministicReplay(t *testing.T) {
	const steps = 4000
	gen := commandGen{r: rand.New(rand.NewSource(20240601))}
	a, b := New(), New()
	okByType := map[CommandType]int{}
	rejectedByCode := map[int]int{}

	for i := uint64(1); i <= steps; i++ {
		c := gen.next()
		data, err := Encode(c)
		require.NoError(t, err)
		before := stateBytes(t, a)

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
		}
	}

	snapA := snapshotBytes(t, a.Snapshot())
	assert.Equal(t, string(snapA), string(snapshotBytes(t, b.Snapshot())))

	restored := New()
	require.NoError(t, restored.Restore(bytes.NewReader(snapA)))
	assert.Equal(t, string(snapA), string(snapshotBytes(t, restored.Snapshot())))
	assert.Equal(t, uint64(steps), restored.Index())

	// The generator must actually reach the interesting paths, or the test proves little.
	for ct := CommandType(1); ct <= 14; ct++ {
		assert.Positive(t, okByType[ct], "no successful %s", ct)
	}
	for _, code := range []int{CodeInvalidArgument, CodeMasterNotExist, CodeWorkerNotExist, CodeWorkerInvalidTrans,
		CodeSourceExist, CodeSourceNotExist, CodeSourceHasTasks, CodeRelayStageInvalid, CodeSubtaskExist,
		CodeSubtaskStageInvalid, CodeSubtaskTaskNotExist, CodeSourceNotInTask, CodeTaskNotExist, CodeRelayWorkerBusy,
		CodeRelayWorkerWrongBound, CodeRelayWorkerWrongRelay, CodeSourceHasRelayWorkers, CodeTaskSourceNotFound} {
		assert.Positive(t, rejectedByCode[code], "no rejection with code %d", code)
	}
	t.Logf("successes by type: %v; rejections by code: %v", okByType, rejectedByCode)
}
