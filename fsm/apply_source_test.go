package fsm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddSource(t *testing.T) {
	h := newHarness(t)
	h.ok(source("s2"), source("s1"))
	srcs := h.f.Sources()
	require.Len(t, srcs, 2)
	assert.Equal(t, "s1", srcs[0].Name)
	assert.Equal(t, sourceSpec("s1"), srcs[0].Spec)

	// Reads are copies: changing one must not reach the FSM.
	srcs[0].Spec.Security.CertAllowedCN[0] = "X"
	srcs[0].Spec.Security.SSLCA = "X"
	got, ok := h.f.Source("s1")
	require.True(t, ok)
	assert.Equal(t, sourceSpec("s1"), got.Spec)
	_, bound := h.f.BoundWorker("s1")
	assert.False(t, bound)

	e := h.reject(source("s1"), CodeSourceExist)
	assert.Equal(t, `source "s1" already exists`, e.Msg)
	h.reject(&AddSource{Source: Source{Spec: sourceSpec("x")}}, CodeRequestInvalid)

	// A spec this build cannot read is refused.
	for _, version := range []int{0, SourceSpecVersion + 1} {
		spec := sourceSpec("s3")
		spec.Version = version
		e := h.reject(&AddSource{Source: Source{Name: "s3", Spec: spec}}, CodeRequestInvalid)
		assert.Contains(t, e.Msg, "version")
	}
}

func TestDeleteSource(t *testing.T) {
	h := seeded(t)
	h.ok(&BindSource{Source: "s1", Worker: "w1"})
	h.ok(&DeleteSource{Name: "s1"})
	_, ok := h.f.Source("s1")
	assert.False(t, ok)
	_, ok = h.f.BoundSource("w1")
	assert.False(t, ok, "the worker of a deleted source is free")
	assert.Empty(t, h.f.Bindings())

	h.reject(&DeleteSource{Name: "s1"}, CodeSourceNotExist)

	h.ok(task("t1", "s2"), task("t2", "s2", "s3"))
	e := h.reject(&DeleteSource{Name: "s2"}, CodeSourceHasTasks)
	assert.Contains(t, e.Msg, "t1, t2")

	h.ok(&StartRelay{Source: "s3", Workers: []string{"w3"}}, &DeleteSubtasks{Task: "t2", Sources: []string{"s3"}})
	e = h.reject(&DeleteSource{Name: "s3"}, CodeSourceHasRelayWorkers)
	assert.Contains(t, e.Msg, "w3")

	h.ok(&StopRelay{Source: "s3", Workers: []string{"w3"}}, &DeleteSource{Name: "s3"})
}

func TestBindSource(t *testing.T) {
	h := seeded(t)
	h.ok(&BindSource{Source: "s1", Worker: "w1"})
	w, ok := h.f.BoundWorker("s1")
	assert.True(t, ok)
	assert.Equal(t, "w1", w)
	s, ok := h.f.BoundSource("w1")
	assert.True(t, ok)
	assert.Equal(t, "s1", s)
	assert.Equal(t, map[string]string{"s1": "w1"}, h.f.Bindings())

	h.ok(&BindSource{Source: "s1", Worker: "w1"}) // same pair: no-op

	h.reject(&BindSource{Source: "nope", Worker: "w2"}, CodeSourceNotExist)
	h.reject(&BindSource{Source: "s2", Worker: "nope"}, CodeWorkerNotExist)
	e := h.reject(&BindSource{Source: "s2", Worker: "w1"}, CodeWorkerInvalidTrans)
	assert.Equal(t, `worker "w1" is already bound to source "s1"`, e.Msg)
	e = h.reject(&BindSource{Source: "s2", Worker: "w1", Rebind: true}, CodeWorkerInvalidTrans)
	assert.Contains(t, e.Msg, `already bound to source "s1"`, "Rebind moves a source, never steals a worker")
	e = h.reject(&BindSource{Source: "s1", Worker: "w2"}, CodeWorkerInvalidTrans)
	assert.Equal(t, `source "s1" is already bound to worker "w1"`, e.Msg)

	// Rebind moves the source atomically and frees the old worker.
	h.ok(&BindSource{Source: "s1", Worker: "w2", Rebind: true})
	assert.Equal(t, map[string]string{"s1": "w2"}, h.f.Bindings())
	_, ok = h.f.BoundSource("w1")
	assert.False(t, ok)
	src, _ := h.f.Source("s1")
	assert.Equal(t, "w1", src.LastWorker)
	h.ok(&BindSource{Source: "s2", Worker: "w1"})
}

func TestBindSourceAndRelay(t *testing.T) {
	h := seeded(t)
	h.ok(&StartRelay{Source: "s1", Workers: []string{"w1"}})
	e := h.reject(&BindSource{Source: "s2", Worker: "w1"}, CodeWorkerInvalidTrans)
	assert.Contains(t, e.Msg, `relaying source "s1"`)
	h.ok(&BindSource{Source: "s1", Worker: "w1"}) // relaying the same source is fine
	h.ok(&BindSource{Source: "s2", Worker: "w2"})
	h.reject(&BindSource{Source: "s2", Worker: "w1", Rebind: true}, CodeWorkerInvalidTrans)
}

func TestUnbindSource(t *testing.T) {
	h := seeded(t)
	h.reject(&UnbindSource{Source: "nope"}, CodeSourceNotExist)

	before := stateBytes(t, h.f)
	h.ok(&UnbindSource{Source: "s1"}) // not bound: no-op
	assert.Equal(t, before, stateBytes(t, h.f))

	h.ok(&BindSource{Source: "s1", Worker: "w1"}, &UnbindSource{Source: "s1"})
	assert.Empty(t, h.f.Bindings())
	_, ok := h.f.BoundSource("w1")
	assert.False(t, ok)
	src, _ := h.f.Source("s1")
	assert.Equal(t, "w1", src.LastWorker)
}
