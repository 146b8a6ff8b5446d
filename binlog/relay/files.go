package relay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/durable"
)

// Names of the files a relay directory holds besides the relay files.
const (
	MetaFileName  = "relay.meta"
	IndexFileName = "relay.index"
	lockFileName  = "relay.lock"
	// indexLockName serialises changes of the index (and the deletion of relay files)
	// between a running relay and Purge.
	indexLockName = "relay.index.lock"
)

// Meta is the content of relay.meta: where the durable relay log ends, and whose binlog it
// is.
type Meta struct {
	// File and Pos: the relay files hold the upstream's binlog completely up to here, and
	// this is a transaction boundary.
	File string `json:"file"`
	Pos  uint32 `json:"pos"`
	// GTIDSet is the upstream's GTID set (MariaDB: GTID position) executed up to File:Pos.
	// It may be empty before the relay has read the head of its first file.
	GTIDSet string `json:"gtid_set"`
	// The upstream the files come from.
	Flavor     string `json:"flavor"`
	ServerID   uint32 `json:"server_id"`
	ServerUUID string `json:"server_uuid,omitempty"`
}

// Location returns the meta position as a binlog.Location.
func (m Meta) Location() binlog.Location {
	return binlog.Location{File: m.File, Pos: m.Pos, GTIDSet: m.GTIDSet}
}

// ReadMeta reads dir's relay.meta. ok is false when there is none (a relay has never
// committed anything in dir).
func ReadMeta(dir string) (m Meta, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return Meta{}, false, nil
	}
	if err != nil {
		return Meta{}, false, fmt.Errorf("read relay meta: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Meta{}, false, fmt.Errorf("relay meta %s is corrupt: %w", filepath.Join(dir, MetaFileName), err)
	}
	if m.File == "" || m.Pos < 4 {
		return Meta{}, false, fmt.Errorf("relay meta %s is corrupt: position (%q, %d)", filepath.Join(dir, MetaFileName), m.File, m.Pos)
	}
	return m, true, nil
}

// writeMeta replaces relay.meta durably: temporary file, fsync, rename, fsync of dir.
func writeMeta(dir string, m Meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, MetaFileName, append(b, '\n'))
}

// ReadIndex returns the relay files of dir in order (empty when there is no index).
func ReadIndex(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, IndexFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read relay index: %w", err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if name := strings.TrimSpace(sc.Text()); name != "" {
			names = append(names, name)
		}
	}
	return names, sc.Err()
}

func writeIndex(dir string, names []string) error {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return writeFileAtomic(dir, IndexFileName, []byte(b.String()))
}

func writeFileAtomic(dir, name string, data []byte) error {
	return durable.WriteFile(dir, name, data, 0o600)
}

func syncDir(dir string) error { return durable.SyncDir(dir) }

// flock takes an exclusive lock on dir/name; block says whether to wait for it.
func flock(dir, name string, block bool) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !block {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// lockIndex serialises index changes between the relay and Purge.
func lockIndex(dir string) (func(), error) {
	unlock, err := flock(dir, indexLockName, true)
	if err != nil {
		return nil, fmt.Errorf("lock relay index in %s: %w", dir, err)
	}
	return unlock, nil
}

// CompareFileNames orders binlog file names; see binlog.CompareFileNames.
func CompareFileNames(a, b string) int { return binlog.CompareFileNames(a, b) }

// fileNumber is the numeric extension of a binlog file name, for metrics.
func fileNumber(name string) float64 { return float64(binlog.FileIndex(name)) }

// validFileName rejects names that would escape the relay directory or clash with its own
// files.
func validFileName(name string) error {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." ||
		strings.ContainsAny(name, "/\\\x00\n") || strings.HasPrefix(name, "relay.") {
		return fmt.Errorf("invalid binlog file name %q", name)
	}
	return nil
}
