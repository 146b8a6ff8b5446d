package master

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/membership"
	"github.com/dm-oss/dm/restapi"
)

// Server implements restapi.Backend.
var _ restapi.Backend = (*Server)(nil)

// Worker binding stages as DM names them.
const (
	stageOffline = "offline"
	stageFree    = "free"
	stageBound   = "bound"
	stageRelay   = "relay"
)

// leaderPoll is how often Leader re-checks while an election is under way.
const leaderPoll = 50 * time.Millisecond

// Leader finds the current leader and its API address, waiting for an election to finish (up
// to ctx's deadline). A leader is reported only once its address is known and, for this node,
// once it has caught up with the log.
func (s *Server) Leader(ctx context.Context) (restapi.Leader, error) {
	tick := time.NewTicker(leaderPoll)
	defer tick.Stop()
	for {
		id, _ := s.store.Leader()
		switch {
		case id == s.cfg.Name && s.isLeader():
			return restapi.Leader{Name: s.cfg.Name, APIAddr: s.res.apiAdvertise, Self: true}, nil
		case id != "" && id != s.cfg.Name:
			if addr := s.masterAPIAddr(id); addr != "" {
				return restapi.Leader{Name: id, APIAddr: addr}, nil
			}
		}
		select {
		case <-ctx.Done():
			return restapi.Leader{}, fmt.Errorf("%w (waited for an elected leader): %w", restapi.ErrNoLeader, ctx.Err())
		case <-tick.C:
		}
	}
}

// masterAPIAddr looks a master's API address up in the FSM, then in gossip (a master that has
// just been elected may not have recorded itself yet).
func (s *Server) masterAPIAddr(name string) string {
	if m, ok := s.state.Master(name); ok && m.APIAddr != "" {
		return m.APIAddr
	}
	if m, ok := s.pool.Alive(membership.RoleMaster, name); ok {
		return m.APIAddr
	}
	return ""
}

// ListMasters lists the Raft configuration's members.
func (s *Server) ListMasters(ctx context.Context) ([]restapi.ClusterMaster, error) {
	members, err := s.store.Members()
	if err != nil {
		return nil, err
	}
	leader, _ := s.store.Leader()
	var out []restapi.ClusterMaster
	for _, member := range members {
		name := member.ID
		alive := name == s.cfg.Name
		if !alive {
			m, ok := s.pool.Alive(membership.RoleMaster, name)
			alive = ok && !m.Leaving
		}
		out = append(out, restapi.ClusterMaster{Name: name, Alive: alive, Leader: name == leader, Addr: s.masterAPIAddr(name)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// OfflineMaster removes a master from the Raft configuration and forgets its addresses.
func (s *Server) OfflineMaster(ctx context.Context, name string) error {
	members, err := s.store.Members()
	if err != nil {
		return err
	}
	found, otherVoters := false, 0
	for _, m := range members {
		switch {
		case m.ID == name:
			found = true
		case m.Voter:
			otherVoters++
		}
	}
	if !found {
		return restapi.Errorf(http.StatusBadRequest, fsm.CodeMasterNotExist, "dm-master with name %q does not exist", name)
	}
	if otherVoters == 0 {
		// Raft refuses a configuration without voters; check before forgetting the addresses.
		return restapi.Errorf(http.StatusBadRequest, fsm.CodeOpenAPICommon,
			"dm-master %q is the last master of the cluster and cannot be removed: add another master first, or stop this one to shut the cluster down", name)
	}
	if _, ok := s.state.Master(name); ok {
		// Forget the addresses first: after a leader removes itself it can no longer write.
		if _, err := s.apply(ctx, fsm.RemoveMaster{Name: name}); err != nil {
			return err
		}
	}
	if err := s.store.RemoveServer(ctx, name); err != nil {
		return err
	}
	s.logger.Info("master removed from the raft configuration", "name", name)
	return nil
}

// workerInfo is one registered worker as the leader sees it.
type workerInfo struct {
	fsm.Worker
	stage  string
	source string
}

func (s *Server) workerList() []workerInfo {
	var out []workerInfo
	for _, w := range s.state.Workers() {
		out = append(out, s.describeWorker(w))
	}
	return out
}

func (s *Server) describeWorker(w fsm.Worker) workerInfo {
	info := workerInfo{Worker: w, stage: stageOffline}
	bound, isBound := s.state.BoundSource(w.Name)
	relay, isRelay := s.state.RelaySourceOf(w.Name)
	switch {
	case isBound:
		info.source = bound
	case isRelay:
		info.source = relay
	}
	if !s.live.online(w) {
		return info
	}
	switch {
	case isBound:
		info.stage = stageBound
	case isRelay:
		info.stage = stageRelay
	default:
		info.stage = stageFree
	}
	return info
}

// ListWorkers lists registered workers with their binding stage.
func (s *Server) ListWorkers(ctx context.Context) ([]restapi.ClusterWorker, error) {
	var out []restapi.ClusterWorker
	for _, w := range s.workerList() {
		out = append(out, restapi.ClusterWorker{Name: w.Name, Addr: w.Addr, BoundStage: restapi.ClusterWorkerBoundStage(w.stage), BoundSourceName: w.source})
	}
	return out, nil
}

// OfflineWorker deletes an offline worker's registration.
func (s *Server) OfflineWorker(ctx context.Context, name string) error {
	w, ok := s.state.Worker(name)
	if !ok {
		return restapi.Errorf(http.StatusBadRequest, fsm.CodeWorkerNotExist, "dm-worker with name %q does not exist", name)
	}
	if s.live.online(w) {
		return restapi.Errorf(http.StatusBadRequest, fsm.CodeWorkerOnline, "dm-worker %q is online: stop it first (a worker goes offline once it has been gone for its keepalive-ttl of %ds)", name, w.KeepaliveTTL)
	}
	_, err := s.apply(ctx, fsm.DeleteWorker{Name: name})
	return err
}
