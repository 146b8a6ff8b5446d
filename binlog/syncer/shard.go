package syncer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
)

// Shard merge (Config.ShardMode): several upstream tables, in one source or in several, are
// routed into one target table. Their DDLs must reach the target once, in a form every shard's
// rows fit.
//
// Pessimistic (DM's default): a DDL on one shard table blocks that table (its later row events
// are held back: skipped now, replayed later) until every shard table of the group in this
// source has sent the same DDL; then the source reports it to the Coordinator (the masters)
// and waits until every source has. The lock's owner runs the DDL once downstream, the others
// skip it; then the rows held back are re-read from the group's first DDL (Config.OpenReader)
// and applied, and the stream goes on. The group state (the first DDL's location, each blocked
// table and where its DDL ended) is stored with the global checkpoint (shard_state), so a
// restart holds back the same rows and replays them once the lock resolves.
//
// Only blocked tables wait; the rest of the source's stream goes on, so two shard tables of one
// group in the same source never deadlock. While the source waits on the masters, its whole
// stream waits: every table of the group is blocked then anyway.
//
// Optimistic: each shard's DDL is applied at once if it is compatible with the merged table
// (the target): a column added NULL or with a DEFAULT (claimed at the Coordinator, so that two
// shards adding one column with different types are caught), a type widened (a narrower one is
// skipped: the merged column stays wide), an index added. DROP COLUMN and DROP INDEX are not
// applied (the other shards may still write the column). Anything else pauses the subtask with
// an error that names the shard and what it disagrees with.
//
// In both modes CREATE TABLE/DATABASE are applied (IF NOT EXISTS), while DROP TABLE, DROP
// DATABASE and TRUNCATE TABLE of a shard are skipped with a warning: run on the merged table
// they would delete the other shards' rows. RENAME TABLE of a shard table stops the subtask.

// Shard modes.
const (
	ShardPessimistic = "pessimistic"
	ShardOptimistic  = "optimistic"
)

// Lock actions (LockState.Action).
const (
	LockExec = "exec"
	LockSkip = "skip"
)

// Coordinator coordinates the DDLs of shard tables across sources; dm-worker implements it
// with calls to the masters. Its methods retry transient failures themselves until ctx ends;
// an error they return stops the sync unit.
type Coordinator interface {
	// ReportDDL says that every shard table of this source routed to target (a quoted
	// "`schema`.`table`") has sent ddls, and returns the lock's state. Repeating a report is
	// harmless.
	ReportDDL(ctx context.Context, target string, ddls []string) (LockState, error)
	// DDLDone says that this source's stream is past the lock's DDLs (and, for the owner, that
	// it ran them downstream).
	DDLDone(ctx context.Context, lockID string) error
	// ClaimColumns (optimistic) records that table (an upstream "`schema`.`table`") adds these
	// columns to target; it fails when another shard added one of them with another definition.
	ClaimColumns(ctx context.Context, target, table string, cols []ColumnClaim) error
}

// LockState is a pessimistic lock as the Coordinator sees it.
type LockState struct {
	ID       string
	Owner    string // the source that runs the DDLs downstream
	Resolved bool   // every source reported (or an operator unlocked it)
	Action   string // LockExec or LockSkip once Resolved
	Done     bool   // the owner ran the DDLs (always true after a skip)
	Synced   []string
	Unsynced []string
}

// ColumnClaim is a column a shard adds to the merged table, Def its normalised type.
type ColumnClaim struct {
	Name, Def string
}

// ShardGroup is DM's unresolved sharding group (sync_status.unresolved_groups): the shard
// tables of this source merged into Target, the DDLs they wait on, where the first of them
// is, and which tables sent them (synced) or not yet (unsynced).
type ShardGroup struct {
	Target        string   `json:"target"`
	DDLs          []string `json:"ddl_list"`
	FirstLocation string   `json:"first_location"`
	Synced        []string `json:"synced"`
	Unsynced      []string `json:"unsynced"`
}

// shardState is what is stored with the global checkpoint (shard_state).
type shardState struct {
	// Groups are the pessimistic groups with blocked tables, by target.
	Groups map[string]*shardGroupState `json:"groups,omitempty"`
	// PendingDone are locks this source is past but has not told the Coordinator yet.
	PendingDone []string `json:"pending_done,omitempty"`
}

type shardGroupState struct {
	DDLs  []string        `json:"ddls"`
	First binlog.Location `json:"first"`
	// Blocked maps each shard table that sent the DDLs to the end of its DDL: its row events
	// after that are held back until the lock resolves.
	Blocked map[string]binlog.Location `json:"blocked"`
}

// shardMerge is a Run's shard merging: the groups of shard tables, their state, and the
// handling of their DDLs. It reaches the event loop only through shardHost.
type shardMerge struct {
	mode string
	// members: target → the source's shard tables routed there.
	members map[string]map[string]bool
	state   shardState
	// resync is set while held-back rows are replayed.
	resync   *resyncState
	lastSave []byte

	s      *Syncer         // configuration, status, metrics, log
	host   shardHost       // the event loop
	ctl    *control        // optimistic mode: the merged table's lock and shape
	ctx    context.Context // the Run's working context (see run.ctx)
	parent context.Context // the Run's context: waits on the Coordinator end with it
}

