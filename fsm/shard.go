package fsm

import (
	"maps"
	"slices"
)

// ShardLock is a pessimistic shard-DDL lock: the shard tables of several sources routed into one
// target table each sent the same DDLs; the DDLs run once downstream when every source has.
//
// Its life: the first report creates it with that source as Owner; it is Resolved (Action exec)
// once every expected source reported, or when an operator unlocks it. The owner then runs the
// DDLs and reports them done; every source, the owner included, acks once its stream is past
// them, and the lock goes with the last ack.
type ShardLock struct {
	ID       string   `json:"id"` // ShardLockID(Task, Target)
	Task     string   `json:"task"`
	Target   string   `json:"target"` // "`schema`.`table`" as the worker sends it
	DDLs     []string `json:"ddls"`
	Owner    string   `json:"owner"`            // the source that runs the DDLs downstream (first reporter)
	Sources  []string `json:"sources"`          // sources expected to report, sorted
	Synced   []string `json:"synced"`           // sources that reported, sorted
	Resolved bool     `json:"resolved"`         // every expected source reported, or an operator unlocked it
	Action   string   `json:"action,omitempty"` // set when Resolved: ShardActionExec or ShardActionSkip
	Done     bool     `json:"done"`             // the owner ran the DDLs downstream (always true after a skip)
	Acked    []string `json:"acked"`            // sources whose stream is past the DDLs, sorted
}

// The resolutions of a shard lock: the owner runs the DDLs downstream, or nobody does.
const (
	ShardActionExec = "exec"
	ShardActionSkip = "skip"
)

// ShardLockID is the id of the lock on the task's target table, as DM forms it.
func ShardLockID(task, target string) string { return task + "-" + target }

// ShardColumn records which shard first added a column to a merged target table (optimistic mode).
type ShardColumn struct {
	Source string `json:"source"`
	Table  string `json:"table"` // upstream "`schema`.`table`"
	Def    string `json:"def"`   // normalised column definition, e.g. "int(11)" or "varchar(20) DEFAULT NULL"
}

// ColumnDef is a column a shard adds: its name and normalised definition.
type ColumnDef struct {
	Name string `json:"name"`
	Def  string `json:"def"`
}

// Unsynced lists the sources the lock still waits for; never nil.
func (l ShardLock) Unsynced() []string { return withoutNames(l.Sources, l.Synced) }

func (l ShardLock) clone() ShardLock {
	l.DDLs = slices.Clone(l.DDLs)
	l.Sources = slices.Clone(l.Sources)
	l.Synced = slices.Clone(l.Synced)
	l.Acked = slices.Clone(l.Acked)
	return l
}

// cloneShardColumns copies the task -> target -> column claims; the claims are plain values.
func cloneShardColumns(m map[string]map[string]map[string]ShardColumn) map[string]map[string]map[string]ShardColumn {
	c := make(map[string]map[string]map[string]ShardColumn, len(m))
	for task, targets := range m {
		ct := make(map[string]map[string]ShardColumn, len(targets))
		for target, cols := range targets {
			ct[target] = maps.Clone(cols)
		}
		c[task] = ct
	}
	return c
}

// containsAll reports whether every name of sub is in set.
func containsAll(set, sub []string) bool {
	for _, name := range sub {
		if !slices.Contains(set, name) {
			return false
		}
	}
	return true
}

// withName returns a new sorted list of the names and name. The input is never modified, so
// snapshots that share it stay intact.
func withName(names []string, name string) []string {
	i, found := slices.BinarySearch(names, name)
	if found {
		return slices.Clone(names)
	}
	return slices.Insert(slices.Clone(names), i, name)
}

// withoutNames returns a new list of the names not in drop, in their order; never nil.
func withoutNames(names, drop []string) []string {
	out := []string{}
	for _, name := range names {
		if !slices.Contains(drop, name) {
			out = append(out, name)
		}
	}
	return out
}

// ShardLocks returns the task's shard locks (every task's when task is ""), sorted by ID.
func (f *FSM) ShardLocks(task string) []ShardLock {
	f.mu.RLock()
	defer f.mu.RUnlock()
	locks := sortedValues(f.st.shardLocks, ShardLock.clone)
	if task == "" {
		return locks
	}
	return slices.DeleteFunc(locks, func(l ShardLock) bool { return l.Task != task })
}

func (f *FSM) ShardLock(id string) (ShardLock, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	l, ok := f.st.shardLocks[id]
	return l.clone(), ok
}

// ShardColumns returns the column claims on the task's target table, keyed by lower-cased column
// name; the map is empty, not nil, when there are none.
func (f *FSM) ShardColumns(task, target string) map[string]ShardColumn {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := map[string]ShardColumn{}
	maps.Copy(out, f.st.shardCols[task][target])
	return out
}
