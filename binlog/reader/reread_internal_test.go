package reader

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/stretchr/testify/require"
)

// TestBytesThatAreNotAnEventAreReadAgain: zeros where an event should be (what a read racing
// with a recovering relay's truncation gets) are dropped and read again from the file, which
// holds the event; zeros that are in the file itself are corruption.
func TestBytesThatAreNotAnEventAreReadAgain(t *testing.T) {
	ev := fakeRotate(7, "mysql-bin.000002", 4).RawData
	path := filepath.Join(t.TempDir(), "mysql-bin.000001")
	require.NoError(t, os.WriteFile(path, append([]byte("\xfebin"), ev...), 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()

	r := &relayReader{file: "mysql-bin.000001", path: path, f: f, parser: replication.NewBinlogParser(),
		off: 4, bufOff: 4, buf: make([]byte, len(ev), 1024)} // buffered zeros: the race's read
	got, err := r.readEvent()
	require.NoError(t, err)
	require.Nil(t, got, "no event yet: the zeros are dropped, to be read again")
	got, err = r.readEvent()
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Equal(t, replication.ROTATE_EVENT, got.Header.EventType)
	require.Equal(t, int64(4+len(ev)), r.off)

	// The same zeros in the file: reported once read afresh.
	require.NoError(t, os.WriteFile(path, append([]byte("\xfebin"), make([]byte, len(ev))...), 0o600))
	r = &relayReader{file: "mysql-bin.000001", path: path, f: f, parser: replication.NewBinlogParser(), off: 4, bufOff: 4}
	got, err = r.readEvent()
	require.NoError(t, err)
	require.Nil(t, got, "read once more first")
	_, err = r.readEvent()
	require.ErrorContains(t, err, "mysql-bin.000001:4: corrupt event header (size 0)")
}
