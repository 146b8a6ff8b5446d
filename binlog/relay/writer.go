package relay

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
)

// fileWriter appends to the active relay file.
type fileWriter struct {
	dir, name string
	f         *os.File
	bw        *bufio.Writer
	size      uint32 // logical end: everything written, buffered or not
	flushed   uint32 // handed to the OS
	synced    uint32 // on disk
}

func openWriter(dir, name string, pos uint32) (*fileWriter, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(int64(pos), io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &fileWriter{dir: dir, name: name, f: f, bw: bufio.NewWriterSize(f, 1<<20), size: pos, flushed: pos, synced: pos}, nil
}

func (w *fileWriter) write(b []byte) error {
	if _, err := w.bw.Write(b); err != nil {
		return fmt.Errorf("write relay file %s: %w", w.name, err)
	}
	w.size += uint32(len(b))
	return nil
}

// flush hands the buffered bytes to the OS, where readers see them.
func (w *fileWriter) flush(m *metrics) error {
	if w.flushed == w.size {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		m.writeErrors.Inc()
		return fmt.Errorf("write relay file %s: %w", w.name, err)
	}
	m.writeSize.Observe(float64(w.size - w.flushed))
	w.flushed = w.size
	return nil
}

// sync makes the file durable up to size.
func (w *fileWriter) sync(m *metrics) error {
	start := time.Now()
	if err := w.flush(m); err != nil {
		return err
	}
	if w.synced == w.size {
		return nil
	}
	if err := fdatasync(w.f); err != nil {
		m.writeErrors.Inc()
		return fmt.Errorf("fsync relay file %s: %w", w.name, err)
	}
	w.synced = w.size
	m.writeDuration.Observe(time.Since(start).Seconds())
	return nil
}

func (w *fileWriter) close() {
	if w.f != nil {
		w.bw.Flush()
		w.f.Close()
		w.f = nil
	}
}

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

func createRelayFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, binlog.FileMagic); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

func checkMagic(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 4)
	if _, err := io.ReadFull(f, b); err != nil || string(b) != binlog.FileMagic {
		return fmt.Errorf("%s does not start with the binlog magic: not a relay file", path)
	}
	return nil
}

// stream turns the events of one replication connection into relay file content.
type stream struct {
	r        *Relay
	w        *fileWriter
	flavor   string
	gset     gmysql.GTIDSet
	meta     Meta // last committed
	tracker  GroupTracker
	checksum bool   // the current file's events end with a CRC32
	nextFile string // named by the last real ROTATE
	// fdeChecked: the upstream's file was compared with the relay's at the session start.
	fdeChecked bool
	// progressed: the session committed something; lastCommit is when it last did.
	progressed bool
	lastCommit time.Time
}

// commit makes the relay durable up to the current position, which must be a boundary.
// It reports whether the meta moved.
func (s *stream) commit() (bool, error) {
	next := s.meta
	next.File, next.Pos, next.GTIDSet = s.w.name, s.w.size, s.gset.String()
	if next == s.meta {
		return false, nil
	}
	if err := s.w.sync(s.r.m); err != nil {
		return false, fatal(err)
	}
	if err := writeMeta(s.w.dir, next); err != nil {
		s.r.m.writeErrors.Inc()
		return false, fatal(fmt.Errorf("write relay meta: %w", err))
	}
	s.meta = next
	s.r.mu.Lock()
	s.r.committed, s.r.hasMeta = next, true
	s.r.mu.Unlock()
	s.r.m.setRelay(next.File, next.Pos)
	s.r.changed()
	return true, nil
}

