package fsm

func applyRegisterMaster(s *state, c *RegisterMaster) *Error {
	if c.Name == "" {
		return invalidf("a master needs a name")
	}
	s.masters[c.Name] = Master(*c)
	return nil
}

func applyRemoveMaster(s *state, c *RemoveMaster) *Error {
	if _, ok := s.masters[c.Name]; !ok {
		return errorf(CodeMasterNotExist, "master %q does not exist", c.Name)
	}
	delete(s.masters, c.Name)
	return nil
}

func applyRegisterWorker(s *state, c *RegisterWorker) *Error {
	if c.Name == "" {
		return invalidf("a worker needs a name")
	}
	if c.KeepaliveTTL < 0 || c.RelayKeepaliveTTL < 0 {
		return invalidf("worker %q has a negative keepalive TTL", c.Name)
	}
	s.workers[c.Name] = Worker(*c)
	return nil
}

// applyDeleteWorker also ends what the worker was doing, so no binding or relay points at a
// worker that no longer exists.
func applyDeleteWorker(s *state, c *DeleteWorker) *Error {
	if _, ok := s.workers[c.Name]; !ok {
		return errorf(CodeWorkerNotExist, "worker %q does not exist", c.Name)
	}
	if source, ok := s.boundSource[c.Name]; ok {
		s.unbind(source)
	}
	if source, ok := s.relayOf[c.Name]; ok {
		s.stopRelayOn(source, c.Name)
	}
	// Its dump files are gone with it.
	for _, t := range s.tasks {
		for _, sub := range t.Subtasks {
			if sub.LoadWorker == c.Name {
				sub.LoadWorker = ""
			}
		}
	}
	delete(s.workers, c.Name)
	return nil
}
