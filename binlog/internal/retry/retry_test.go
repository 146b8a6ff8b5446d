package retry

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBoard: a retry shows once it has lasted a second, since the oldest retry in progress
// began, with the most recent error; Done and Clear end it.
func TestBoard(t *testing.T) {
	var b Board
	require.Nil(t, b.Current(time.Now(), time.Minute))
	require.False(t, b.Busy())

	b.Failed("worker 1", errors.New("first"))
	require.True(t, b.Busy())
	require.Nil(t, b.Current(time.Now(), time.Minute), "a retry younger than a second is not shown")
	since := b.entries["worker 1"].since
	b.Failed("control", errors.New("second"))
	b.Failed("worker 1", errors.New("third"))
	require.Equal(t, since, b.entries["worker 1"].since, "a retry begins at its first failure")

	cur := b.Current(since.Add(minVisible), time.Minute)
	require.NotNil(t, cur)
	require.Equal(t, since, cur.Since)
	require.Equal(t, "third", cur.Error)
	require.Equal(t, time.Minute, cur.For)

	b.Done("worker 1")
	require.True(t, b.Busy())
	cur = b.Current(time.Now().Add(time.Hour), time.Minute)
	require.NotNil(t, cur)
	require.Equal(t, "second", cur.Error)
	b.Clear()
	require.False(t, b.Busy())
	require.Nil(t, b.Current(time.Now().Add(time.Hour), time.Minute))
}