// handle writes one event of the stream, or drops it when it is not part of the upstream
// file (the artificial events of the replication protocol).
func (s *stream) handle(ev *replication.BinlogEvent) error {
	h := ev.Header
	artificial := h.Flags&replication.LOG_EVENT_ARTIFICIAL_F != 0
	switch h.EventType {
	case replication.HEARTBEAT_EVENT, replication.HEARTBEAT_LOG_EVENT_V2:
		return nil
	case replication.ROTATE_EVENT:
		rot, ok := ev.Event.(*replication.RotateEvent)
		if !ok {
			return fmt.Errorf("undecoded ROTATE event")
		}
		if artificial || h.LogPos == 0 {
			return s.fakeRotate(string(rot.NextLogName), uint32(rot.Position))
		}
	case replication.FORMAT_DESCRIPTION_EVENT:
		fde, ok := ev.Event.(*replication.FormatDescriptionEvent)
		if !ok {
			return fmt.Errorf("undecoded FORMAT_DESCRIPTION event")
		}
		s.checksum = fde.ChecksumAlgorithm == replication.BINLOG_CHECKSUM_ALG_CRC32
		if h.LogPos == 0 {
			// Re-sent at the start of a dump in the middle of a file: the file must be the
			// one the relay holds, not a namesake after RESET MASTER.
			if s.w.size > 4 && !s.fdeChecked {
				s.fdeChecked = true
				if err := s.checkSameFile(ev.RawData); err != nil {
					return err
				}
			}
			return nil
		}
		if s.w.size != 4 {
			// The head of a new file without a fake ROTATE before it.
			if s.nextFile == "" {
				return fmt.Errorf("the upstream sent the head of a binlog file at %s:%d without a rotation", s.w.name, s.w.size)
			}
			if err := s.switchFile(s.nextFile); err != nil {
				return err
			}
		}
	}
	if artificial {
		return nil
	}
	if h.EventSize != uint32(len(ev.RawData)) || h.EventSize < headerSize {
		return fmt.Errorf("event of %d bytes says it has %d", len(ev.RawData), h.EventSize)
	}
	logPos := h.LogPos
	if logPos == 0 {
		// Some servers leave log_pos 0 on real events; they follow the previous one.
		logPos = s.w.size + h.EventSize
	}
	start := logPos - h.EventSize
	switch {
	case start < s.w.size:
		s.r.log.Debug("dropping an event the relay file already holds", "type", h.EventType, "file", s.w.name, "pos", start)
		return nil
	case start > s.w.size:
		gap := start - s.w.size
		dummy, err := dummyEvent(gap, start, h.ServerID, s.checksum)
		if err != nil {
			return fatal(fmt.Errorf("the upstream stream skipped %s:%d-%d: %w", s.w.name, s.w.size, start, err))
		}
		s.r.log.Warn("the upstream stream skipped bytes; filling them with a dummy event", "file", s.w.name, "from", s.w.size, "to", start)
		if err := s.w.write(dummy); err != nil {
			return fatal(err)
		}
	}
	if err := s.w.write(ev.RawData); err != nil {
		return fatal(err)
	}
	if s.w.size != logPos {
		return fatal(fmt.Errorf("relay file %s: position %d after an event that ends at %d", s.w.name, s.w.size, logPos))
	}

	body := ev.RawData[headerSize:]
	if s.checksum && h.EventType != replication.FORMAT_DESCRIPTION_EVENT && len(body) >= 4 {
		body = body[:len(body)-4]
	}
	s.tracker.Observe(h.EventType, body)
	switch h.EventType {
	case replication.MARIADB_GTID_LIST_EVENT, replication.PREVIOUS_GTIDS_EVENT:
		set, err := gtidSetAtHead(s.flavor, h.EventType, body)
		if err != nil {
			return fatal(fmt.Errorf("%s:%d: %w", s.w.name, start, err))
		}
		s.gset = set
	case replication.MARIADB_GTID_EVENT, replication.GTID_EVENT, replication.GTID_TAGGED_LOG_EVENT:
		g, err := gtidOfEvent(h.EventType, h.ServerID, body)
		if err != nil {
			return fatal(fmt.Errorf("%s:%d: %w", s.w.name, start, err))
		}
		if g != "" {
			if err := s.gset.Update(g); err != nil {
				return fatal(fmt.Errorf("%s:%d: GTID %s: %w", s.w.name, start, g, err))
			}
		}
	case replication.ROTATE_EVENT:
		s.nextFile = string(ev.Event.(*replication.RotateEvent).NextLogName)
	}
	return nil
}

