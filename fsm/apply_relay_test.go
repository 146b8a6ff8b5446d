package fsm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartRelay(t *testing.T) {
	h := seeded(t)
	h.ok(&BindSource{Source: "s1", Worker: "w1"})
	h.ok(&StartRelay{Source: "s1", Workers: []string{"w2", "w1", "w2"}, BinlogName: "mysql-bin.000003", RelayDir: "/relay"})

	r, ok := h.f.Relay("s1")
	require.True(t, ok)
	assert.Equal(t, Relay{Source: "s1", Workers: []string{"w1", "w2"}, Stage: StageRunning}, r)
	for _, w := range []string{"w1", "w2"} {
		src, ok := h.f.RelaySourceOf(w)
		assert.True(t, ok)
		assert.Equal(t, "s1", src)
	}
	src, _ := h.f.Source("s1")
	assert.Equal(t, "mysql-bin.000003", src.RelayBinlogName)
	assert.Equal(t, "/relay", src.RelayDir)

	// Empty settings leave the stored ones; a later worker keeps the relay's stage.
	h.ok(&SetRelayStage{Source: "s1", Stage: StagePaused})
	h.ok(&StartRelay{Source: "s1", Workers: []string{"w1", "w3"}, BinlogGTID: "0-1-100"})
	r, _ = h.f.Relay("s1")
	assert.Equal(t, Relay{Source: "s1", Workers: []string{"w1", "w2", "w3"}, Stage: StagePaused}, r)
	src, _ = h.f.Source("s1")
	assert.Equal(t, "mysql-bin.000003", src.RelayBinlogName)
	assert.Equal(t, "0-1-100", src.RelayBinlogGTID)
	assert.Equal(t, "/relay", src.RelayDir)

	// Reads are copies.
	r.Workers[0] = "zz"
	r2, _ := h.f.Relay("s1")
	assert.Equal(t, "w1", r2.Workers[0])
}

func TestStartRelayRejects(t *testing.T) {
	h := seeded(t)
	h.ok(&BindSource{Source: "s2", Worker: "w2"}, &StartRelay{Source: "s3", Workers: []string{"w3"}})

	h.reject(&StartRelay{Source: "nope", Workers: []string{"w1"}}, CodeSourceNotExist)
	h.reject(&StartRelay{Source: "s1"}, CodeRequestInvalid)
	// All-or-nothing: w1 is fine, yet nothing happens to it when another worker is refused.
	h.reject(&StartRelay{Source: "s1", Workers: []string{"w1", "ghost"}, BinlogName: "b.1"}, CodeWorkerNotExist)
	e := h.reject(&StartRelay{Source: "s1", Workers: []string{"w1", "w2"}}, CodeRelayWorkerWrongBound)
	assert.Contains(t, e.Msg, `worker "w2" is bound to source "s2"`)
	e = h.reject(&StartRelay{Source: "s1", Workers: []string{"w1", "w3"}}, CodeRelayWorkerBusy)
	assert.Equal(t, `worker "w3" is already relaying source "s3"`, e.Msg)
	_, ok := h.f.Relay("s1")
	assert.False(t, ok)

	h.ok(&StartRelay{Source: "s3", Workers: []string{"w3"}}) // already relaying this source
	h.ok(&StartRelay{Source: "s2", Workers: []string{"w2"}}) // bound to this source
}

func TestStopRelay(t *testing.T) {
	h := seeded(t)
	h.ok(&StartRelay{Source: "s1", Workers: []string{"w1", "w2"}}, &StartRelay{Source: "s2", Workers: []string{"w3"}})

	h.reject(&StopRelay{Source: "nope", Workers: []string{"w1"}}, CodeSourceNotExist)
	h.reject(&StopRelay{Source: "s1"}, CodeRequestInvalid)
	h.reject(&StopRelay{Source: "s1", Workers: []string{"w1", "ghost"}}, CodeWorkerNotExist)
	e := h.reject(&StopRelay{Source: "s1", Workers: []string{"w1", "w3"}}, CodeRelayWorkerWrongRelay)
	assert.Equal(t, `worker "w3" is relaying source "s2", not source "s1"`, e.Msg)

	h.ok(&StopRelay{Source: "s1", Workers: []string{"w1"}})
	r, ok := h.f.Relay("s1")
	require.True(t, ok)
	assert.Equal(t, []string{"w2"}, r.Workers)
	_, ok = h.f.RelaySourceOf("w1")
	assert.False(t, ok)

	before := stateBytes(t, h.f)
	h.ok(&StopRelay{Source: "s1", Workers: []string{"w1"}}) // not relaying: no-op
	assert.Equal(t, before, stateBytes(t, h.f))

	h.ok(&SetRelayStage{Source: "s1", Stage: StagePaused}, &StopRelay{Source: "s1", Workers: []string{"w2"}})
	_, ok = h.f.Relay("s1")
	assert.False(t, ok, "the relay stage goes with the last relay worker")
	h.ok(&StartRelay{Source: "s1", Workers: []string{"w2"}})
	r, _ = h.f.Relay("s1")
	assert.Equal(t, StageRunning, r.Stage, "a relay started afresh runs")
}

func TestSetRelayStage(t *testing.T) {
	h := seeded(t)
	h.ok(&StartRelay{Source: "s1", Workers: []string{"w1"}})

	h.ok(&SetRelayStage{Source: "s1", Stage: StagePaused})
	r, _ := h.f.Relay("s1")
	assert.Equal(t, StagePaused, r.Stage)
	h.ok(&SetRelayStage{Source: "s1", Stage: StageRunning})
	r, _ = h.f.Relay("s1")
	assert.Equal(t, StageRunning, r.Stage)

	h.reject(&SetRelayStage{Source: "nope", Stage: StagePaused}, CodeSourceNotExist)
	for _, st := range []Stage{StageStopped, StageNew, StageFinished, "", "paused"} {
		h.reject(&SetRelayStage{Source: "s1", Stage: st}, CodeRelayStageInvalid)
	}

	before := stateBytes(t, h.f)
	h.ok(&SetRelayStage{Source: "s2", Stage: StagePaused}) // no relay workers: no-op
	assert.Equal(t, before, stateBytes(t, h.f))
	_, ok := h.f.Relay("s2")
	assert.False(t, ok)
}
