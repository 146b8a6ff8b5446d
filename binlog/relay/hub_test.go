package relay_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/dm-oss/dm/binlog/internal/relaytest"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/integration"
)

// A relay wakes the waiters of its own Hub when it writes, and only those: another Hub of
// the same process, asked about the same directory, is not signalled (no process-wide
// registry).
func TestHubWakesReadersOfItsRelay(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY)")
	dir := filepath.Join(t.TempDir(), "source-hub")
	rr := relaytest.Start(t, m, dir, serverIDs.Next())
	relaytest.WaitCatchUp(t, dir, db, 20*time.Second)

	stranger := relay.NewHub()
	own, foreign := rr.Hub.Changed(dir), stranger.Changed(dir)
	m.Exec(t, "INSERT INTO app.t VALUES (1)")
	select {
	case <-own:
	case <-time.After(20 * time.Second):
		t.Fatal("the relay wrote the insert without waking its Hub's readers within 20s")
	}
	select {
	case <-foreign:
		t.Fatal("a Hub the relay was not given was woken by its write")
	default:
	}
}
