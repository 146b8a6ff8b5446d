package fsm

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// harness applies commands to an FSM at consecutive indexes and checks the invariants after each.
type harness struct {
	t   *testing.T
	f   *FSM
	idx uint64
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return &harness{t: t, f: New()}
}

func (h *harness) apply(c Command) error {
	h.t.Helper()
	data, err := Encode(c)
	require.NoError(h.t, err)
	h.idx++
	err = h.f.Apply(h.idx, data)
	require.Equal(h.t, h.idx, h.f.Index())
	require.NoError(h.t, h.f.st.check(), "invariants after %T", c)
	return err
}

func (h *harness) ok(cs ...Command) {
	h.t.Helper()
	for _, c := range cs {
		require.NoError(h.t, h.apply(c), "%T %+v", c, c)
	}
}

// reject applies a command that must be rejected with code and must leave the state unchanged.
func (h *harness) reject(c Command, code Code) *Error {
	h.t.Helper()
	before := stateBytes(h.t, h.f)
	err := h.apply(c)
	require.Error(h.t, err, "%T %+v", c, c)
	var fe *Error
	require.ErrorAs(h.t, err, &fe)
	require.Equal(h.t, code, fe.Code, "message: %s", fe.Error())
	require.NotEmpty(h.t, fe.Error())
	require.Equal(h.t, string(before), string(stateBytes(h.t, h.f)), "state changed by rejected %T", c)
	return fe
}

// stateBytes is the snapshot of the state alone, without the index, so states at different
// indexes can be compared.
func stateBytes(t *testing.T, f *FSM) []byte {
	t.Helper()
	s := f.Snapshot()
	s.index = 0
	return snapshotBytes(t, s)
}

func snapshotBytes(t *testing.T, s *Snapshot) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := s.WriteTo(&b)
	require.NoError(t, err)
	require.Equal(t, int64(b.Len()), n)
	return b.Bytes()
}

func worker(name string) *RegisterWorker {
	return &RegisterWorker{Name: name, Addr: name + ":8262", GossipAddr: name + ":7946", KeepaliveTTL: 60, RelayKeepaliveTTL: 1800}
}

func sourceSpec(name string) SourceSpec {
	return SourceSpec{Version: SourceSpecVersion, Host: name + ".db", Port: 3306, User: "dm", PasswordEnc: "enc-" + name,
		Security: &TLSSpec{SSLCA: "ca", CertAllowedCN: []string{name}}, Purge: PurgeSpec{Interval: 3600, RemainSpace: 15}}
}

func source(name string) *AddSource {
	return &AddSource{Source: Source{Name: name, Spec: sourceSpec(name)}}
}

// taskSpec is a task's spec with settings for each of the sources.
func taskSpec(name string, sources ...string) TaskSpec {
	t := TaskSpec{Version: TaskSpecVersion, API: json.RawMessage(`{"name":"` + name + `"}`), Name: name, Mode: TaskModeAll,
		MetaSchema: "dm_meta", ShardMode: "pessimistic", Target: TargetSpec{Host: "tidb", Port: 4000, User: "root"},
		Filters: map[string]FilterSpec{"f": {IgnoreEvents: []string{"drop table"}}}, Sources: map[string]SubtaskSpec{}}
	for _, s := range sources {
		t.Sources[s] = SubtaskSpec{Rules: []RuleSpec{{Schema: "db", Table: "*", FilterRules: []string{"f"}}}}
	}
	return t
}

func task(name string, sources ...string) *AddTask {
	t := Task{Name: name, Spec: taskSpec(name, sources...), Subtasks: map[string]*Subtask{}}
	for _, s := range sources {
		t.Subtasks[s] = &Subtask{Source: s}
	}
	return &AddTask{Task: t}
}

// plainTask is task without shard merging (no shard_mode).
func plainTask(name string, sources ...string) *AddTask {
	t := task(name, sources...)
	t.Task.Spec.ShardMode = ""
	return t
}

// seeded returns a harness with workers w1..w3 and sources s1..s3, nothing bound.
func seeded(t *testing.T) *harness {
	h := newHarness(t)
	h.ok(worker("w1"), worker("w2"), worker("w3"), source("s1"), source("s2"), source("s3"))
	return h
}
