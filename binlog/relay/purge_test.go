package relay_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/relaytest"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/integration"
)

// PurgeBefore removes every file before the one named, whatever its age, but never the
// file a reader needs nor the one being written, and says where and why it stopped.
func TestPurgeBefore(t *testing.T) {
	t.Parallel()
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	db := m.DB(t)
	m.Exec(t, "CREATE DATABASE app; CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100), n INT)")
	dir := filepath.Join(t.TempDir(), "source-purge-before")
	relaytest.Start(t, m, dir, serverIDs.Next())
	for range 5 {
		if err := insertWorkload(db, "app.t", 100, 7); err != nil {
			t.Fatal(err)
		}
		m.Exec(t, "FLUSH BINARY LOGS")
	}
	relaytest.WaitCatchUp(t, dir, db, 20*time.Second)
	names, _ := relay.ReadIndex(dir)
	if len(names) != 6 {
		t.Fatalf("relay files %v, want 6", names)
	}
	exists := func(n string) bool {
		_, err := os.Stat(filepath.Join(dir, n))
		return err == nil
	}
	base := names[0][:len(names[0])-len(".000001")]

	// Names that are no binlog file of this relay log are refused, and nothing goes.
	for _, bad := range []string{"", "mysql-bin", base + ".", base + ".00x002", "../" + names[2], "relay.index", "other-bin.000002", "/" + names[2]} {
		res, err := relay.PurgeBefore(dir, bad, binlog.Location{})
		if !errors.Is(err, relay.ErrBadPurgeTarget) || len(res.Removed) != 0 {
			t.Errorf("PurgeBefore(%q): %+v %v, want ErrBadPurgeTarget", bad, res, err)
		}
	}
	if idx, _ := relay.ReadIndex(dir); !slices.Equal(idx, names) {
		t.Fatalf("index after refused purges: %v, want %v", idx, names)
	}

	// No reader: everything strictly before the named file goes, recent as it is.
	res, err := relay.PurgeBefore(dir, names[2], binlog.Location{})
	if err != nil || !slices.Equal(res.Removed, names[:2]) || res.KeptFrom != names[2] || res.CappedBy != "" {
		t.Fatalf("purge before %s: %+v %v, want %v removed", names[2], res, err, names[:2])
	}
	if exists(names[1]) || !exists(names[2]) {
		t.Fatalf("after purge before %s: %s exists %t, %s exists %t", names[2], names[1], exists(names[1]), names[2], exists(names[2]))
	}
	// Again: nothing left to remove.
	if res, err = relay.PurgeBefore(dir, names[2], binlog.Location{}); err != nil || len(res.Removed) != 0 {
		t.Fatalf("second purge before %s: %+v %v", names[2], res, err)
	}

	// A reader in names[3]: the purge stops there, though names[5] was asked for.
	res, err = relay.PurgeBefore(dir, names[5], binlog.Location{File: names[3], Pos: 4})
	if err != nil || !slices.Equal(res.Removed, names[2:3]) || res.KeptFrom != names[3] || res.CappedBy != relay.StopReader {
		t.Fatalf("purge capped by a reader: %+v %v, want %v removed, kept from %s", res, err, names[2:3], names[3])
	}

	// A name past every file: the purge stops at the file being written.
	res, err = relay.PurgeBefore(dir, base+".999999", binlog.Location{})
	if err != nil || !slices.Equal(res.Removed, names[3:5]) || res.KeptFrom != names[5] || res.CappedBy != relay.StopActive {
		t.Fatalf("purge past the end: %+v %v, want %v removed, kept from %s", res, err, names[3:5], names[5])
	}
	if idx, _ := relay.ReadIndex(dir); !slices.Equal(idx, names[5:]) || !exists(names[5]) {
		t.Fatalf("index after purges: %v, want %v", idx, names[5:])
	}

	// The relay goes on writing after the purges.
	m.Exec(t, "FLUSH BINARY LOGS")
	m.Exec(t, "INSERT INTO app.t (v, n) VALUES ('after purge', 1)")
	relaytest.WaitCatchUp(t, dir, db, 20*time.Second)
	if idx, _ := relay.ReadIndex(dir); len(idx) != 2 || idx[0] != names[5] {
		t.Fatalf("index after a rotation: %v, want %s and the next file", idx, names[5])
	}
}