// shardHost is what shard merging needs from the event loop.
type shardHost interface {
	// barrier waits until every replay worker has committed what it was sent.
	barrier() error
	// saveCheckpoint writes the global checkpoint at loc (with the shard state).
	saveCheckpoint(loc binlog.Location) error
	// applyDDL runs statements as the current DDL; passDDL moves past it without; endTxn
	// ends the transaction of a DDL that is skipped.
	applyDDL(h *replication.EventHeader, txn *txnInfo, step ddlStep) error
	passDDL(h *replication.EventHeader, txn *txnInfo) error
	endTxn(h *replication.EventHeader)
	// replayHeld re-reads the binlog from the group's first DDL up to until and applies the
	// rows the group held back.
	replayHeld(g *shardGroupState, until binlog.Location) error
	// location is the position pos in the current binlog file, with the GTID set so far.
	location(pos uint32) binlog.Location
}

type resyncState struct {
	pos     binlog.Location // start of the event being replayed
	blocked map[string]binlog.Location
}

func tableKey(schema, table string) string {
	return upstream.QuoteName(schema) + "." + upstream.QuoteName(table)
}

// newShardMerge builds the groups from the upstream's tables and restores the stored state.
func newShardMerge(ctx context.Context, r *run, stored []byte) (*shardMerge, error) {
	s := r.s
	sh := &shardMerge{mode: s.cfg.ShardMode, members: map[string]map[string]bool{},
		s: s, host: r, ctl: r.control, ctx: r.ctx, parent: r.parent}
	if s.cfg.Upstream == nil {
		return nil, errors.New("shard mode needs an Upstream connection to list the shard tables")
	}
	schemas, err := upstream.ListSchemas(ctx, s.cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("list shard tables: %w", err)
	}
	for _, sch := range schemas {
		if !s.match(sch, "") {
			continue
		}
		tables, err := upstream.ListTables(ctx, s.cfg.Upstream, sch)
		if err != nil {
			return nil, fmt.Errorf("list shard tables: %w", err)
		}
		for _, tb := range tables {
			if s.match(sch, tb) {
				sh.addMember(sh.routeKey(sch, tb), tableKey(sch, tb))
			}
		}
	}
	if len(stored) > 0 {
		if err := json.Unmarshal(stored, &sh.state); err != nil {
			return nil, fmt.Errorf("restore shard state: %w", err)
		}
		sh.lastSave = slices.Clone(stored)
	}
	for target, g := range sh.state.Groups {
		for tbl := range g.Blocked {
			sh.addMember(target, tbl)
		}
	}
	if len(sh.state.Groups) > 0 {
		s.log.Info("shard groups restored with held-back tables", "groups", len(sh.state.Groups))
	}
	sh.publish("", nil)
	return sh, sh.reportPendingDone(ctx)
}

// handle handles a DDL (kept by the filters, rendered for the target as stmts) in shard
// mode. handled is false when the DDL is applied as in a plain task.
func (sh *shardMerge) handle(h *replication.EventHeader, txn *txnInfo, st *ddl.Statement, stmts []string) (handled bool, err error) {
	text := strings.Join(stmts, "; ")
	finish := func() {
		if txn.standalone {
			sh.host.endTxn(h)
		}
	}
	if st.Database != "" {
		if st.Kind == rules.EventDropDatabase {
			sh.s.log.Warn("shard mode: DROP DATABASE not applied to the merged target (it would drop the other shards' tables)", "ddl", truncate(text, 200))
			finish()
			return true, nil
		}
		return false, nil
	}
	switch st.Kind {
	case rules.EventCreateTable:
		for _, n := range st.Tables {
			sh.addMember(sh.routeKey(n.Schema, n.Table), tableKey(n.Schema, n.Table))
		}
		return false, nil
	case rules.EventDropTable, rules.EventTruncateTable:
		if st.Kind == rules.EventDropTable {
			for _, n := range st.Tables {
				sh.leaveGroup(tableKey(n.Schema, n.Table), sh.routeKey(n.Schema, n.Table))
			}
		}
		sh.s.log.Warn("shard mode: statement not applied to the merged target (it would remove the other shards' rows)", "ddl", truncate(text, 200))
		finish()
		return true, nil
	case rules.EventRenameTable:
		return true, fmt.Errorf("shard mode: RENAME TABLE of a shard table cannot be merged (%s); stop the task, rename the tables by hand and fix the routes", truncate(text, 200))
	case rules.EventAlterTable, rules.EventCreateIndex, rules.EventDropIndex:
	default:
		return false, nil
	}
	if len(st.Tables) != 1 || (st.Kind == rules.EventAlterTable && len(st.Others) > 0) {
		return true, fmt.Errorf("shard mode: ALTER TABLE ... RENAME of a shard table cannot be merged (%s)", truncate(text, 200))
	}
	n := st.Tables[0]
	src, target := tableKey(n.Schema, n.Table), sh.routeKey(n.Schema, n.Table)
	sh.addMember(target, src)
	if sh.mode == ShardOptimistic {
		return true, sh.optimisticDDL(h, txn, st.Schema, src, target, stmts)
	}
	return true, sh.pessimisticDDL(h, txn, st.Schema, src, target, stmts)
}

