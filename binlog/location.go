package binlog

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/replication"
)

// Flavors of upstream servers, as go-mysql names them.
const (
	FlavorMySQL   = "mysql"
	FlavorMariaDB = "mariadb"
)

// Location is a point in an upstream's binlog: a file and the position in it, plus the GTID
// set executed up to that point when known ("uuid:1-n" for MySQL, "d-s-n,..." for MariaDB).
type Location struct {
	File    string `json:"file"`
	Pos     uint32 `json:"pos"`
	GTIDSet string `json:"gtid_set,omitempty"`
}

// String renders the position as DM shows it: "(mysql-bin.000001, 1979)".
func (l Location) String() string { return fmt.Sprintf("(%s, %d)", l.File, l.Pos) }

// ParsePosition reads a binlog position as DM's --binlog-pos writes it, "mysql-bin.000001:4321",
// or as String writes it, "(mysql-bin.000001, 4321)". The position must be a number above 0.
func ParsePosition(s string) (file string, pos uint32, err error) {
	s = strings.TrimSpace(s)
	var p string
	if inner, ok := strings.CutPrefix(s, "("); ok && strings.HasSuffix(inner, ")") {
		f, q, found := strings.Cut(strings.TrimSuffix(inner, ")"), ",")
		if !found {
			return "", 0, fmt.Errorf("binlog position %q: want (file, pos)", s)
		}
		file, p = strings.TrimSpace(f), strings.TrimSpace(q)
	} else {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return "", 0, fmt.Errorf("binlog position %q: want file:pos, such as mysql-bin.000001:4321", s)
		}
		file, p = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	}
	if file == "" {
		return "", 0, fmt.Errorf("binlog position %q names no file", s)
	}
	n, err := strconv.ParseUint(p, 10, 32)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("binlog position %q: the position %q must be a number above 0", s, p)
	}
	return file, uint32(n), nil
}

// IsZero reports whether no position is set.
func (l Location) IsZero() bool { return l.File == "" && l.Pos == 0 && l.GTIDSet == "" }

// Reader yields the binlog events of one upstream in order, from a start Location. Both the
// reader straight from the upstream ("remote") and the reader from a relay log ("local")
// implement it, so the sync unit does not care which it has. A reader starts with the events
// that tell where it is (a ROTATE naming the file, the FORMAT_DESCRIPTION) before the first
// data event.
type Reader interface {
	// Next blocks until the next event arrives or ctx ends.
	Next(ctx context.Context) (*replication.BinlogEvent, error)
	// Close releases the connection or files.
	Close() error
}

// CompareFileNames orders binlog file names ("mysql-bin.000009" < "mysql-bin.000010",
// whatever the width of the number): by base name, then by the numeric extension. It
// returns -1, 0 or 1.
func CompareFileNames(a, b string) int {
	ab, an, aok := splitFileName(a)
	bb, bn, bok := splitFileName(b)
	if !aok || !bok || ab != bb {
		return strings.Compare(a, b)
	}
	switch {
	case an < bn:
		return -1
	case an > bn:
		return 1
	}
	return 0
}

// FileIndex is the numeric extension of a binlog file name (DM's binlog_file gauges show it).
func FileIndex(name string) uint64 {
	_, n, _ := splitFileName(name)
	return n
}

func splitFileName(name string) (base string, n uint64, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return name, 0, false
	}
	n, err := strconv.ParseUint(name[i+1:], 10, 64)
	if err != nil {
		return name, 0, false
	}
	return name[:i], n, true
}

// FileMagic starts every binlog file, and so every relay log file.
const FileMagic = "\xfebin"
