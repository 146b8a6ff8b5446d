// Package durable writes the small state files of the binlog units (relay index and meta,
// dump metadata) so that a crash leaves either the old or the new content, never a torn one.
package durable

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces dir/name with data, a file of mode perm: a synced temporary file is renamed
// into place, then the directory is synced so the rename itself survives a crash.
func WriteFile(dir, name string, data []byte, perm os.FileMode) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("rename %s into place: %w", name, err)
	}
	return SyncDir(dir)
}

// SyncDir makes the directory's entries (created, renamed or removed files) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
