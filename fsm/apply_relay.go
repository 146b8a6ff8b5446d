package fsm

import "slices"

// relayTargets checks what starting and stopping a relay share: the source exists and the
// workers are a non-empty list of registered workers, returned in canonical order.
func relayTargets(s *state, source string, workers []string, verb string) (Source, []string, *Error) {
	src, ok := s.sources[source]
	if !ok {
		return Source{}, nil, errorf(CodeSourceNotExist, "source %q does not exist", source)
	}
	workers = uniqueSorted(workers)
	if len(workers) == 0 {
		return Source{}, nil, invalidf("%s the relay of source %q needs at least one worker", verb, source)
	}
	for _, w := range workers {
		if _, ok := s.workers[w]; !ok {
			return Source{}, nil, errorf(CodeWorkerNotExist, "worker %q does not exist", w)
		}
	}
	return src, workers, nil
}

func applyStartRelay(s *state, c *StartRelay) *Error {
	src, workers, rejected := relayTargets(s, c.Source, c.Workers, "starting")
	if rejected != nil {
		return rejected
	}
	for _, w := range workers {
		if bound, ok := s.boundSource[w]; ok && bound != c.Source {
			return errorf(CodeRelayWorkerWrongBound, "worker %q is bound to source %q, so it cannot relay source %q", w, bound, c.Source)
		}
		if relayed, ok := s.relayOf[w]; ok && relayed != c.Source {
			return errorf(CodeRelayWorkerBusy, "worker %q is already relaying source %q", w, relayed)
		}
	}

	if c.BinlogName != "" {
		src.RelayBinlogName = c.BinlogName
	}
	if c.BinlogGTID != "" {
		src.RelayBinlogGTID = c.BinlogGTID
	}
	if c.RelayDir != "" {
		src.RelayDir = c.RelayDir
	}
	s.sources[c.Source] = src

	r, ok := s.relays[c.Source]
	if !ok {
		r = Relay{Source: c.Source, Stage: StageRunning}
	}
	r.Workers = uniqueSorted(append(slices.Clone(r.Workers), workers...))
	s.relays[c.Source] = r
	for _, w := range workers {
		s.relayOf[w] = c.Source
	}
	return nil
}

func applyStopRelay(s *state, c *StopRelay) *Error {
	_, workers, rejected := relayTargets(s, c.Source, c.Workers, "stopping")
	if rejected != nil {
		return rejected
	}
	for _, w := range workers {
		if relayed, ok := s.relayOf[w]; ok && relayed != c.Source {
			return errorf(CodeRelayWorkerWrongRelay, "worker %q is relaying source %q, not source %q", w, relayed, c.Source)
		}
	}
	for _, w := range workers {
		if s.relayOf[w] == c.Source {
			s.stopRelayOn(c.Source, w)
		}
	}
	return nil
}

// applySetRelayStage accepts a source without relay workers as a no-op, as DM only warns there;
// the next StartRelay starts the relay Running anyway, so a stored stage would mean nothing.
func applySetRelayStage(s *state, c *SetRelayStage) *Error {
	if _, ok := s.sources[c.Source]; !ok {
		return errorf(CodeSourceNotExist, "source %q does not exist", c.Source)
	}
	if !relayStageSettable(c.Stage) {
		return errorf(CodeRelayStageInvalid, "relay stage %q is invalid for source %q; it must be Running or Paused", c.Stage, c.Source)
	}
	r, ok := s.relays[c.Source]
	if !ok {
		return nil
	}
	r.Stage = c.Stage
	s.relays[c.Source] = r
	return nil
}
