package fsm

import (
	"fmt"
	"slices"
)

// check verifies every invariant of the state. Commands keep them by construction; Restore runs
// check because a snapshot stream is input from outside, and the tests run it after every step.
func (s *state) check() error {
	for k, m := range s.masters {
		if k == "" || m.Name != k {
			return fmt.Errorf("master recorded as %q is named %q", k, m.Name)
		}
	}
	for k, w := range s.workers {
		if k == "" || w.Name != k {
			return fmt.Errorf("worker recorded as %q is named %q", k, w.Name)
		}
	}
	for k, src := range s.sources {
		if k == "" || src.Name != k {
			return fmt.Errorf("source recorded as %q is named %q", k, src.Name)
		}
	}
	if err := s.checkBindings(); err != nil {
		return err
	}
	if err := s.checkRelays(); err != nil {
		return err
	}
	return s.checkTasks()
}

func (s *state) checkBindings() error {
	if len(s.bindings) != len(s.boundSource) {
		return fmt.Errorf("%d bindings but %d bound workers: a worker is bound twice", len(s.bindings), len(s.boundSource))
	}
	for source, worker := range s.bindings {
		if _, ok := s.sources[source]; !ok {
			return fmt.Errorf("binding of unknown source %q", source)
		}
		if _, ok := s.workers[worker]; !ok {
			return fmt.Errorf("source %q is bound to unknown worker %q", source, worker)
		}
		if s.boundSource[worker] != source {
			return fmt.Errorf("source %q is bound to worker %q, but the worker index says %q", source, worker, s.boundSource[worker])
		}
	}
	return nil
}

func (s *state) checkRelays() error {
	n := 0
	for source, r := range s.relays {
		if r.Source != source {
			return fmt.Errorf("relay recorded under source %q names source %q", source, r.Source)
		}
		if _, ok := s.sources[source]; !ok {
			return fmt.Errorf("relay of unknown source %q", source)
		}
		if !relayStageSettable(r.Stage) {
			return fmt.Errorf("relay of source %q has invalid stage %q", source, r.Stage)
		}
		if len(r.Workers) == 0 || !slices.Equal(r.Workers, uniqueSorted(r.Workers)) {
			return fmt.Errorf("relay of source %q has workers %q; they must be non-empty, sorted and unique", source, r.Workers)
		}
		for _, w := range r.Workers {
			if _, ok := s.workers[w]; !ok {
				return fmt.Errorf("relay of source %q runs on unknown worker %q", source, w)
			}
			if s.relayOf[w] != source {
				return fmt.Errorf("worker %q relays source %q, but the worker index says %q", w, source, s.relayOf[w])
			}
			// A relay log serves the source of the worker's own binding, so the two must agree.
			if b, ok := s.boundSource[w]; ok && b != source {
				return fmt.Errorf("worker %q relays source %q but is bound to source %q", w, source, b)
			}
		}
		n += len(r.Workers)
	}
	if n != len(s.relayOf) {
		return fmt.Errorf("%d relay assignments but %d relaying workers: a worker relays twice", n, len(s.relayOf))
	}
	return nil
}

func (s *state) checkTasks() error {
	for name, t := range s.tasks {
		if name == "" || t.Name != name {
			return fmt.Errorf("task recorded as %q is named %q", name, t.Name)
		}
		if len(t.Subtasks) == 0 {
			return fmt.Errorf("task %q has no subtasks", name)
		}
		for source, st := range t.Subtasks {
			if st == nil || st.Source != source {
				return fmt.Errorf("subtask of task %q recorded under source %q is missing or names another source", name, source)
			}
			if _, ok := s.sources[source]; !ok {
				return fmt.Errorf("task %q has a subtask on unknown source %q", name, source)
			}
			if !subtaskStageKnown(st.Stage) {
				return fmt.Errorf("subtask of task %q on source %q has invalid stage %q", name, source, st.Stage)
			}
		}
	}
	return nil
}
