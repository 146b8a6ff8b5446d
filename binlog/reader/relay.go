package reader

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/relay"
)

// relayPoll is how often a relay reader at the end of the relay log looks for more when its
// Hub signals no change.
const relayPoll = 50 * time.Millisecond

const headerSize = replication.EventHeaderSize

type relayReader struct {
	dir   string
	start binlog.Location
	hub   *relay.Hub

	parser *replication.BinlogParser
	flavor string

	// The open relay file. off is the offset of the next event; buf holds file bytes
	// from bufOff on (it may hold the beginning of an event not complete yet).
	file     string
	path     string
	f        *os.File
	fi       os.FileInfo
	off      int64
	buf      []byte
	bufOff   int64
	checksum bool
	// rereadAt is off+1 when the bytes at off were not an event and were dropped to be read
	// again from the file (reread), 0 otherwise.
	rereadAt int64
	// rotatedTo is the file a real ROTATE in the current file announced.
	rotatedTo string

	// next is the file to open next and nextPos where to start in it.
	next    string
	nextPos uint32
	started bool

	pending []*replication.BinlogEvent

	// skip: transactions already in the start GTID set are not returned.
	skip     gmysql.GTIDSet
	tracker  relay.GroupTracker
	skipping bool

	// mu is held by Next except while it waits, so that Close (from any goroutine)
	// never pulls the file from under it; done is closed by Close.
	mu        sync.Mutex
	done      chan struct{}
	closeOnce sync.Once
}

var errClosed = errors.New("relay binlog reader is closed")

// RelayConfig configures a relay reader.
type RelayConfig struct {
	// Dir is the relay directory of one source, written by package relay. It need not
	// exist yet.
	Dir string
	// Start is where to read from: File and Pos (Pos below 4: the head of the file; File
	// empty and no GTID set: the oldest relay file), or, when it has only a GTIDSet, the
	// first transaction not in it (the file is found from the GTID sets at the relay files'
	// heads).
	Start binlog.Location
	// Hub, when it is the Hub of the relay writing Dir in this process, wakes the reader as
	// soon as the relay wrote more; without it (or for a relay in another process) the
	// reader polls.
	Hub *relay.Hub
}

// NewRelay reads the relay directory cfg.Dir from cfg.Start. It follows the active relay
// file as it grows and across rotations, and waits (until Next's ctx ends) for files the
// relay has not pulled yet. Each file starts with a ROTATE naming it (LogPos 0, flagged
// artificial, like a server's fake rotate) and its FORMAT_DESCRIPTION (with LogPos 0 when
// reading starts in the middle of the file). It fails when the relay no longer holds what
// the start asks for.
func NewRelay(ctx context.Context, cfg RelayConfig) (binlog.Reader, error) {
	dir, start := cfg.Dir, cfg.Start
	// The directory may not exist yet: the relay has not started. Next waits for it.
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("relay binlog reader: %s is not a directory", dir)
	}
	if start.File != "" && (start.File != filepath.Base(start.File) || strings.ContainsAny(start.File, "/\\")) {
		return nil, fmt.Errorf("relay binlog reader: invalid file name %q", start.File)
	}
	p := replication.NewBinlogParser()
	p.SetVerifyChecksum(true)
	p.SetTimestampStringLocation(time.UTC)
	r := &relayReader{dir: dir, start: start, hub: cfg.Hub, parser: p, done: make(chan struct{})}
	if m, ok, err := relay.ReadMeta(dir); err != nil {
		return nil, fmt.Errorf("relay binlog reader: %w", err)
	} else if ok {
		r.setFlavor(m.Flavor)
	}
	return r, nil
}

func (r *relayReader) setFlavor(flavor string) {
	if flavor != "" && flavor != r.flavor {
		r.flavor = flavor
		r.parser.SetFlavor(flavor)
	}
}

// Close releases the file. It may be called while Next waits in another goroutine; that
// Next then fails.
func (r *relayReader) Close() error {
	r.closeOnce.Do(func() { close(r.done) })
	r.mu.Lock()
	r.closeFile()
	r.mu.Unlock()
	return nil
}

func (r *relayReader) isClosed() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (r *relayReader) closeFile() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.buf = r.buf[:0]
}

func (r *relayReader) Next(ctx context.Context) (*replication.BinlogEvent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if r.isClosed() {
			return nil, errClosed
		}
		if len(r.pending) > 0 {
			ev := r.pending[0]
			r.pending = r.pending[1:]
			return ev, nil
		}
		if r.f == nil {
			if err := r.openNext(ctx); err != nil {
				return nil, err
			}
			continue
		}
		ev, err := r.readEvent()
		if err != nil {
			return nil, err
		}
		if ev != nil {
			if r.keep(ev) {
				return ev, nil
			}
			continue
		}
		if err := r.atEnd(ctx); err != nil {
			return nil, err
		}
	}
}

