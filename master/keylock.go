package master

import (
	"context"
	"sync"
)

// keyLock serialises operations that share a key (a task name) while letting operations on
// other keys run; a waiter gives up when its context ends.
type keyLock struct {
	mu    sync.Mutex
	slots map[string]*keySlot
}

type keySlot struct {
	token chan struct{} // holds one value while the key is free
	users int           // holders and waiters; the slot is dropped at zero
}

// lock waits for the key and returns the function that releases it.
func (k *keyLock) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.slots == nil {
		k.slots = map[string]*keySlot{}
	}
	slot, ok := k.slots[key]
	if !ok {
		slot = &keySlot{token: make(chan struct{}, 1)}
		slot.token <- struct{}{}
		k.slots[key] = slot
	}
	slot.users++
	k.mu.Unlock()

	select {
	case <-slot.token:
		return func() { slot.token <- struct{}{}; k.leave(key, slot) }, nil
	case <-ctx.Done():
		k.leave(key, slot)
		return nil, ctx.Err()
	}
}

func (k *keyLock) leave(key string, slot *keySlot) {
	k.mu.Lock()
	defer k.mu.Unlock()
	slot.users--
	if slot.users == 0 {
		delete(k.slots, key)
	}
}
