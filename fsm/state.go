package fsm

import (
	"maps"
	"slices"
)

// Stage is the expected stage of a relay or a subtask; workers converge on it.
type Stage string

const (
	StageNew      Stage = "New"
	StageRunning  Stage = "Running"
	StagePaused   Stage = "Paused"
	StageStopped  Stage = "Stopped"
	StageFinished Stage = "Finished"
)

// relayStageSettable reports the stages an operator may ask a relay to be in.
func relayStageSettable(s Stage) bool {
	return s == StageRunning || s == StagePaused
}

// subtaskStageSettable reports the stages an operator may move a subtask to; New is only ever
// a starting point.
func subtaskStageSettable(s Stage) bool {
	return s == StageRunning || s == StagePaused || s == StageStopped || s == StageFinished
}

func subtaskStageKnown(s Stage) bool {
	return s == StageNew || subtaskStageSettable(s)
}

// Master is a dm-master node, a member of the Raft group.
type Master struct {
	Name       string `json:"name"`
	APIAddr    string `json:"api_addr"`
	PeerAddr   string `json:"peer_addr"`
	GossipAddr string `json:"gossip_addr"`
}

// Worker is a registered dm-worker. Whether it is alive is not replicated state.
type Worker struct {
	Name              string `json:"name"`
	Addr              string `json:"addr"`
	GossipAddr        string `json:"gossip_addr"`
	KeepaliveTTL      int64  `json:"keepalive_ttl"`
	RelayKeepaliveTTL int64  `json:"relay_keepalive_ttl"`
}

// Source is an upstream database.
type Source struct {
	Name string `json:"name"`
	// Spec is how the source is reached. It is never modified in place, which lets snapshots
	// share it.
	Spec            SourceSpec `json:"spec"`
	RelayBinlogName string     `json:"relay_binlog_name"`
	RelayBinlogGTID string     `json:"relay_binlog_gtid"`
	RelayDir        string     `json:"relay_dir"`
	// LastWorker is the worker whose binding to this source ended most recently, so the scheduler
	// can prefer it (its relay log and dump files are likely there). The FSM sets it whenever a
	// binding ends.
	LastWorker string `json:"last_worker"`
}

// Relay is the relay of one source: the workers that run it and its expected stage. It exists
// only while at least one worker relays the source.
type Relay struct {
	Source  string   `json:"source"`
	Workers []string `json:"workers"` // sorted
	Stage   Stage    `json:"stage"`
}

// Task is a migration task: one subtask per source it reads from.
type Task struct {
	Name     string              `json:"name"`
	Spec     TaskSpec            `json:"spec"`     // never modified in place
	Subtasks map[string]*Subtask `json:"subtasks"` // by source name
}

// Subtask is the part of a task that the worker bound to Source runs.
type Subtask struct {
	Source string `json:"source"`
	Stage  Stage  `json:"stage"`
	// Resumes counts the resume commands it received: a worker whose subtask stopped on an
	// error sees the count move and retries, even though the stage stayed Running.
	Resumes uint64 `json:"resumes,omitempty"`
	// LoadWorker holds this subtask's unfinished load (its dump files), "" when none.
	LoadWorker string `json:"load_worker,omitempty"`
}

func (s Source) clone() Source {
	s.Spec = s.Spec.clone()
	return s
}

func (r Relay) clone() Relay {
	r.Workers = slices.Clone(r.Workers)
	return r
}

// clone copies the task deeply except for Spec when shareSpec is set, which internal copies
// may do because Spec is never modified in place.
func (t *Task) clone(shareSpec bool) Task {
	c := Task{Name: t.Name, Spec: t.Spec, Subtasks: make(map[string]*Subtask, len(t.Subtasks))}
	if !shareSpec {
		c.Spec = t.Spec.clone()
	}
	for k, st := range t.Subtasks {
		cp := *st
		c.Subtasks[k] = &cp
	}
	return c
}