// wait blocks until the Hub signals a change of dir (ch, taken before looking; nil without a
// Hub), the poll interval passes, or ctx ends.
func (r *relayReader) wait(ctx context.Context, ch <-chan struct{}) error {
	t := time.NewTimer(relayPoll)
	defer t.Stop()
	r.mu.Unlock()
	defer r.mu.Lock()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return errClosed
	case <-ch:
	case <-t.C:
	}
	return nil
}

// resolveStart decides the first file and position.
func (r *relayReader) resolveStart(ctx context.Context) error {
	for {
		ch := r.hub.Changed(r.dir)
		names, err := relay.ReadIndex(r.dir)
		if err != nil {
			return err
		}
		switch {
		case r.start.File != "":
			r.next, r.nextPos = r.start.File, max(r.start.Pos, 4)
			return nil
		case r.start.GTIDSet != "" && len(names) > 0:
			m, ok, err := relay.ReadMeta(r.dir)
			if err != nil {
				return err
			}
			if !ok {
				break // the relay has not committed anything yet
			}
			r.setFlavor(m.Flavor)
			set, err := gmysql.ParseGTIDSet(m.Flavor, r.start.GTIDSet)
			if err != nil {
				return fmt.Errorf("relay binlog reader: start GTID set %q: %w", r.start.GTIDSet, err)
			}
			file, err := relay.LocateGTID(r.dir, m.Flavor, set)
			if err != nil {
				return fmt.Errorf("relay binlog reader: %w", err)
			}
			r.next, r.nextPos, r.skip = file, 4, set
			return nil
		case r.start.GTIDSet == "" && len(names) > 0:
			r.next, r.nextPos = names[0], 4
			return nil
		}
		if err := r.wait(ctx, ch); err != nil {
			return err
		}
	}
}

// openNext opens r.next once the relay has it (and its FORMAT_DESCRIPTION), and queues the
// ROTATE and FORMAT_DESCRIPTION events that start it.
func (r *relayReader) openNext(ctx context.Context) error {
	if !r.started {
		if err := r.resolveStart(ctx); err != nil {
			return err
		}
		r.started = true
	}
	for {
		ch := r.hub.Changed(r.dir)
		ok, err := r.tryOpen()
		if err != nil || ok {
			return err
		}
		if err := r.wait(ctx, ch); err != nil {
			return err
		}
	}
}

func (r *relayReader) tryOpen() (bool, error) {
	names, err := relay.ReadIndex(r.dir)
	if err != nil {
		return false, err
	}
	listed := false
	for _, n := range names {
		if n == r.next {
			listed = true
			break
		}
	}
	if !listed {
		if len(names) > 0 && relay.CompareFileNames(r.next, names[0]) < 0 {
			return false, fmt.Errorf("relay binlog reader: %s is not in the relay log any more (it starts at %s): purged", r.next, names[0])
		}
		return false, nil // not pulled yet
	}
	path := filepath.Join(r.dir, r.next)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // being recreated by a recovering relay
	}
	if err != nil {
		return false, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return false, err
	}
	r.closeFile()
	r.f, r.fi, r.file, r.path = f, fi, r.next, path
	r.rotatedTo = ""
	r.bufOff, r.off = 0, 0
	ok, err := r.ensure(4 + headerSize)
	if err != nil || !ok {
		r.closeFile()
		return false, err
	}
	if string(r.buf[:4]) != binlog.FileMagic {
		r.closeFile()
		return false, fmt.Errorf("relay binlog reader: %s is not a binlog file", path)
	}
	r.off = 4
	fdeSize := int64(binary.LittleEndian.Uint32(r.buf[4+9:]))
	if replication.EventType(r.buf[4+4]) != replication.FORMAT_DESCRIPTION_EVENT || fdeSize < headerSize || fdeSize > 1<<20 {
		r.closeFile()
		return false, fmt.Errorf("relay binlog reader: %s does not start with a FORMAT_DESCRIPTION event", path)
	}
	if ok, err := r.ensure(int(fdeSize)); err != nil || !ok {
		r.closeFile()
		return false, err
	}
	fde := bytes.Clone(r.buf[4 : 4+fdeSize])
	fdeEnd := 4 + fdeSize
	pos := int64(r.nextPos)
	switch {
	case pos <= 4:
		pos = fdeEnd
	case pos < fdeEnd:
		r.closeFile()
		return false, fmt.Errorf("relay binlog reader: position %d in %s is inside the FORMAT_DESCRIPTION event", pos, r.file)
	default:
		// Like a server starting a dump mid-file: the re-sent FORMAT_DESCRIPTION says
		// LogPos 0 so that nobody takes it for the position.
		binary.LittleEndian.PutUint32(fde[13:], 0)
		if fdeChecksum(fde) {
			binary.LittleEndian.PutUint32(fde[len(fde)-4:], crc32.ChecksumIEEE(fde[:len(fde)-4]))
		}
	}
	fdeEv, err := r.parser.Parse(fde)
	if err != nil {
		r.closeFile()
		return false, fmt.Errorf("relay binlog reader: %s: format description: %w", r.file, err)
	}
	format := fdeEv.Event.(*replication.FormatDescriptionEvent)
	r.checksum = format.ChecksumAlgorithm == replication.BINLOG_CHECKSUM_ALG_CRC32
	if r.flavor == "" {
		if strings.Contains(strings.ToLower(format.ServerVersion), "mariadb") {
			r.setFlavor(binlog.FlavorMariaDB)
		} else {
			r.setFlavor(binlog.FlavorMySQL)
		}
	}
	r.off = pos
	r.tracker.Reset()
	r.skipping = false
	r.pending = append(r.pending, fakeRotate(fdeEv.Header.ServerID, r.file, uint64(r.nextPos)), fdeEv)
	return true, nil
}