// optimisticDDL merges a shard's DDL into the merged target table. Shards of other sources
// change the same table: reading its shape and changing it is one step under a named lock.
func (sh *shardMerge) optimisticDDL(h *replication.EventHeader, txn *txnInfo, defSchema, src, target string, stmts []string) error {
	unlock, err := sh.lockTarget(target)
	if err != nil {
		return err
	}
	defer unlock()
	var plan []string
	for _, stmt := range stmts {
		p, err := sh.optimisticPlan(src, target, stmt)
		if err != nil {
			return err
		}
		plan = append(plan, p...)
	}
	if len(plan) == 0 {
		if txn.standalone {
			sh.host.endTxn(h)
		}
		return nil
	}
	return sh.host.applyDDL(h, txn, ddlStep{defSchema: defSchema, stmts: plan})
}

func (sh *shardMerge) addMember(target, table string) {
	m := sh.members[target]
	if m == nil {
		m = map[string]bool{}
		sh.members[target] = m
	}
	m[table] = true
}

// routeKey is the quoted target table of an upstream table.
func (sh *shardMerge) routeKey(schema, table string) string {
	if rl := sh.s.cfg.Rules; rl != nil {
		t := rl.Route(schema, table)
		return tableKey(t.Schema, t.Table)
	}
	return tableKey(schema, table)
}

// snapshot is the state to store with the next global checkpoint; nil when unchanged.
func (sh *shardMerge) snapshot() ([]byte, error) {
	b, err := json.Marshal(sh.state)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(b, sh.lastSave) {
		return nil, nil
	}
	return b, nil
}

// holds reports whether the rows of ti in the event starting at start are held back (main
// stream: the table is blocked and the event is after its DDL) or, while held-back rows are
// replayed, whether they are not among them.
func (sh *shardMerge) holds(ti *Table, start binlog.Location) bool {
	if sh == nil || (len(sh.state.Groups) == 0 && sh.resync == nil) {
		return false
	}
	key := tableKey(ti.srcSchema, ti.srcTable)
	if rs := sh.resync; rs != nil {
		end, ok := rs.blocked[key]
		return !ok || compareLoc(rs.pos, end) < 0
	}
	for _, g := range sh.state.Groups {
		if end, ok := g.Blocked[key]; ok {
			return compareLoc(start, end) >= 0
		}
	}
	return false
}

// publish copies the groups into the status; lockID and ddls describe the lock this source
// waits on, if any.
func (sh *shardMerge) publish(lockID string, ddls []string) {
	var groups []ShardGroup
	for _, target := range slices.Sorted(maps.Keys(sh.state.Groups)) {
		g := sh.state.Groups[target]
		out := ShardGroup{Target: target, DDLs: slices.Clone(g.DDLs), FirstLocation: g.First.String(), Synced: []string{}, Unsynced: []string{}}
		for _, tbl := range slices.Sorted(maps.Keys(sh.members[target])) {
			if _, ok := g.Blocked[tbl]; ok {
				out.Synced = append(out.Synced, tbl)
			} else {
				out.Unsynced = append(out.Unsynced, tbl)
			}
		}
		groups = append(groups, out)
	}
	var first binlog.Location
	for _, g := range sh.state.Groups {
		if first.IsZero() || compareLoc(g.First, first) < 0 {
			first = g.First
		}
	}
	s := sh.s
	waiting := 0.0
	if lockID != "" {
		waiting = 1
	}
	s.metrics.c.lockWaiting.WithLabelValues(s.cfg.Task, s.cfg.Source).Set(waiting)
	s.metrics.c.unsynced.DeletePartialMatch(prometheus.Labels{"task": s.cfg.Task, "source_id": s.cfg.Source})
	for _, g := range groups {
		s.metrics.c.unsynced.WithLabelValues(s.cfg.Task, g.Target, s.cfg.Source).Set(float64(len(g.Unsynced)))
	}
	s.mu.Lock()
	s.st.shardGroups = groups
	s.st.lockID = lockID
	s.st.blockingDDLs = slices.Clone(ddls)
	s.st.shardFirst = first
	s.mu.Unlock()
}

// reportPendingDone tells the Coordinator about the locks this source is past.
func (sh *shardMerge) reportPendingDone(ctx context.Context) error {
	for len(sh.state.PendingDone) > 0 {
		id := sh.state.PendingDone[0]
		if err := sh.s.cfg.Coordinator.DDLDone(ctx, id); err != nil {
			return fmt.Errorf("report shard DDL lock %s done: %w", id, err)
		}
		sh.state.PendingDone = sh.state.PendingDone[1:]
	}
	sh.state.PendingDone = nil
	return nil
}
