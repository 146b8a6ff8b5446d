package backoff

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoffDoublesUpToMaxAndResets(t *testing.T) {
	b := Backoff{First: time.Millisecond, Max: 3 * time.Millisecond}
	var got []time.Duration
	for range 4 {
		got = append(got, b.Next())
		require.NoError(t, b.Wait(context.Background()))
	}
	require.Equal(t, []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 3 * time.Millisecond}, got)
	b.Reset()
	require.Equal(t, time.Millisecond, b.Next())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled)
}