// state is the replicated data. boundSource and relayOf are inverse indexes of bindings and
// relays; every mutation keeps them in step (see check).
type state struct {
	masters     map[string]Master
	workers     map[string]Worker
	sources     map[string]Source
	bindings    map[string]string // source -> worker
	boundSource map[string]string // worker -> source
	relays      map[string]Relay  // source -> relay, present only with at least one worker
	relayOf     map[string]string // worker -> source it relays
	tasks       map[string]*Task
	shardLocks  map[string]ShardLock                         // by ID; every lock's task exists
	shardCols   map[string]map[string]map[string]ShardColumn // task -> target -> lower-cased column -> claim; no empty maps
	binlogOps   map[string]BinlogOp                          // by binlogOpKey; every operation's subtask exists
	// clusterKey is the cluster's key (SetClusterKey), nil until set; never modified in place.
	clusterKey []byte
}

func newState() *state {
	return &state{
		masters:     map[string]Master{},
		workers:     map[string]Worker{},
		sources:     map[string]Source{},
		bindings:    map[string]string{},
		boundSource: map[string]string{},
		relays:      map[string]Relay{},
		relayOf:     map[string]string{},
		tasks:       map[string]*Task{},
		shardLocks:  map[string]ShardLock{},
		shardCols:   map[string]map[string]map[string]ShardColumn{},
		binlogOps:   map[string]BinlogOp{},
	}
}

// clone copies the state for a snapshot; specs are shared (see Source.Spec).
func (s *state) clone() *state {
	c := &state{
		masters:     maps.Clone(s.masters),
		workers:     maps.Clone(s.workers),
		sources:     maps.Clone(s.sources),
		bindings:    maps.Clone(s.bindings),
		boundSource: maps.Clone(s.boundSource),
		relays:      make(map[string]Relay, len(s.relays)),
		relayOf:     maps.Clone(s.relayOf),
		tasks:       make(map[string]*Task, len(s.tasks)),
		shardLocks:  make(map[string]ShardLock, len(s.shardLocks)),
		shardCols:   cloneShardColumns(s.shardCols),
		binlogOps:   make(map[string]BinlogOp, len(s.binlogOps)),
		clusterKey:  s.clusterKey,
	}
	for k, o := range s.binlogOps {
		c.binlogOps[k] = o.clone()
	}
	for k, r := range s.relays {
		c.relays[k] = r.clone()
	}
	for k, l := range s.shardLocks {
		c.shardLocks[k] = l.clone()
	}
	for k, t := range s.tasks {
		tc := t.clone(true)
		c.tasks[k] = &tc
	}
	return c
}

func (s *state) bind(source, worker string) {
	s.bindings[source] = worker
	s.boundSource[worker] = source
}

// unbind ends the source's binding, if any, remembering the worker as the source's LastWorker.
func (s *state) unbind(source string) {
	worker, ok := s.bindings[source]
	if !ok {
		return
	}
	delete(s.bindings, source)
	delete(s.boundSource, worker)
	if src, ok := s.sources[source]; ok {
		src.LastWorker = worker
		s.sources[source] = src
	}
}

// stopRelayOn drops the worker from the relay of the source; the relay goes with its last worker.
func (s *state) stopRelayOn(source, worker string) {
	r, ok := s.relays[source]
	if !ok {
		return
	}
	delete(s.relayOf, worker)
	r.Workers = slices.DeleteFunc(slices.Clone(r.Workers), func(w string) bool { return w == worker })
	if len(r.Workers) == 0 {
		delete(s.relays, source)
		return
	}
	s.relays[source] = r
}

// tasksOfSource returns the sorted names of the tasks with a subtask on the source.
func (s *state) tasksOfSource(source string) []string {
	names := []string{}
	for name, t := range s.tasks {
		if _, ok := t.Subtasks[source]; ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// uniqueSorted gives a command's name list a canonical order, so validation reports the same
// first offender whatever order the caller used.
func uniqueSorted(names []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(names)))
}
