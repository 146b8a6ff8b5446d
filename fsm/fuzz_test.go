package fsm

import (
	"bytes"
	"math/rand"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fuzz targets feed the FSM what arrives from outside a replica: log entries (decoded by
// every replica alike) and snapshot streams (sent by a leader, read from disk). `make fuzz` runs
// them for long; `go test` runs their seeds, the committed corpus under testdata/fuzz included.

// FuzzApplyEntries applies a newline-separated batch of log entries to a state with workers and
// sources. An entry that does not decode is skipped here (Apply stops the replica on purpose, see
// Apply); every other entry must either be rejected leaving the state byte for byte as it was, or
// be applied leaving every invariant true and a snapshot that restores to the same state.
func FuzzApplyEntries(f *testing.F) {
	for _, seed := range applySeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, batch []byte) {
		h := seeded(t)
		for _, entry := range bytes.Split(batch, []byte("\n")) {
			if _, err := Decode(entry); err != nil {
				continue
			}
			before := stateBytes(t, h.f)
			h.idx++
			rejected := h.f.Apply(h.idx, entry)
			require.NoError(t, h.f.st.check(), "invariants after %s", entry)
			if rejected != nil {
				var fe *Error
				require.ErrorAs(t, rejected, &fe)
				require.Equal(t, string(before), string(stateBytes(t, h.f)), "state changed by rejected %s", entry)
				continue
			}
			requireSnapshotRoundTrip(t, h.f)
		}
	})
}

// FuzzRestore restores arbitrary bytes over a state that has content. Restore either refuses,
// keeping the old state and index, or succeeds with every invariant true and a snapshot that
// writes the same bytes again.
func FuzzRestore(f *testing.F) {
	for _, name := range []string{"testdata/v1-snapshot.jsonl"} {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add(currentSnapshotSeed(f))
	f.Add([]byte(`{"kind":"header","data":{"version":2,"index":7}}` + "\n" + `{"kind":"end","data":{"records":0}}`))
	f.Fuzz(func(t *testing.T, stream []byte) {
		h := seeded(t)
		h.ok(plainTask("t1", "s1"))
		before, index := stateBytes(t, h.f), h.f.Index()
		if err := h.f.Restore(bytes.NewReader(stream)); err != nil {
			require.Equal(t, index, h.f.Index())
			require.Equal(t, string(before), string(stateBytes(t, h.f)), "a refused snapshot changed the state")
			return
		}
		require.NoError(t, h.f.st.check())
		requireSnapshotRoundTrip(t, h.f)
	})
}

// requireSnapshotRoundTrip checks that the FSM's snapshot restores into a fresh FSM that
// snapshots to the same bytes: what a follower restores is what the leader had.
func requireSnapshotRoundTrip(t *testing.T, f *FSM) {
	t.Helper()
	first := snapshotBytes(t, f.Snapshot())
	other := New()
	require.NoError(t, other.Restore(bytes.NewReader(first)))
	require.Equal(t, string(first), string(snapshotBytes(t, other.Snapshot())))
}

// applySeeds is the recorded v1 log as one batch and batches of the replay generator's commands,
// which reach every command type and most rejections.
func applySeeds(f *testing.F) [][]byte {
	f.Helper()
	logData, err := os.ReadFile("testdata/v1-log.jsonl")
	require.NoError(f, err)
	seeds := [][]byte{logData}
	gen := commandGen{r: rand.New(rand.NewSource(7)), created: map[string]TaskSpec{}}
	for range 8 {
		var batch [][]byte
		for range 12 {
			data, err := Encode(gen.next())
			require.NoError(f, err)
			batch = append(batch, data)
		}
		seeds = append(seeds, bytes.Join(batch, []byte("\n")))
	}
	return seeds
}

// currentSnapshotSeed is a snapshot of this version with a task, a binding and a relay in it.
func currentSnapshotSeed(f *testing.F) []byte {
	f.Helper()
	fz := New()
	cmds := []Command{worker("w1"), worker("w2"), source("s1"), source("s2"),
		&BindSource{Source: "s1", Worker: "w1"}, &StartRelay{Source: "s2", Workers: []string{"w2"}},
		plainTask("t1", "s1")}
	for i, c := range cmds {
		data, err := Encode(c)
		require.NoError(f, err)
		require.NoError(f, fz.Apply(uint64(i+1), data), "%T", c)
	}
	var b bytes.Buffer
	_, err := fz.Snapshot().WriteTo(&b)
	require.NoError(f, err)
	return b.Bytes()
}
