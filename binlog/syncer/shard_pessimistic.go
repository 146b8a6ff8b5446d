package syncer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dm-oss/dm/internal/backoff"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
)

// lockPollInterval is how often a source waiting on a lock asks the Coordinator again.
const lockPollInterval = 300 * time.Millisecond

// pessimisticDDL blocks the shard table at its DDL; when every shard table of the group in
// this source has sent it, the lock is resolved with the other sources.
func (sh *shardMerge) pessimisticDDL(h *replication.EventHeader, txn *txnInfo, defSchema, src, target string, stmts []string) error {
	stmt := strings.Join(stmts, "; ")
	ddlEnd := sh.host.location(h.LogPos)
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
			sh.s.log.Info("shard DDL: table blocked until the other shards of its group send it", "table", src, "target", target, "ddl", truncate(stmt, 200), "position", ddlEnd.String())
			sh.publish("", nil)
			if txn.standalone {
				sh.host.endTxn(h)
			}
			return nil
		}
	}
	return sh.resolveLock(h, txn, defSchema, target, g)
}

// leaveGroup removes a dropped shard table from its group.
func (sh *shardMerge) leaveGroup(src, target string) {
	delete(sh.members[target], src)
	if g := sh.state.Groups[target]; g != nil {
		delete(g.Blocked, src)
		if len(g.Blocked) == 0 {
			delete(sh.state.Groups, target)
		}
	}
	sh.publish("", nil)
}

// resolveLock runs when every shard table of the group in this source sent the DDLs: it
// reports them and waits for the other sources; then the owner runs them downstream (the
// others skip them), the held-back rows are replayed, and the stream goes on past the DDL.
func (sh *shardMerge) resolveLock(h *replication.EventHeader, txn *txnInfo, defSchema, target string, g *shardGroupState) error {
	s := sh.s
	if s.cfg.Coordinator == nil {
		return errors.New("pessimistic shard mode needs a Coordinator")
	}
	// Everything before the DDL is applied and the group state is stored before waiting:
	// a restart comes back to this DDL with the same tables held back.
	if err := sh.host.barrier(); err != nil {
		return err
	}
	if err := sh.host.saveCheckpoint(txn.start); err != nil {
		return err
	}
	var st LockState
	for logged := false; ; {
		var err error
		st, err = s.cfg.Coordinator.ReportDDL(sh.parent, target, g.DDLs)
		if err != nil {
			if sh.parent.Err() != nil {
				return errStopped
			}
			return fmt.Errorf("shard DDL lock of %s: %w", target, err)
		}
		sh.publish(st.ID, g.DDLs)
		if st.Resolved && (st.Done || (st.Action == LockExec && st.Owner == s.cfg.Source)) {
			break
		}
		if !logged {
			s.log.Info("shard DDL: waiting for the other sources", "lock", st.ID, "ddls", g.DDLs, "synced", st.Synced, "unsynced", st.Unsynced)
			logged = true
		}
		if err := backoff.Sleep(sh.parent, lockPollInterval); err != nil {
			return errStopped
		}
	}
	replay := func() error {
		if err := sh.host.replayHeld(g, txn.start); err != nil {
			return err
		}
		delete(sh.state.Groups, target)
		sh.state.PendingDone = append(sh.state.PendingDone, st.ID)
		return nil
	}
	if st.Action == LockExec && st.Owner == s.cfg.Source && !st.Done {
		s.log.Info("shard DDL: lock resolved, this source runs the DDLs", "lock", st.ID)
		if err := sh.host.applyDDL(h, txn, ddlStep{defSchema: defSchema, stmts: g.DDLs, after: replay}); err != nil {
			return err
		}
	} else {
		s.log.Info("shard DDL: lock resolved, the DDLs are skipped here", "lock", st.ID, "owner", st.Owner, "action", st.Action)
		if err := replay(); err != nil {
			return err
		}
		if err := sh.host.passDDL(h, txn); err != nil {
			return err
		}
	}
	if err := sh.reportPendingDone(sh.parent); err != nil {
		if sh.parent.Err() != nil {
			return errStopped
		}
		return err
	}
	sh.publish("", nil)
	return nil
}
