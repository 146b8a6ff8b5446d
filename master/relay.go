package master

import (
	"context"
	"strings"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
)

// StartRelay makes workers pull the source's binlog into their relay logs. Changing the relay
// start point or directory is refused while tasks use the source (they read from it).
func (s *Server) StartRelay(ctx context.Context, source string, req restapi.StartRelayRequest) error {
	src, ok := s.state.Source(source)
	if !ok {
		return badRequest(fsm.CodeSourceNotExist, "source %q does not exist", source)
	}
	if len(req.WorkerNameList) == 0 {
		return badRequest(fsm.CodeRequestInvalid, "worker_name_list must name at least one worker")
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return strings.TrimSpace(*p)
	}
	name, gtid, dir := str(req.RelayBinlogName), str(req.RelayBinlogGtid), str(req.RelayDir)
	changes := (name != "" && name != src.RelayBinlogName) || (gtid != "" && gtid != src.RelayBinlogGTID) || (dir != "" && dir != src.RelayDir)
	if changes {
		if tasks := s.state.TasksOfSource(source); len(tasks) > 0 {
			return badRequest(fsm.CodeSourceHasTasks, "source %q is used by task(s) %s: its relay start point or directory cannot change now", source, strings.Join(tasks, ", "))
		}
	}
	for _, w := range req.WorkerNameList {
		if _, ok := s.state.Worker(w); !ok {
			return badRequest(fsm.CodeWorkerNotExist, "worker %q does not exist", w)
		}
	}
	if _, err := s.apply(ctx, fsm.StartRelay{Source: source, Workers: req.WorkerNameList, BinlogName: name, BinlogGTID: gtid, RelayDir: dir}); err != nil {
		return err
	}
	s.logger.Info("relay started", "source", source, "workers", req.WorkerNameList)
	return nil
}

// StopRelay stops relay on the listed workers.
func (s *Server) StopRelay(ctx context.Context, source string, workers []string) error {
	if len(workers) == 0 {
		return badRequest(fsm.CodeRequestInvalid, "worker_name_list must name at least one worker")
	}
	if _, err := s.apply(ctx, fsm.StopRelay{Source: source, Workers: workers}); err != nil {
		return err
	}
	s.logger.Info("relay stopped", "source", source, "workers", workers)
	s.wakeScheduler()
	return nil
}

// SetRelayStage pauses or resumes the source's relay on all its relay workers.
func (s *Server) SetRelayStage(ctx context.Context, source string, running bool) error {
	if _, ok := s.state.Source(source); !ok {
		return badRequest(fsm.CodeRelayStageSourceNotExist, "source %q does not exist", source)
	}
	stage := fsm.StagePaused
	if running {
		stage = fsm.StageRunning
	}
	_, err := s.apply(ctx, fsm.SetRelayStage{Source: source, Stage: stage})
	return err
}