// fdeChecksum reports whether a raw FORMAT_DESCRIPTION event declares CRC32 checksums.
func fdeChecksum(fde []byte) bool {
	var e replication.FormatDescriptionEvent
	if err := e.Decode(fde[headerSize:]); err != nil {
		return false
	}
	return e.ChecksumAlgorithm == replication.BINLOG_CHECKSUM_ALG_CRC32
}

// fakeRotate builds the ROTATE event a server sends at the start of a dump.
func fakeRotate(serverID uint32, file string, pos uint64) *replication.BinlogEvent {
	if pos < 4 {
		pos = 4
	}
	size := headerSize + 8 + len(file)
	raw := make([]byte, size)
	raw[4] = byte(replication.ROTATE_EVENT)
	binary.LittleEndian.PutUint32(raw[5:], serverID)
	binary.LittleEndian.PutUint32(raw[9:], uint32(size))
	binary.LittleEndian.PutUint16(raw[17:], replication.LOG_EVENT_ARTIFICIAL_F)
	binary.LittleEndian.PutUint64(raw[headerSize:], pos)
	copy(raw[headerSize+8:], file)
	return &replication.BinlogEvent{
		RawData: raw,
		Header: &replication.EventHeader{
			EventType: replication.ROTATE_EVENT,
			ServerID:  serverID,
			EventSize: uint32(size),
			Flags:     replication.LOG_EVENT_ARTIFICIAL_F,
		},
		Event: &replication.RotateEvent{Position: pos, NextLogName: raw[headerSize+8:]},
	}
}

// ensure makes buf hold at least n bytes from off; false when the file does not have them
// yet.
func (r *relayReader) ensure(n int) (bool, error) {
	rel := r.off - r.bufOff
	if rel < 0 || rel > int64(len(r.buf)) {
		// off is outside the buffered bytes (a start in the middle of a file).
		r.buf, r.bufOff, rel = r.buf[:0], r.off, 0
	}
	avail := len(r.buf) - int(rel)
	if avail >= n {
		return true, nil
	}
	// Keep the unread bytes, at the front.
	if rel > 0 {
		copy(r.buf, r.buf[rel:])
		r.buf = r.buf[:avail]
		r.bufOff = r.off
	}
	want := max(n, 256<<10)
	if cap(r.buf) < want {
		nb := make([]byte, len(r.buf), want)
		copy(nb, r.buf)
		r.buf = nb
	}
	for len(r.buf)-int(r.off-r.bufOff) < n {
		m, err := r.f.ReadAt(r.buf[len(r.buf):cap(r.buf)], r.bufOff+int64(len(r.buf)))
		r.buf = r.buf[:len(r.buf)+m]
		if len(r.buf)-int(r.off-r.bufOff) >= n {
			break
		}
		if err == io.EOF || (err == nil && m == 0) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("relay binlog reader: read %s: %w", r.path, err)
		}
	}
	return true, nil
}

// readEvent returns the next complete event of the open file, or nil when there is none
// yet.
func (r *relayReader) readEvent() (*replication.BinlogEvent, error) {
	ok, err := r.ensure(headerSize)
	if err != nil || !ok {
		return nil, err
	}
	at := r.off - r.bufOff
	size := binary.LittleEndian.Uint32(r.buf[at+9:])
	if size < headerSize || size > 1<<30 {
		return r.reread(fmt.Errorf("relay binlog reader: %s:%d: corrupt event header (size %d)", r.file, r.off, size))
	}
	if ok, err := r.ensure(int(size)); err != nil || !ok {
		return nil, err
	}
	at = r.off - r.bufOff
	raw := bytes.Clone(r.buf[at : at+int64(size)])
	ev, err := r.parser.Parse(raw)
	if err != nil {
		return r.reread(fmt.Errorf("relay binlog reader: %s:%d: %w", r.file, r.off, err))
	}
	r.off += int64(size)
	r.rereadAt = 0
	if ev.Header.EventType == replication.ROTATE_EVENT {
		if rot, ok := ev.Event.(*replication.RotateEvent); ok {
			r.rotatedTo = string(rot.NextLogName)
		}
	}
	return ev, nil
}

