package fsm

import (
	"maps"
	"slices"
)

// Reads return deep copies, so callers may keep and modify them while the FSM moves on.

// sortedValues returns the map's values ordered by key, each passed through cp.
func sortedValues[V, R any](m map[string]V, cp func(V) R) []R {
	out := make([]R, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, cp(m[k]))
	}
	return out
}

func same[V any](v V) V { return v }

func (f *FSM) Masters() []Master {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedValues(f.st.masters, same)
}

func (f *FSM) Master(name string) (Master, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m, ok := f.st.masters[name]
	return m, ok
}

func (f *FSM) Workers() []Worker {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedValues(f.st.workers, same)
}

func (f *FSM) Worker(name string) (Worker, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	w, ok := f.st.workers[name]
	return w, ok
}

func (f *FSM) Sources() []Source {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedValues(f.st.sources, Source.clone)
}

func (f *FSM) Source(name string) (Source, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	src, ok := f.st.sources[name]
	return src.clone(), ok
}

// BoundWorker returns the worker the source is bound to.
func (f *FSM) BoundWorker(source string) (string, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	w, ok := f.st.bindings[source]
	return w, ok
}

// BoundSource returns the source the worker is bound to.
func (f *FSM) BoundSource(worker string) (string, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	src, ok := f.st.boundSource[worker]
	return src, ok
}

// Bindings returns every binding, source -> worker.
func (f *FSM) Bindings() map[string]string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return maps.Clone(f.st.bindings)
}

// Relay returns the source's relay; ok is false when no worker relays it.
func (f *FSM) Relay(source string) (Relay, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	r, ok := f.st.relays[source]
	return r.clone(), ok
}

// RelaySourceOf returns the source the worker relays.
func (f *FSM) RelaySourceOf(worker string) (string, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	src, ok := f.st.relayOf[worker]
	return src, ok
}

func (f *FSM) Tasks() []Task {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedValues(f.st.tasks, func(t *Task) Task { return t.clone(false) })
}

func (f *FSM) Task(name string) (Task, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	t, ok := f.st.tasks[name]
	if !ok {
		return Task{}, false
	}
	return t.clone(false), true
}

// TasksOfSource returns the sorted names of the tasks with a subtask on the source.
func (f *FSM) TasksOfSource(source string) []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.tasksOfSource(source)
}

// WorkerView is everything one worker must act on: what the masters' desired-state feed serves
// it. Index tells the worker how fresh the view is.
type WorkerView struct {
	Index      uint64 `json:"index"`
	Worker     Worker `json:"worker"`
	Registered bool   `json:"registered"`
	// Bound is the source bound to the worker, whose subtasks it runs.
	Bound *Source `json:"bound,omitempty"`
	// Relay is the relay the worker must run; RelaySource carries that source's relay settings.
	Relay       *Relay        `json:"relay,omitempty"`
	RelaySource *Source       `json:"relay_source,omitempty"`
	Subtasks    []SubtaskView `json:"subtasks"` // of the bound source, sorted by task name
}

// SubtaskView is one subtask with the spec of its task, ready for a worker to run.
type SubtaskView struct {
	Task    string   `json:"task"`
	Source  string   `json:"source"`
	Spec    TaskSpec `json:"spec"`
	Stage   Stage    `json:"stage"`
	Resumes uint64   `json:"resumes,omitempty"`
	// BinlogOps are the operations on events of the subtask's binlog, sorted by position.
	BinlogOps []BinlogOp `json:"binlog_ops,omitempty"`
}

// WorkerView returns the view of the named worker; an unregistered worker gets an empty view
// with Registered false.
func (f *FSM) WorkerView(name string) WorkerView {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s := f.st
	v := WorkerView{Index: f.index, Subtasks: []SubtaskView{}}
	w, ok := s.workers[name]
	if !ok {
		return v
	}
	v.Worker, v.Registered = w, true
	if source, ok := s.boundSource[name]; ok {
		src := s.sources[source].clone()
		v.Bound = &src
		for _, task := range s.tasksOfSource(source) {
			t := s.tasks[task]
			v.Subtasks = append(v.Subtasks, SubtaskView{
				Task:    task,
				Source:  source,
				Spec:    t.Spec.clone(),
				Stage:   t.Subtasks[source].Stage,
				Resumes: t.Subtasks[source].Resumes,

				BinlogOps: s.subtaskBinlogOps(task, source),
			})
		}
	}
	if source, ok := s.relayOf[name]; ok {
		r := s.relays[source].clone()
		src := s.sources[source].clone()
		v.Relay, v.RelaySource = &r, &src
	}
	return v
}

// ClusterKey is the cluster key (a copy), nil until a leader set it.
func (f *FSM) ClusterKey() []byte {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return slices.Clone(f.st.clusterKey)
}
