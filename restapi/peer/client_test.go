package peer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// A master that hangs (frozen, or cut off with its connections open) must not hold the
// desired-state feed, and with it the worker's lease: after the long-poll's wait and a little
// more, the next master answers.
func TestWatchDesiredSkipsAHungMaster(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(release)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(DesiredState{View: fsm.WorkerView{Index: 7, Registered: true}})
	}))
	defer healthy.Close()

	c, err := NewClient([]string{strings.TrimPrefix(hung.URL, "http://"), strings.TrimPrefix(healthy.URL, "http://")}, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	began := time.Now()
	st, err := c.WatchDesired(ctx, "w1", 0, 100*time.Millisecond)
	require.NoError(t, err)
	require.EqualValues(t, 7, st.View.Index)
	took := time.Since(began)
	require.Less(t, took, 100*time.Millisecond+desiredSlack+time.Second, "took %v", took)
}
