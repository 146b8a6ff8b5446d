package master

import (
	"context"
	"errors"
	"strings"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
)

// PurgeRelay forwards a manual relay purge (DM's purge-relay) to every worker that pulls the
// source's relay log; each keeps what its subtasks still read.
func (s *Server) PurgeRelay(ctx context.Context, source string, req restapi.DMAPIPurgeRelayJSONRequestBody) ([]restapi.PurgeRelayWorkerResult, error) {
	if _, ok := s.state.Source(source); !ok {
		return nil, badRequest(fsm.CodeSourceNotExist, "source %q does not exist", source)
	}
	name := strings.TrimSpace(req.RelayBinlogName)
	if name == "" {
		return nil, badRequest(fsm.CodeRequestInvalid, "relay_binlog_name must name the relay file to purge before")
	}
	rl, ok := s.state.Relay(source)
	if !ok || len(rl.Workers) == 0 {
		return nil, badRequest(fsm.CodeOpenAPICommon, "relay log of source %q is not enabled: no worker pulls it (start relay first)", source)
	}
	var workers []fsm.Worker
	for _, wn := range rl.Workers {
		w, ok := s.state.Worker(wn)
		if !ok || !s.live.online(w) {
			return nil, badRequest(fsm.CodeOpenAPICommon, "relay worker %q of source %q is offline: nothing was purged", wn, source)
		}
		workers = append(workers, w)
	}
	pr := peer.RelayPurgeRequest{RelayBinlogName: name}
	if req.RelayDir != nil {
		pr.RelayDir = strings.TrimSpace(*req.RelayDir)
	}
	out := make([]restapi.PurgeRelayWorkerResult, 0, len(workers))
	for _, w := range workers {
		res, err := s.workers.PurgeRelay(ctx, w.Addr, source, pr)
		if err != nil {
			return nil, workerError(w.Name, source, out, err)
		}
		out = append(out, restapi.PurgeRelayWorkerResult(res))
	}
	s.logger.Info("relay purged by request", "source", source, "before", name, "workers", rl.Workers)
	return out, nil
}

// workerError names the worker in its error, keeping the worker's status and code, and says
// which workers had purged already.
func workerError(worker, source string, done []restapi.PurgeRelayWorkerResult, err error) error {
	var already []string
	for _, d := range done {
		already = append(already, d.WorkerName+" purged "+strings.Join(d.PurgedFiles, ","))
	}
	suffix := ""
	if len(already) > 0 {
		suffix = " (before it: " + strings.Join(already, "; ") + ")"
	}
	var apiErr *restapi.Error
	if errors.As(err, &apiErr) {
		return restapi.Errorf(apiErr.Status, apiErr.Code, "worker %q: %s%s", worker, apiErr.Msg, suffix)
	}
	return badRequest(fsm.CodeOpenAPICommon, "relay worker %q of source %q did not answer: %v%s", worker, source, err, suffix)
}
