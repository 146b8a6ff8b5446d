package fsm

import "strings"

func applyAddSource(s *state, c *AddSource) *Error {
	name := c.Source.Name
	if name == "" {
		return invalidf("a source needs a name")
	}
	if _, ok := s.sources[name]; ok {
		return errorf(CodeSourceExist, "source %q already exists", name)
	}
	if err := checkSourceSpec(name, c.Source.Spec); err != nil {
		return err
	}
	s.sources[name] = c.Source
	return nil
}

func applyDeleteSource(s *state, c *DeleteSource) *Error {
	if _, ok := s.sources[c.Name]; !ok {
		return errorf(CodeSourceNotExist, "source %q does not exist", c.Name)
	}
	if tasks := s.tasksOfSource(c.Name); len(tasks) > 0 {
		return errorf(CodeSourceHasTasks, "source %q is still used by task(s) %s", c.Name, strings.Join(tasks, ", "))
	}
	if r, ok := s.relays[c.Name]; ok {
		return errorf(CodeSourceHasRelayWorkers, "source %q is still relayed by worker(s) %s; stop its relay first", c.Name, strings.Join(r.Workers, ", "))
	}
	if worker, ok := s.bindings[c.Name]; ok {
		delete(s.bindings, c.Name)
		delete(s.boundSource, worker)
	}
	delete(s.sources, c.Name)
	return nil
}

func applyBindSource(s *state, c *BindSource) *Error {
	if _, ok := s.sources[c.Source]; !ok {
		return errorf(CodeSourceNotExist, "source %q does not exist", c.Source)
	}
	if _, ok := s.workers[c.Worker]; !ok {
		return errorf(CodeWorkerNotExist, "worker %q does not exist", c.Worker)
	}
	current, bound := s.bindings[c.Source]
	if bound && current == c.Worker {
		return nil
	}
	if other, ok := s.boundSource[c.Worker]; ok {
		return errorf(CodeWorkerInvalidTrans, "worker %q is already bound to source %q", c.Worker, other)
	}
	// The worker's relay log must serve the source it is bound to.
	if relayed, ok := s.relayOf[c.Worker]; ok && relayed != c.Source {
		return errorf(CodeWorkerInvalidTrans, "worker %q is relaying source %q, so it cannot be bound to source %q", c.Worker, relayed, c.Source)
	}
	if bound && !c.Rebind {
		return errorf(CodeWorkerInvalidTrans, "source %q is already bound to worker %q", c.Source, current)
	}
	s.unbind(c.Source)
	s.bind(c.Source, c.Worker)
	return nil
}

func applyUnbindSource(s *state, c *UnbindSource) *Error {
	if _, ok := s.sources[c.Source]; !ok {
		return errorf(CodeSourceNotExist, "source %q does not exist", c.Source)
	}
	s.unbind(c.Source)
	return nil
}
