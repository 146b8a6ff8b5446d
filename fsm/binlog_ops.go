package fsm

import (
	"slices"
	"strconv"
	"strings"
)

// BinlogOp is an operator's decision on one event of a subtask's binlog (DM's `binlog skip` and
// `binlog replace`, formerly `handle-error`): when the sync unit reaches the event, it skips it,
// or runs SQLs in its place. An operation stays until the worker reports that its checkpoint is
// past the event (BinlogOpDone), so that a sync unit that restarts before that meets it again.
//
// Its life: SetBinlogOps puts it (replacing one on the same event), RevertBinlogOps takes a
// pending one back, BinlogOpDone removes it once applied; it goes with its subtask.
type BinlogOp struct {
	Task string `json:"task"`
	BinlogEvent
	Op   string   `json:"op"`             // BinlogOpSkip or BinlogOpReplace
	SQLs []string `json:"sqls,omitempty"` // replace: the statements run instead of the event's, in order
}

// BinlogEvent names one event of a source's binlog by where it starts, as SHOW BINLOG EVENTS
// shows it (and as a subtask that stopped on it reports it).
type BinlogEvent struct {
	Source string `json:"source"`
	File   string `json:"file"`
	Pos    uint32 `json:"pos"`
}

// The operations on a binlog event.
const (
	BinlogOpSkip    = "skip"
	BinlogOpReplace = "replace"
)

// String is the event's position as DM's --binlog-pos writes it: "mysql-bin.000001:4321".
func (e BinlogEvent) String() string { return e.File + ":" + strconv.FormatUint(uint64(e.Pos), 10) }

func (o BinlogOp) clone() BinlogOp {
	o.SQLs = slices.Clone(o.SQLs)
	return o
}

// binlogOpKey is the key of the operation on an event of a task's subtask. The units cannot occur
// in names, files or numbers, so distinct events have distinct keys.
func binlogOpKey(task string, e BinlogEvent) string {
	return task + "\x1f" + e.Source + "\x1f" + e.File + "\x1f" + strconv.FormatUint(uint64(e.Pos), 10)
}

func (o BinlogOp) key() string { return binlogOpKey(o.Task, o.BinlogEvent) }

// compareBinlogEvents orders events by source, then by file (base name, then numeric extension),
// then by position.
func compareBinlogEvents(a, b BinlogEvent) int {
	if c := strings.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	if c := compareBinlogFiles(a.File, b.File); c != 0 {
		return c
	}
	switch {
	case a.Pos < b.Pos:
		return -1
	case a.Pos > b.Pos:
		return 1
	}
	return 0
}

// compareBinlogFiles orders binlog file names as the binlog package does ("b.000009" before
// "b.000010" whatever the width of the number); the fsm imports nothing of ours, so it has its own.
func compareBinlogFiles(a, b string) int {
	ab, an, aok := splitBinlogFile(a)
	bb, bn, bok := splitBinlogFile(b)
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

func splitBinlogFile(name string) (base string, n uint64, ok bool) {
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

// sortedBinlogOps returns copies of the operations of task (every task's when task is "") that
// keep, sorted by task, source and position.
func (s *state) sortedBinlogOps(task string, keep func(BinlogOp) bool) []BinlogOp {
	out := []BinlogOp{}
	for _, o := range s.binlogOps {
		if (task == "" || o.Task == task) && (keep == nil || keep(o)) {
			out = append(out, o.clone())
		}
	}
	slices.SortFunc(out, func(a, b BinlogOp) int {
		if c := strings.Compare(a.Task, b.Task); c != 0 {
			return c
		}
		return compareBinlogEvents(a.BinlogEvent, b.BinlogEvent)
	})
	return out
}

// BinlogOps returns the pending operations of the task (every task's when task is ""), sorted by
// task, source and position.
func (f *FSM) BinlogOps(task string) []BinlogOp {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.sortedBinlogOps(task, nil)
}

// BinlogOpAt returns the operation on the event of the task's subtask, if there is one.
func (f *FSM) BinlogOpAt(task string, e BinlogEvent) (BinlogOp, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	o, ok := f.st.binlogOps[binlogOpKey(task, e)]
	return o.clone(), ok
}

// subtaskBinlogOps is what a worker's view carries of one subtask's operations.
func (s *state) subtaskBinlogOps(task, source string) []BinlogOp {
	ops := s.sortedBinlogOps(task, func(o BinlogOp) bool { return o.Source == source })
	if len(ops) == 0 {
		return nil
	}
	return ops
}

// dropBinlogOps forgets the operations of the task's subtasks on sources (all of them when
// sources is nil): those subtasks are gone.
func (s *state) dropBinlogOps(task string, sources []string) {
	for k, o := range s.binlogOps {
		if o.Task == task && (sources == nil || slices.Contains(sources, o.Source)) {
			delete(s.binlogOps, k)
		}
	}
}
