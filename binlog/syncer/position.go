package syncer

import (
	"fmt"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
)

// position follows the reader through the stream: the file named by the last ROTATE, the end
// of the last event, and the GTID set through the last transaction's GTID event.
type position struct {
	file    string
	pos     uint32
	gtid    gmysql.GTIDSet
	gtidStr string
	// gtidHead: the stream was opened at a GTID set alone and has not reached a transaction
	// yet. The reader then stands at the head of a file (its ROTATE, FORMAT_DESCRIPTION and
	// GTID_LIST events), not where the set is in it: no position of the file is the set's.
	gtidHead bool
}

// eventKind is what follow makes of an event.
type eventKind uint8

const (
	eventData      eventKind = iota // an event of the stream
	eventRotate                     // a ROTATE: the position moved to another file
	eventHeartbeat                  // a heartbeat or the format description: no position
)

// follow moves past ev and returns where it starts in the current file.
func (p *position) follow(ev *replication.BinlogEvent) (start uint32, kind eventKind) {
	h := ev.Header
	switch h.EventType {
	case replication.HEARTBEAT_EVENT, replication.HEARTBEAT_LOG_EVENT_V2, replication.FORMAT_DESCRIPTION_EVENT:
		return 0, eventHeartbeat
	}
	if e, ok := ev.Event.(*replication.RotateEvent); ok {
		name, pos := string(e.NextLogName), uint32(e.Position)
		// A reader opened by GTID set (remote, or the relay's) starts the file at its head and
		// skips to the set: the head is not where the stream stands. Within one file the
		// position never goes back.
		if name != p.file || pos >= p.pos {
			p.file, p.pos = name, pos
		}
		return 0, eventRotate
	}
	if h.LogPos > 0 && h.Flags&replication.LOG_EVENT_ARTIFICIAL_F == 0 && h.LogPos > p.pos {
		p.pos = h.LogPos
	}
	if h.LogPos >= h.EventSize {
		start = h.LogPos - h.EventSize
	}
	return start, eventData
}

// addGTID adds the GTID of a transaction's GTID event (MariaDB's or MySQL's) to the set.
// It is called after the transaction's start was taken: a start's set excludes its own GTID.
func (p *position) addGTID(ev replication.Event) error {
	p.gtidHead = false
	switch e := ev.(type) {
	case *replication.MariadbGTIDEvent:
		if p.gtid == nil {
			p.gtid, _ = gmysql.ParseMariadbGTIDSet("")
		}
		if set, ok := p.gtid.(*gmysql.MariadbGTIDSet); ok {
			gtid := e.GTID
			if err := set.AddSet(&gtid); err != nil {
				return fmt.Errorf("track GTID %s: %w", gtid.String(), err)
			}
			p.gtidStr = set.String()
		}
	case *replication.GTIDEvent:
		next, err := e.GTIDNext()
		if err != nil {
			return fmt.Errorf("track GTID: %w", err)
		}
		if p.gtid == nil {
			p.gtid, _ = gmysql.ParseMysqlGTIDSet("")
		}
		if err := p.gtid.Update(next.String()); err != nil {
			return fmt.Errorf("track GTID %s: %w", next.String(), err)
		}
		p.gtidStr = p.gtid.String()
	}
	return nil
}

// at is pos in the current file, with the GTID set so far.
func (p *position) at(pos uint32) binlog.Location {
	return binlog.Location{File: p.file, Pos: pos, GTIDSet: p.gtidStr}
}

// startAt starts following at loc (the reader's start).
func (p *position) startAt(loc binlog.Location) error {
	p.file, p.pos = loc.File, loc.Pos
	p.gtidHead = loc.File == "" && loc.GTIDSet != ""
	if loc.GTIDSet == "" {
		return nil
	}
	flavor := gmysql.MariaDBFlavor
	if containsColon(loc.GTIDSet) {
		flavor = gmysql.MySQLFlavor
	}
	set, err := gmysql.ParseGTIDSet(flavor, loc.GTIDSet)
	if err != nil {
		return fmt.Errorf("start GTID set %q: %w", loc.GTIDSet, err)
	}
	p.gtid, p.gtidStr = set, set.String()
	return nil
}

func containsColon(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return true
		}
	}
	return false
}