// fakeRotate handles the server's announcement of the file it streams from.
func (s *stream) fakeRotate(name string, pos uint32) error {
	if name == s.w.name {
		return nil // (re)starting in the active file
	}
	if pos > 4 {
		return fmt.Errorf("the upstream streams %s from %d, but the relay is at %s:%d", name, pos, s.w.name, s.w.size)
	}
	return s.switchFile(name)
}

// switchFile closes the active relay file and starts the next one.
func (s *stream) switchFile(name string) error {
	if err := validFileName(name); err != nil {
		return fatal(err)
	}
	if CompareFileNames(name, s.w.name) <= 0 {
		return fatal(fmt.Errorf("the upstream went back from binlog file %s to %s (RESET MASTER?): the relay log no longer matches it; remove %s to start over",
			s.w.name, name, s.w.dir))
	}
	if !s.tracker.AtBoundary() {
		return fmt.Errorf("the upstream switched to %s in the middle of an event group in %s", name, s.w.name)
	}
	if s.nextFile != "" && s.nextFile != name {
		s.r.log.Warn("the upstream streams another file than its ROTATE announced", "announced", s.nextFile, "file", name)
	}
	// The finished file must be committed up to its end before the index names its
	// successor: readers take a successor in the index as the end of a file, and the
	// recovery of a relay never truncates a file that has a successor.
	if _, err := s.commit(); err != nil {
		return err
	}
	s.w.close()
	dir := s.w.dir
	if err := createRelayFile(filepath.Join(dir, name)); err != nil {
		s.r.m.writeErrors.Inc()
		return fatal(err)
	}
	unlock, err := lockIndex(dir)
	if err != nil {
		return fatal(err)
	}
	names, err := ReadIndex(dir)
	if err == nil && (len(names) == 0 || names[len(names)-1] != name) {
		err = writeIndex(dir, append(names, name))
	}
	unlock()
	if err != nil {
		s.r.m.writeErrors.Inc()
		return fatal(fmt.Errorf("update relay index: %w", err))
	}
	w, err := openWriter(dir, name, 4)
	if err != nil {
		return fatal(err)
	}
	s.w = w
	s.nextFile = ""
	s.r.log.Info("relay switched to a new file", "file", name)
	s.r.changed()
	return nil
}

// checkSameFile compares the FORMAT_DESCRIPTION the upstream re-sent for the active file
// with the one at the head of the relay file (header timestamp, server id, size and body;
// not log_pos, flags, the create timestamp nor the checksum, which the server changes
// when re-sending it).
func (s *stream) checkSameFile(fde []byte) error {
	f, err := os.Open(filepath.Join(s.w.dir, s.w.name))
	if err != nil {
		return fatal(err)
	}
	defer f.Close()
	ours := make([]byte, len(fde))
	if _, err := f.ReadAt(ours, 4); err != nil {
		return fatal(fmt.Errorf("read the head of relay file %s: %w", s.w.name, err))
	}
	end := len(fde)
	if s.checksum {
		end -= 4
	}
	// The body: binlog version (2), server version (50), create timestamp (4; zeroed
	// when re-sent), then the header lengths and the checksum algorithm.
	const created = headerSize + 2 + 50
	if end < created+4 || !bytes.Equal(ours[0:13], fde[0:13]) ||
		!bytes.Equal(ours[headerSize:created], fde[headerSize:created]) || !bytes.Equal(ours[created+4:end], fde[created+4:end]) {
		return fatal(fmt.Errorf("the upstream's binlog file %s is not the one the relay holds (its format description differs: RESET MASTER, or a restored backup?): "+
			"the relay log no longer matches the upstream; remove %s to start over", s.w.name, s.w.dir))
	}
	return nil
}
