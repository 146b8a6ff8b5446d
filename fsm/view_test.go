package fsm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWorkerView(t *testing.T) {
	h := seeded(t)
	h.ok(
		&BindSource{Source: "s1", Worker: "w1"},
		&StartRelay{Source: "s1", Workers: []string{"w1"}, BinlogName: "b.000001"},
		&StartRelay{Source: "s2", Workers: []string{"w2"}, RelayDir: "/relay/s2"},
		&SetRelayStage{Source: "s2", Stage: StagePaused},
		task("tb", "s1", "s2"),
		task("ta", "s1"),
		&SetSubtaskStage{Task: "tb", Sources: []string{"s1"}, Stage: StagePaused},
	)
	s1, _ := h.f.Source("s1")
	s2, _ := h.f.Source("s2")

	t.Run("bound and relaying its own source", func(t *testing.T) {
		v := h.f.WorkerView("w1")
		assert.Equal(t, h.f.Index(), v.Index)
		assert.True(t, v.Registered)
		assert.Equal(t, *(*Worker)(worker("w1")), v.Worker)
		require.NotNil(t, v.Bound)
		assert.Equal(t, s1, *v.Bound)
		require.NotNil(t, v.Relay)
		assert.Equal(t, Relay{Source: "s1", Workers: []string{"w1"}, Stage: StageRunning}, *v.Relay)
		require.NotNil(t, v.RelaySource)
		assert.Equal(t, "b.000001", v.RelaySource.RelayBinlogName)
		assert.Equal(t, []SubtaskView{
			{Task: "ta", Source: "s1", Spec: taskSpec("ta", "s1"), Stage: StageRunning},
			{Task: "tb", Source: "s1", Spec: taskSpec("tb", "s1", "s2"), Stage: StagePaused},
		}, v.Subtasks)

		v.Subtasks[0].Spec.Sources["s1"].Rules[0].Schema = "X"
		v.Subtasks[0].Spec.API[0] = 'X'
		v.Bound.Spec.Security.CertAllowedCN[0] = "X"
		assert.Equal(t, taskSpec("ta", "s1"), h.f.WorkerView("w1").Subtasks[0].Spec, "views are copies")
		again, _ := h.f.Source("s1")
		assert.Equal(t, s1, again)
	})

	t.Run("relay only", func(t *testing.T) {
		v := h.f.WorkerView("w2")
		assert.True(t, v.Registered)
		assert.Nil(t, v.Bound)
		assert.Empty(t, v.Subtasks, "subtasks follow the binding, not the relay")
		require.NotNil(t, v.Relay)
		assert.Equal(t, Relay{Source: "s2", Workers: []string{"w2"}, Stage: StagePaused}, *v.Relay)
		require.NotNil(t, v.RelaySource)
		assert.Equal(t, s2, *v.RelaySource)
		assert.Equal(t, "/relay/s2", v.RelaySource.RelayDir)
	})

	t.Run("free", func(t *testing.T) {
		v := h.f.WorkerView("w3")
		assert.Equal(t, WorkerView{Index: h.f.Index(), Worker: *(*Worker)(worker("w3")), Registered: true, Subtasks: []SubtaskView{}}, v)
	})

	t.Run("unregistered", func(t *testing.T) {
		v := h.f.WorkerView("ghost")
		assert.Equal(t, WorkerView{Index: h.f.Index(), Subtasks: []SubtaskView{}}, v)
	})
}
