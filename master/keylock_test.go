package master

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestKeyLock(t *testing.T) {
	var k keyLock
	ctx := context.Background()
	unlockA, err := k.lock(ctx, "a")
	require.NoError(t, err)

	// Another key is free.
	unlockB, err := k.lock(ctx, "b")
	require.NoError(t, err)
	unlockB()

	// The same key waits until released; a waiter whose context ends gives up.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = k.lock(short, "a")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	got := make(chan func())
	go func() {
		unlock, err := k.lock(ctx, "a")
		if err == nil {
			got <- unlock
		}
	}()
	select {
	case <-got:
		t.Fatal("the key was taken twice")
	case <-time.After(50 * time.Millisecond):
	}
	unlockA()
	select {
	case unlock := <-got:
		unlock()
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the released key")
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	require.Empty(t, k.slots, "released keys leave nothing behind")
}
