package fsm

import (
	"bytes"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestWatch(t *testing.T) {
	h := newHarness(t)
	w := h.f.Watch()
	assert.False(t, closed(w))
	assert.Equal(t, w, h.f.Watch(), "no change, same channel")

	h.ok(worker("w1"))
	assert.True(t, closed(w), "Apply wakes watchers")
	w2 := h.f.Watch()
	assert.False(t, closed(w2))

	h.reject(&DeleteWorker{Name: "ghost"}, CodeWorkerNotExist)
	assert.True(t, closed(w2), "a rejected command is still an applied entry")

	w3 := h.f.Watch()
	var snap bytes.Buffer
	_, err := h.f.Snapshot().WriteTo(&snap)
	require.NoError(t, err)
	require.NoError(t, h.f.Restore(&snap))
	assert.True(t, closed(w3), "Restore wakes watchers")

	w4 := h.f.Watch()
	assert.Error(t, h.f.Restore(bytes.NewReader([]byte("junk"))))
	assert.False(t, closed(w4), "a failed Restore changes nothing")
}

func TestIndex(t *testing.T) {
	f := New()
	assert.Equal(t, uint64(0), f.Index())
	data, err := Encode(worker("w1"))
	require.NoError(t, err)
	require.NoError(t, f.Apply(7, data))
	assert.Equal(t, uint64(7), f.Index())
	data, err = Encode(&RemoveMaster{Name: "ghost"})
	require.NoError(t, err)
	assert.Error(t, f.Apply(9, data))
	assert.Equal(t, uint64(9), f.Index(), "a rejected entry still moves the index")
}

func TestEmptyReads(t *testing.T) {
	f := New()
	assert.Equal(t, []Master{}, f.Masters())
	assert.Equal(t, []Worker{}, f.Workers())
	assert.Equal(t, []Source{}, f.Sources())
	assert.Equal(t, []Task{}, f.Tasks())
	assert.Equal(t, map[string]string{}, f.Bindings())
	assert.Equal(t, []ShardLock{}, f.ShardLocks(""))
	assert.Equal(t, map[string]ShardColumn{}, f.ShardColumns("t", "`db`.`t`"))
	_, ok := f.ShardLock("t-`db`.`t`")
	assert.False(t, ok)
	_, ok = f.Relay("s")
	assert.False(t, ok)
	_, ok = f.Task("t")
	assert.False(t, ok)
}

// TestConcurrentReaders is meant for -race: readers and watchers run while one writer applies.
func TestConcurrentReaders(t *testing.T) {
	f := New()
	var entries [][]byte
	for _, c := range []Command{worker("w1"), source("s1"), &BindSource{Source: "s1", Worker: "w1"}, task("t1", "s1"),
		&StartRelay{Source: "s1", Workers: []string{"w1"}}, &SetSubtaskStage{Task: "t1", Stage: StagePaused}} {
		data, err := Encode(c)
		require.NoError(t, err)
		entries = append(entries, data)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				w := f.Watch()
				_ = f.WorkerView("w1")
				_ = f.Tasks()
				_ = f.Sources()
				_ = f.Snapshot()
				select {
				case <-done:
					return
				case <-w:
				}
			}
		}()
	}
	for i, e := range entries {
		require.NoError(t, f.Apply(uint64(i+1), e))
	}
	close(done)
	wg.Wait()
	assert.Equal(t, uint64(len(entries)), f.Index())
}
