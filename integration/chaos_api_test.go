package integration

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// chaosAPIWrites pauses and resumes the side task, in turn, while a fault is injected: an
// answer of 2xx promises the change is committed. After the round, if the last write was
// answered 2xx, the side task must end in its stage; a write that got no answer or an error
// may or may not have been applied, so a round ending on one checks nothing (it is counted).
type chaosAPIWrites struct {
	e *chaosEnv

	mu         sync.Mutex
	acked      int
	unanswered int
	lastOp     string
	lastAcked  bool
	// refused is the first 4xx answer: the suite sent something wrong, or a master refused
	// a valid request.
	refused string
	cancel  context.CancelFunc
	done    chan struct{}
}

func startChaosAPIWrites(e *chaosEnv) *chaosAPIWrites {
	ctx, cancel := context.WithCancel(context.Background())
	w := &chaosAPIWrites{e: e, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		ops := []string{"pause", "resume"}
		for i := 0; ctx.Err() == nil; i++ {
			op := ops[i%2]
			resp, err := e.call(http.MethodPost, "/api/v1/tasks/"+chaosSideTask+"/"+op, nil)
			w.mu.Lock()
			w.lastOp, w.lastAcked = op, err == nil && resp.Status/100 == 2
			if err == nil && resp.Status/100 == 4 && w.refused == "" {
				w.refused = fmt.Sprintf("%s answered %d: %s", op, resp.Status, resp.Body)
			}
			if w.lastAcked {
				w.acked++
			} else {
				w.unanswered++
			}
			w.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(700 * time.Millisecond):
			}
		}
	}()
	return w
}

// stopAndCheck stops the writes and checks the last acknowledged one holds. It returns how
// many writes were acknowledged and whether the check ran.
func (w *chaosAPIWrites) stopAndCheck(timeout time.Duration) (acked int, checked bool, err error) {
	w.cancel()
	<-w.done
	w.mu.Lock()
	op, ok := w.lastOp, w.lastAcked
	acked, refused := w.acked, w.refused
	w.mu.Unlock()
	if refused != "" {
		return acked, false, fmt.Errorf("a pause or resume of the side task was refused: %s", refused)
	}
	if !ok {
		return acked, false, nil
	}
	want := map[string]string{"pause": "Paused", "resume": "Running"}[op]
	start := time.Now()
	for {
		sts, _, err := w.e.status(chaosSideTask)
		if err == nil && len(sts) == 1 && sts[0].Stage == want {
			return acked, true, nil
		}
		if time.Since(start) > timeout {
			return acked, true, fmt.Errorf("the side task's last acknowledged write was %s, its subtask is %+v (%v)", op, sts, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
