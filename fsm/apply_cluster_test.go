package fsm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegisterMaster(t *testing.T) {
	h := newHarness(t)
	h.ok(&RegisterMaster{Name: "m2", APIAddr: "b:8261"}, &RegisterMaster{Name: "m1", APIAddr: "a:8261"})
	h.ok(&RegisterMaster{Name: "m2", APIAddr: "b:9261", PeerAddr: "b:8291", GossipAddr: "b:7946"}) // upsert

	assert.Equal(t, []Master{
		{Name: "m1", APIAddr: "a:8261"},
		{Name: "m2", APIAddr: "b:9261", PeerAddr: "b:8291", GossipAddr: "b:7946"},
	}, h.f.Masters())
	m, ok := h.f.Master("m2")
	assert.True(t, ok)
	assert.Equal(t, "b:9261", m.APIAddr)
	_, ok = h.f.Master("nope")
	assert.False(t, ok)

	h.reject(&RegisterMaster{APIAddr: "x"}, CodeRequestInvalid)
}

func TestRemoveMaster(t *testing.T) {
	h := newHarness(t)
	h.ok(&RegisterMaster{Name: "m1"}, &RegisterMaster{Name: "m2"})
	h.ok(&RemoveMaster{Name: "m1"})
	assert.Equal(t, []Master{{Name: "m2"}}, h.f.Masters())

	e := h.reject(&RemoveMaster{Name: "m1"}, CodeMasterNotExist)
	assert.Equal(t, `master "m1" does not exist`, e.Msg)
}

func TestRegisterWorker(t *testing.T) {
	h := newHarness(t)
	h.ok(worker("w2"), worker("w1"))
	h.ok(&RegisterWorker{Name: "w1", Addr: "new:8262", KeepaliveTTL: 10})
	assert.Equal(t, []Worker{
		{Name: "w1", Addr: "new:8262", KeepaliveTTL: 10},
		*(*Worker)(worker("w2")),
	}, h.f.Workers())

	h.reject(&RegisterWorker{Addr: "x"}, CodeRequestInvalid)
	h.reject(&RegisterWorker{Name: "w3", KeepaliveTTL: -1}, CodeRequestInvalid)
	h.reject(&RegisterWorker{Name: "w3", RelayKeepaliveTTL: -1}, CodeRequestInvalid)
}

func TestRegisterWorkerKeepsBindingAndRelay(t *testing.T) {
	h := seeded(t)
	h.ok(&BindSource{Source: "s1", Worker: "w1"}, &StartRelay{Source: "s1", Workers: []string{"w1"}})
	h.ok(&RegisterWorker{Name: "w1", Addr: "moved:8262"})
	src, _ := h.f.BoundSource("w1")
	assert.Equal(t, "s1", src)
	src, _ = h.f.RelaySourceOf("w1")
	assert.Equal(t, "s1", src)
}

func TestDeleteWorker(t *testing.T) {
	h := seeded(t)
	h.ok(
		&BindSource{Source: "s1", Worker: "w1"},
		&StartRelay{Source: "s1", Workers: []string{"w1", "w2"}},
		&StartRelay{Source: "s3", Workers: []string{"w3"}},
	)

	h.ok(&DeleteWorker{Name: "w1"})
	_, ok := h.f.Worker("w1")
	assert.False(t, ok)
	_, ok = h.f.BoundWorker("s1")
	assert.False(t, ok, "the source of a deleted worker becomes unbound")
	src, _ := h.f.Source("s1")
	assert.Equal(t, "w1", src.LastWorker)
	r, ok := h.f.Relay("s1")
	require.True(t, ok)
	assert.Equal(t, []string{"w2"}, r.Workers, "other relay workers stay")

	h.ok(&DeleteWorker{Name: "w3"})
	_, ok = h.f.Relay("s3")
	assert.False(t, ok, "the relay goes with its last worker")
	_, ok = h.f.RelaySourceOf("w3")
	assert.False(t, ok)

	e := h.reject(&DeleteWorker{Name: "w1"}, CodeWorkerNotExist)
	assert.Equal(t, `worker "w1" does not exist`, e.Msg)
}
