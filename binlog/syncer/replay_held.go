package syncer

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
)

// replayHeld re-reads the binlog from the group's first DDL up to until and applies the row
// events the group held back (each blocked table's rows after its DDL), in safe mode: after a
// restart in the middle some of them may be in the target already.
func (r *run) replayHeld(g *shardGroupState, until binlog.Location) error {
	if compareLoc(g.First, until) >= 0 {
		return nil
	}
	open := r.s.cfg.OpenReader
	if open == nil {
		return errors.New("pessimistic shard mode needs Config.OpenReader to replay the rows held back")
	}
	rd, err := open(r.parent, g.First)
	if err != nil {
		return fmt.Errorf("shard DDL: open binlog at %s to replay held-back rows: %w", g.First, err)
	}
	defer rd.Close()
	r.s.log.Info("shard DDL: replaying the rows held back", "from", g.First.String(), "until", until.String(), "tables", slices.Sorted(maps.Keys(g.Blocked)))
	mainTxn := r.txn
	rs := &resyncState{blocked: g.Blocked}
	r.shard.resync = rs
	defer func() {
		r.shard.resync = nil
		r.txn = mainTxn
		for _, w := range r.touched {
			r.txnIdx[w] = 0
		}
		r.touched = r.touched[:0]
	}()
	file := g.First.File
	r.txn = nil
	newTxn := func(start binlog.Location, ts uint32) {
		for _, w := range r.touched {
			r.txnIdx[w] = 0
		}
		r.touched = r.touched[:0]
		r.txn = &txnInfo{start: start, ts: ts, safe: true}
	}
	for {
		ev, err := rd.Next(r.parent)
		if err != nil {
			if r.parent.Err() != nil {
				return errStopped
			}
			return fmt.Errorf("shard DDL: read binlog to replay held-back rows: %w", err)
		}
		hd := ev.Header
		if e, ok := ev.Event.(*replication.RotateEvent); ok {
			file = string(e.NextLogName)
			continue
		}
		if hd.EventType == replication.FORMAT_DESCRIPTION_EVENT || hd.EventType == replication.HEARTBEAT_EVENT ||
			hd.EventType == replication.HEARTBEAT_LOG_EVENT_V2 || hd.LogPos == 0 {
			continue
		}
		var startPos uint32
		if hd.LogPos >= hd.EventSize {
			startPos = hd.LogPos - hd.EventSize
		}
		rs.pos = binlog.Location{File: file, Pos: startPos}
		if compareLoc(rs.pos, until) >= 0 {
			break
		}
		switch e := ev.Event.(type) {
		case *replication.MariadbGTIDEvent, *replication.GTIDEvent:
			newTxn(rs.pos, hd.Timestamp)
		case *replication.QueryEvent:
			begin, end, _ := ddl.TxnControl(string(e.Query))
			switch {
			case begin && r.txn == nil:
				newTxn(rs.pos, hd.Timestamp)
			case end:
				r.txn = nil
			}
		case *replication.XIDEvent:
			r.txn = nil
		case *replication.RowsEvent:
			if r.txn == nil {
				newTxn(rs.pos, hd.Timestamp)
			}
			if err := r.handleRows(ev, e, startPos); err != nil {
				return err
			}
		}
	}
	return r.barrier()
}
