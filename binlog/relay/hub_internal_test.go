package relay

import (
	"os"
	"path/filepath"
	"testing"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A Hub names a directory the same however it is spelled, wakes only the waiters of the
// directory that changed, and hands out a fresh channel after each change.
func TestHubWakesItsDirectory(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	h := NewHub()
	rel := h.Changed(filepath.Join("relay", "source-a"))
	abs := h.Changed(filepath.Join(base, "relay", "x", "..", "source-a"))
	other := h.Changed(filepath.Join(base, "relay", "source-b"))
	if rel != abs {
		t.Fatal("a relative and an absolute spelling of one directory got different channels")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	h.wake(hubKey(filepath.Join(wd, "relay", "source-a")))
	if !closed(rel) || closed(other) {
		t.Fatalf("after a change of source-a: source-a woken %v, source-b woken %v", closed(rel), closed(other))
	}
	if next := h.Changed("relay/source-a"); closed(next) {
		t.Fatal("the channel taken after a change is already closed")
	}
}

// A nil Hub signals nothing: its channel is never ready, and waking it is harmless.
func TestNilHub(t *testing.T) {
	var h *Hub
	if ch := h.Changed("dir"); ch != nil {
		t.Fatalf("nil hub: Changed = %v, want nil", ch)
	}
	h.wake(hubKey("dir"))
}
