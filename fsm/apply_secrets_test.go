package fsm

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testClusterKey = []byte("0123456789abcdef0123456789abcdef")

func TestSetClusterKey(t *testing.T) {
	h := newHarness(t)
	assert.Nil(t, h.f.ClusterKey())
	h.reject(&SetClusterKey{Key: []byte("short")}, CodeRequestInvalid)
	h.reject(&SetClusterKey{}, CodeRequestInvalid)
	h.ok(&SetClusterKey{Key: testClusterKey})
	got := h.f.ClusterKey()
	assert.Equal(t, testClusterKey, got)
	got[0] = 'X'
	assert.Equal(t, testClusterKey, h.f.ClusterKey(), "readers get a copy")

	e := h.reject(&SetClusterKey{Key: bytes.Repeat([]byte{1}, 32)}, CodeRequestInvalid)
	assert.Contains(t, e.Msg, "already set")
	assert.Equal(t, testClusterKey, h.f.ClusterKey())
}

func TestSnapshotKeepsClusterKey(t *testing.T) {
	h := newHarness(t)
	h.ok(&SetClusterKey{Key: testClusterKey}, worker("w1"))
	data := snapshotBytes(t, h.f.Snapshot())
	lines := strings.Split(string(data), "\n")
	assert.Equal(t, `{"kind":"cluster_key","data":{"key":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}`, lines[1])
	g := New()
	require.NoError(t, g.Restore(bytes.NewReader(data)))
	assert.Equal(t, testClusterKey, g.ClusterKey())
	assert.Equal(t, data, snapshotBytes(t, g.Snapshot()))

	for name, bad := range map[string]string{
		"short key": `{"kind":"cluster_key","data":{"key":"AAAA"}}`,
		"no key":    `{"kind":"cluster_key","data":{}}`,
		"twice":     lines[1] + "\n" + lines[1],
	} {
		stream := `{"kind":"header","data":{"version":2,"index":1}}` + "\n" + bad + "\n" +
			`{"kind":"end","data":{"records":` + map[bool]string{true: "2", false: "1"}[name == "twice"] + `}}` + "\n"
		require.Error(t, New().Restore(strings.NewReader(stream)), name)
	}
}

func TestRekeySecrets(t *testing.T) {
	h := newHarness(t)
	plain := sourceSpec("s2")
	plain.Security = nil
	h.ok(source("s1"), &AddSource{Source: Source{Name: "s2", Spec: plain}}, task("t1", "s1"))
	snap := h.f.Snapshot()
	before := snapshotBytes(t, snap)

	// The TLS block of s1 has no key: a key may not appear; s2 has a password: it must stay set.
	h.reject(&RekeySecrets{Sources: []SourceSecrets{{Name: "s1", PasswordEnc: "new", SSLKeyEnc: "k"}}}, CodeRequestInvalid)
	h.reject(&RekeySecrets{Sources: []SourceSecrets{{Name: "s2"}}}, CodeRequestInvalid)
	h.reject(&RekeySecrets{Sources: []SourceSecrets{{Name: "nope", PasswordEnc: "x"}}}, CodeSourceNotExist)
	h.reject(&RekeySecrets{Sources: []SourceSecrets{{Name: "s2", PasswordEnc: "a"}, {Name: "s2", PasswordEnc: "b"}}}, CodeRequestInvalid)
	h.reject(&RekeySecrets{Tasks: []TaskSecrets{{Name: "nope"}}}, CodeTaskNotExist)
	h.reject(&RekeySecrets{Tasks: []TaskSecrets{{Name: "t1"}}}, CodeRequestInvalid) // its copy as created must come along
	h.reject(&RekeySecrets{Tasks: []TaskSecrets{{Name: "t1", PasswordEnc: "p", API: json.RawMessage(`{}`)}}}, CodeRequestInvalid)

	h.ok(&RekeySecrets{
		Sources: []SourceSecrets{{Name: "s1", PasswordEnc: "s1-new"}, {Name: "s2", PasswordEnc: "s2-new"}},
		Tasks:   []TaskSecrets{{Name: "t1", API: json.RawMessage(`{"name":"t1","v":2}`)}},
	})
	s1, _ := h.f.Source("s1")
	s2, _ := h.f.Source("s2")
	assert.Equal(t, "s1-new", s1.Spec.PasswordEnc)
	assert.Equal(t, "s2-new", s2.Spec.PasswordEnc)
	want := sourceSpec("s1")
	want.PasswordEnc = "s1-new"
	assert.Equal(t, want, s1.Spec, "nothing but the secret changes")
	tk, _ := h.f.Task("t1")
	assert.JSONEq(t, `{"name":"t1","v":2}`, string(tk.Spec.API))
	assert.Equal(t, before, snapshotBytes(t, snap), "a snapshot taken before keeps the old secrets")
}

func TestRekeyTaskSecrets(t *testing.T) {
	h := newHarness(t)
	spec := fullTaskSpec()
	spec.Target.Security.SSLKeyEnc = "old-key"
	h.ok(source("s1"), &AddTask{Task: Task{Name: "t1", Spec: spec, Subtasks: map[string]*Subtask{"s1": {}}}})
	h.reject(&RekeySecrets{Tasks: []TaskSecrets{{Name: "t1", PasswordEnc: "p"}}}, CodeRequestInvalid)                 // the key must be replaced too
	h.reject(&RekeySecrets{Tasks: []TaskSecrets{{Name: "t1", PasswordEnc: "p", SSLKeyEnc: "k"}}}, CodeRequestInvalid) // and the copy as created

	api := json.RawMessage(`{"name":"t1","target_config":{"password":"p"}}`)
	h.ok(&RekeySecrets{Tasks: []TaskSecrets{{Name: "t1", PasswordEnc: "p", SSLKeyEnc: "k", API: api}}})
	got, _ := h.f.Task("t1")
	want := fullTaskSpec()
	want.Target.PasswordEnc, want.API = "p", api
	want.Target.Security.SSLKeyEnc = "k"
	assert.Equal(t, want, got.Spec)
}
