package relay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/dm-oss/dm/binlog"
)

// ErrBadPurgeTarget is returned (wrapped) by PurgeBefore for a file name that cannot name a
// relay file of the directory.
var ErrBadPurgeTarget = errors.New("not a binlog file name of this relay log")

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
	deadline := now.Add(-time.Duration(expiresHours) * time.Hour)
	res, err := purgeFiles(dir, keep, "", func(st os.FileInfo) bool {
		return lowSpace || (expiresHours > 0 && st.ModTime().Before(deadline))
	})
	return res.Removed, err
}

// PurgeResult is what a manual purge removed and where it stopped.
type PurgeResult struct {
	// Removed are the files removed, oldest first.
	Removed []string
	// KeptFrom is the first relay file kept: it and every later file stay ("" when the
	// relay has no files).
	KeptFrom string
	// CappedBy says why the purge stopped before the file asked for ("" when it did not):
	// StopActive or StopReader.
	CappedBy string
}

// Why a purge stopped before the file asked for.
const (
	StopActive = "the relay is writing it"
	StopReader = "a reader of the relay log still needs it"
)

// PurgeBefore removes every relay file of dir whose name is strictly before file (DM's
// purge-relay --filename), whatever its age. It is bounded like Purge: it never removes the
// file being written nor the file keep (the oldest location any reader still needs) lies
// in, nor anything after them; PurgeResult says where it stopped and why. file must be a
// binlog file name (base.number) with the base of the relay's files; it need not exist.
func PurgeBefore(dir, file string, keep binlog.Location) (PurgeResult, error) {
	if err := checkPurgeTarget(dir, file); err != nil {
		return PurgeResult{}, err
	}
	return purgeFiles(dir, keep, file, func(os.FileInfo) bool { return true })
}

// checkPurgeTarget refuses a name that is no binlog file name of dir's relay log.
func checkPurgeTarget(dir, file string) error {
	base, ok := binlogBase(file)
	if !ok || validFileName(file) != nil {
		return fmt.Errorf("purge relay before %q: %w (want a name like mysql-bin.000003)", file, ErrBadPurgeTarget)
	}
	names, err := ReadIndex(dir)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		if have, _ := binlogBase(names[len(names)-1]); have != base {
			return fmt.Errorf("purge relay before %q: %w: its files are %s.*", file, ErrBadPurgeTarget, have)
		}
	}
	return nil
}

// binlogBase splits a binlog file name base.number, the number all digits.
func binlogBase(name string) (string, bool) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return "", false
	}
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return name[:i], true
}

// purgeFiles is the core of both purges: under the index lock, it removes the files before
// the limit (the active file, keep's file and before, whichever comes first; before ""
// sets no bound) that remove selects, and rewrites the index.
func purgeFiles(dir string, keep binlog.Location, before string, remove func(os.FileInfo) bool) (PurgeResult, error) {
	unlock, err := lockIndex(dir)
	if err != nil {
		return PurgeResult{}, err
	}
	defer unlock()
	names, err := ReadIndex(dir)
	if err != nil || len(names) == 0 {
		return PurgeResult{}, err
	}
	limit, cappedBy, err := purgeLimit(dir, names, keep, before)
	if err != nil {
		return PurgeResult{}, err
	}
	res := PurgeResult{KeptFrom: limit, CappedBy: cappedBy}
	remaining := make([]string, 0, len(names))
	for _, n := range names {
		if CompareFileNames(n, limit) >= 0 || validFileName(n) != nil {
			remaining = append(remaining, n)
			continue
		}
		path := filepath.Join(dir, n)
		st, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			res.Removed = append(res.Removed, n) // gone already: drop it from the index
			continue
		}
		if err != nil {
			return res, err
		}
		if !remove(st) {
			remaining = append(remaining, n)
			continue
		}
		if err := os.Remove(path); err != nil {
			return res, fmt.Errorf("purge relay file %s: %w", path, err)
		}
		res.Removed = append(res.Removed, n)
	}
	if len(res.Removed) == 0 {
		return res, nil
	}
	if err := writeIndex(dir, remaining); err != nil {
		return res, fmt.Errorf("purge relay: rewrite index: %w", err)
	}
	return res, nil
}

// purgeLimit is the first file a purge keeps, and why it is not before (when it comes
// first). The caller holds the index lock.
func purgeLimit(dir string, names []string, keep binlog.Location, before string) (string, string, error) {
	meta, hasMeta, err := ReadMeta(dir)
	if err != nil {
		return "", "", err
	}
	limit, why := names[len(names)-1], StopActive
	if hasMeta && CompareFileNames(meta.File, limit) < 0 {
		limit = meta.File
	}
	keepFile := keep.File
	if keepFile == "" && keep.GTIDSet != "" {
		flavor := meta.Flavor
		if flavor == "" {
			return "", "", errors.New("purge relay: cannot locate a GTID set without a relay meta")
		}
		set, err := gmysql.ParseGTIDSet(flavor, keep.GTIDSet)
		if err != nil {
			return "", "", fmt.Errorf("purge relay: keep GTID set %q: %w", keep.GTIDSet, err)
		}
		if keepFile, err = LocateGTID(dir, flavor, set); err != nil {
			return "", "", fmt.Errorf("purge relay: %w", err)
		}
	}
	if keepFile != "" && CompareFileNames(keepFile, limit) < 0 {
		limit, why = keepFile, StopReader
	}
	if before != "" && CompareFileNames(before, limit) <= 0 {
		return before, "", nil
	}
	return limit, why, nil
}
