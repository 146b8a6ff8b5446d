package syncer

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/internal/retry"
)

// lockPollInterval is how often a source waiting on a lock asks the Coordinator again.
const lockPollInterval = 300 * time.Millisecond

// pessimisticDDL blocks the shard table at its DDL; when every shard table of the group in
// this source has sent it, the lock is resolved with the other sources.
func (r *run) pessimisticDDL(h *replication.EventHeader, txn *txnInfo, defSchema, src, target string, stmts []string) error {
	stmt := strings.Join(stmts, "; ")
	sh := r.shard
	ddlEnd := binlog.Location{File: r.file, Pos: h.LogPos, GTIDSet: r.gtidStr}
	if sh.state.Groups == nil {
		sh.state.Groups = map[string]*shardGroupState{}
	}
	g := sh.state.Groups[target]
	if g == nil {
		g = &shardGroupState{DDLs: stmts, First: txn.start, Blocked: map[string]binlog.Location{}}
		sh.state.Groups[target] = g
	}
	if prev, ok := g.Blocked[src]; ok && compareLoc(prev, ddlEnd) != 0 {
		return fmt.Errorf("shard table %s sent another DDL (%s) while its group (target %s) still waits on %s; resolve the lock first",
			src, truncate(stmt, 200), target, strings.Join(g.DDLs, "; "))
	}
	if !slices.Equal(g.DDLs, stmts) {
		var others []string
		for t := range g.Blocked {
			others = append(others, t)
		}
		slices.Sort(others)
		return fmt.Errorf("shard tables of target %s disagree: %s sent %q, but %s sent %q; pessimistic shard mode needs the same DDL on every shard",
			target, src, stmt, strings.Join(others, ", "), strings.Join(g.DDLs, "; "))
	}
	g.Blocked[src] = ddlEnd
	for tbl := range sh.members[target] {
		if _, ok := g.Blocked[tbl]; !ok {
			r.s.log.Info("shard DDL: table blocked until the other shards of its group send it", "table", src, "target", target, "ddl", truncate(stmt, 200), "position", ddlEnd.String())
			r.publishShard("", nil)
			if txn.standalone {
				r.endTxn(h)
			}
			return nil
		}
	}
	return r.resolveLock(h, txn, defSchema, target, g)
}

// leaveGroup removes a dropped shard table from its group.
func (r *run) leaveGroup(src, target string) {
	sh := r.shard
	delete(sh.members[target], src)
	if g := sh.state.Groups[target]; g != nil {
		delete(g.Blocked, src)
		if len(g.Blocked) == 0 {
			delete(sh.state.Groups, target)
		}
	}
	r.publishShard("", nil)
}

// resolveLock runs when every shard table of the group in this source sent the DDLs: it
// reports them and waits for the other sources; then the owner runs them downstream (the
// others skip them), the held-back rows are replayed, and the stream goes on past the DDL.
func (r *run) resolveLock(h *replication.EventHeader, txn *txnInfo, defSchema, target string, g *shardGroupState) error {
	s := r.s
	if s.cfg.Coordinator == nil {
		return errors.New("pessimistic shard mode needs a Coordinator")
	}
	// Everything before the DDL is applied and the group state is stored before waiting:
	// a restart comes back to this DDL with the same tables held back.
	if err := r.barrier(); err != nil {
		return err
	}
	if err := r.writeGlobal(r.ctx, txn.start, r.lastTxnTS); err != nil {
		return err
	}
	var st LockState
	for logged := false; ; {
		var err error
		st, err = s.cfg.Coordinator.ReportDDL(r.parent, target, g.DDLs)
		if err != nil {
			if r.parent.Err() != nil {
				return errStopped
			}
			return fmt.Errorf("shard DDL lock of %s: %w", target, err)
		}
		r.publishShard(st.ID, g.DDLs)
		if st.Resolved && (st.Done || (st.Action == LockExec && st.Owner == s.cfg.Source)) {
			break
		}
		if !logged {
			s.log.Info("shard DDL: waiting for the other sources", "lock", st.ID, "ddls", g.DDLs, "synced", st.Synced, "unsynced", st.Unsynced)
			logged = true
		}
		if err := retry.Sleep(r.parent, lockPollInterval); err != nil {
			return errStopped
		}
	}
	replay := func() error {
		if err := r.replayHeld(g, txn.start); err != nil {
			return err
		}
		delete(r.shard.state.Groups, target)
		r.shard.state.PendingDone = append(r.shard.state.PendingDone, st.ID)
		return nil
	}
	if st.Action == LockExec && st.Owner == s.cfg.Source && !st.Done {
		s.log.Info("shard DDL: lock resolved, this source runs the DDLs", "lock", st.ID)
		if err := r.applyDDL(h, txn, ddlStep{defSchema: defSchema, stmts: g.DDLs, after: replay}); err != nil {
			return err
		}
	} else {
		s.log.Info("shard DDL: lock resolved, the DDLs are skipped here", "lock", st.ID, "owner", st.Owner, "action", st.Action)
		if err := replay(); err != nil {
			return err
		}
		if err := r.passDDL(h, txn); err != nil {
			return err
		}
	}
	if err := r.reportPendingDone(r.parent); err != nil {
		if r.parent.Err() != nil {
			return errStopped
		}
		return err
	}
	r.publishShard("", nil)
	return nil
}

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
