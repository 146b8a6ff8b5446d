package relay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/dm-oss/dm/binlog"
)

// Purge removes the relay files of dir that lie entirely before keep (the oldest location
// any reader of the relay still needs) when they are older than expiresHours (by
// modification time, if expiresHours > 0) or when the file system holding dir has less
// than remainSpaceGB GiB available (if remainSpaceGB > 0). It never removes the active
// file (the meta's, and the last of the index) nor the file keep points into.
//
// keep may give only a GTID set: the file it lies in is then looked up from the head GTID
// sets of the relay files, and nothing is purged if that fails. A zero keep means that no
// reader needs anything. It returns the names of the removed files, oldest first. Relay
// readers notice the removal at their next poll.
func Purge(dir string, keep binlog.Location, expiresHours int64, remainSpaceGB int64, now time.Time) ([]string, error) {
	if expiresHours <= 0 && remainSpaceGB <= 0 {
		return nil, nil
	}
	lowSpace := false
	if remainSpaceGB > 0 {
		_, avail, err := diskSpace(dir)
		if err != nil {
			return nil, fmt.Errorf("purge relay %s: %w", dir, err)
		}
		lowSpace = avail>>30 < uint64(remainSpaceGB) // whole GiB available
	}
	if expiresHours <= 0 && !lowSpace {
		return nil, nil
	}

	unlock, err := lockIndex(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	names, err := ReadIndex(dir)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	meta, hasMeta, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}

	// limit: files at or after it stay.
	limit := names[len(names)-1]
	if hasMeta && CompareFileNames(meta.File, limit) < 0 {
		limit = meta.File
	}
	keepFile := keep.File
	if keepFile == "" && keep.GTIDSet != "" {
		flavor := meta.Flavor
		if flavor == "" {
			return nil, errors.New("purge relay: cannot locate a GTID set without a relay meta")
		}
		set, err := gmysql.ParseGTIDSet(flavor, keep.GTIDSet)
		if err != nil {
			return nil, fmt.Errorf("purge relay: keep GTID set %q: %w", keep.GTIDSet, err)
		}
		if keepFile, err = LocateGTID(dir, flavor, set); err != nil {
			return nil, fmt.Errorf("purge relay: %w", err)
		}
	}
	if keepFile != "" && CompareFileNames(keepFile, limit) < 0 {
		limit = keepFile
	}

	deadline := now.Add(-time.Duration(expiresHours) * time.Hour)
	var removed []string
	remaining := make([]string, 0, len(names))
	for _, n := range names {
		if CompareFileNames(n, limit) >= 0 || validFileName(n) != nil {
			remaining = append(remaining, n)
			continue
		}
		path := filepath.Join(dir, n)
		st, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			removed = append(removed, n) // gone already: drop it from the index
			continue
		}
		if err != nil {
			return removed, err
		}
		if !lowSpace && !(expiresHours > 0 && st.ModTime().Before(deadline)) {
			remaining = append(remaining, n)
			continue
		}
		if err := os.Remove(path); err != nil {
			return removed, fmt.Errorf("purge relay file %s: %w", path, err)
		}
		removed = append(removed, n)
	}
	if len(removed) == 0 {
		return nil, nil
	}
	if err := writeIndex(dir, remaining); err != nil {
		return removed, fmt.Errorf("purge relay: rewrite index: %w", err)
	}
	return removed, nil
}