// reread answers bytes at off that are not an event. A relay recovering from a crash
// truncates its file back to its last commit and pulls the same bytes again; a read racing
// with the truncation may get zeros for the part being cut (Linux zeroes the page tail before
// the new size is seen). So the buffered bytes from off on are dropped and read again from
// the file (readEvent then says there is no event yet); only bytes read afresh that are still
// not an event are reported as corrupt, with err.
func (r *relayReader) reread(err error) (*replication.BinlogEvent, error) {
	if r.rereadAt == r.off+1 {
		return nil, err
	}
	r.rereadAt = r.off + 1
	r.buf = r.buf[:r.off-r.bufOff]
	return nil, nil
}

// keep decides whether an event read from the file is returned.
func (r *relayReader) keep(ev *replication.BinlogEvent) bool {
	if relay.IsDummy(ev) {
		return false
	}
	if r.skip == nil {
		return true
	}
	h := ev.Header
	body := ev.RawData[headerSize:]
	if r.checksum && h.EventType != replication.FORMAT_DESCRIPTION_EVENT && len(body) >= 4 {
		body = body[:len(body)-4]
	}
	inGroup := !r.tracker.AtBoundary()
	begin, end := r.tracker.Observe(h.EventType, body)
	if begin {
		inGroup = true
		r.skipping = r.covered(ev)
	}
	drop := inGroup && r.skipping
	if end {
		r.skipping = false
	}
	return !drop
}

// covered reports whether the group a GTID event opens is in the start GTID set.
func (r *relayReader) covered(ev *replication.BinlogEvent) bool {
	var g string
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent:
		g = e.GTID.String()
	case *replication.GTIDEvent:
		set, err := e.GTIDNext()
		if err != nil {
			return false
		}
		g = set.String()
	case *replication.GtidTaggedLogEvent:
		set, err := e.GTIDNext()
		if err != nil {
			return false
		}
		g = set.String()
	default:
		return false
	}
	one, err := gmysql.ParseGTIDSet(r.flavor, g)
	if err != nil {
		return false
	}
	return r.skip.Contain(one)
}

// atEnd handles the end of the bytes available in the open file: move to the next file
// when this one is finished, reopen it when a recovering relay replaced it, or wait.
func (r *relayReader) atEnd(ctx context.Context) error {
	ch := r.hub.Changed(r.dir)
	if r.rotatedTo != "" {
		r.next, r.nextPos = r.rotatedTo, 4
		r.closeFile()
		return nil
	}
	st, err := os.Stat(r.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Removed: by a relay recovering from a crash (it comes back), or by a purge.
		names, err := relay.ReadIndex(r.dir)
		if err != nil {
			return err
		}
		if len(names) > 0 && relay.CompareFileNames(r.file, names[0]) < 0 {
			return fmt.Errorf("relay binlog reader: %s was purged while being read", r.file)
		}
		return r.wait(ctx, ch)
	case err != nil:
		return err
	case !os.SameFile(st, r.fi):
		// Recreated by a recovering relay: same name, same upstream bytes.
		f, err := os.Open(r.path)
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		r.f.Close()
		r.f, r.fi = f, fi
		r.buf, r.bufOff = r.buf[:0], r.off
		return nil
	case st.Size() > r.bufOff+int64(len(r.buf)):
		return nil // more bytes arrived
	}
	names, err := relay.ReadIndex(r.dir)
	if err != nil {
		return err
	}
	for i, n := range names {
		if n != r.file || i+1 == len(names) {
			continue
		}
		// A successor exists, so this file is complete: the relay commits a file up to
		// its end before it lists the next. One last look for bytes written meanwhile.
		st, err := os.Stat(r.path)
		if err != nil {
			return r.wait(ctx, ch)
		}
		if st.Size() > r.bufOff+int64(len(r.buf)) {
			return nil
		}
		if r.off < st.Size() {
			return fmt.Errorf("relay binlog reader: %s ends with an incomplete event at %d", r.file, r.off)
		}
		if r.off > st.Size() {
			return fmt.Errorf("relay binlog reader: position %d is beyond the end of %s (%d bytes)", r.off, r.file, st.Size())
		}
		r.next, r.nextPos = names[i+1], 4
		r.closeFile()
		return nil
	}
	return r.wait(ctx, ch)
}
