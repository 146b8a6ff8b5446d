package master

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/membership"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/dm-oss/dm/restapi/peer"
)

// Limits of the desired-state long-poll.
const (
	defaultDesiredWait = 30 * time.Second
	maxDesiredWait     = 5 * time.Minute
)

// peerRoutes serves the members' internal protocol. They run behind peer.RequireMember and
// ForwardToLeader, so the handlers execute on the leader for an authenticated member; a route
// that writes or reads one member's records checks that the caller is that member (mayActAs).
func (s *Server) peerRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+peer.PathJoinMaster, s.handleJoinMaster)
	mux.HandleFunc("POST "+peer.PathRegisterWorker, s.handleRegisterWorker)
	mux.HandleFunc("GET "+peer.PathDesiredPrefix+"{name}/desired", s.handleDesired)
	mux.HandleFunc("POST "+peer.PathLoadWorker, s.handleLoadWorker)
	mux.HandleFunc("POST "+peer.PathShardDDL, s.handleShardDDL)
	mux.HandleFunc("POST "+peer.PathShardDDLDone, s.handleShardDDLDone)
	mux.HandleFunc("POST "+peer.PathShardColumns, s.handleShardColumns)
	mux.HandleFunc("POST "+peer.PathBinlogOpDone, s.handleBinlogOpDone)
	mux.HandleFunc("GET "+peer.PathClusterKey, s.handleClusterKey)
	return apierr.Routes(mux)
}

func decodeBody(r *http.Request, v any) error { return apierr.DecodeJSON(r, v) }

func (s *Server) handleJoinMaster(w http.ResponseWriter, r *http.Request) {
	var req peer.JoinMasterRequest
	if err := decodeBody(r, &req); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if req.Name == "" || req.PeerAddr == "" || req.APIAddr == "" {
		restapi.WriteError(w, restapi.Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "name, api_addr and peer_addr are required"))
		return
	}
	if err := s.mayActAs(r, req.Name); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if req.AddVoter {
		if err := s.addVoter(r.Context(), req.Name, req.PeerAddr); err != nil {
			restapi.WriteError(w, err)
			return
		}
	}
	rec := fsm.Master{Name: req.Name, APIAddr: req.APIAddr, PeerAddr: req.PeerAddr, GossipAddr: req.GossipAddr}
	if cur, ok := s.state.Master(req.Name); !ok || cur != rec {
		if _, err := s.apply(r.Context(), fsm.RegisterMaster{Name: rec.Name, APIAddr: rec.APIAddr, PeerAddr: rec.PeerAddr, GossipAddr: rec.GossipAddr}); err != nil {
			restapi.WriteError(w, err)
			return
		}
	}
	restapi.WriteJSON(w, http.StatusOK, peer.JoinMasterResponse{GossipSeeds: s.gossipSeeds()})
}

// addVoter adds a master to the Raft configuration, replacing an entry of the same name that
// points elsewhere (a master re-created with a new address). The new address must answer as a
// member's Raft port first: a voter that cannot vote costs the group its quorum.
func (s *Server) addVoter(ctx context.Context, name, addr string) error {
	members, err := s.store.Members()
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.ID == name && m.Addr == addr {
			return nil
		}
		if m.ID != name && m.Addr == addr {
			return restapi.Errorf(http.StatusBadRequest, fsm.CodeMasterJoinFail, "peer address %s is already used by master %q", addr, m.ID)
		}
	}
	if err := s.store.Probe(ctx, addr); err != nil {
		return restapi.Errorf(http.StatusBadRequest, fsm.CodeMasterJoinFail, "master %q cannot join: %w", name, err)
	}
	if err := s.store.AddVoter(ctx, name, addr); err != nil {
		return err
	}
	s.logger.Info("master added to the raft configuration", "name", name, "peer", addr)
	return nil
}

func (s *Server) handleRegisterWorker(w http.ResponseWriter, r *http.Request) {
	var req peer.RegisterWorkerRequest
	if err := decodeBody(r, &req); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if req.Name == "" || req.Addr == "" {
		restapi.WriteError(w, restapi.Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "worker name and addr are required"))
		return
	}
	if err := s.mayActAs(r, req.Name); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if req.KeepaliveTTL <= 0 {
		restapi.WriteError(w, restapi.Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "keepalive-ttl must be positive, got %d", req.KeepaliveTTL))
		return
	}
	s.live.heardFrom(req.Name)
	// A name belongs to one worker at a time: another process still alive under it keeps it.
	if cur, ok := s.state.Worker(req.Name); ok && cur.Addr != req.Addr {
		if m, alive := s.pool.Alive(membership.RoleWorker, req.Name); alive && m.APIAddr == cur.Addr {
			restapi.WriteError(w, restapi.Errorf(http.StatusBadRequest, fsm.CodeWorkerOnline,
				"worker name %q is already used by the online worker at %s", req.Name, cur.Addr))
			return
		}
	}
	rec := fsm.Worker{Name: req.Name, Addr: req.Addr, GossipAddr: req.GossipAddr, KeepaliveTTL: req.KeepaliveTTL, RelayKeepaliveTTL: req.RelayKeepaliveTTL}
	index := s.state.Index()
	if cur, ok := s.state.Worker(req.Name); !ok || cur != rec {
		var err error
		index, err = s.apply(r.Context(), fsm.RegisterWorker{Name: rec.Name, Addr: rec.Addr, GossipAddr: rec.GossipAddr, KeepaliveTTL: rec.KeepaliveTTL, RelayKeepaliveTTL: rec.RelayKeepaliveTTL})
		if err != nil {
			restapi.WriteError(w, err)
			return
		}
		s.logger.Info("worker registered", "worker", req.Name, "addr", req.Addr)
	}
	restapi.WriteJSON(w, http.StatusOK, peer.RegisterWorkerResponse{Index: index, GossipSeeds: s.gossipSeeds()})
}

// handleDesired is a blocking query: it answers as soon as the FSM moves past ?index, or after
// ?wait, with the worker's whole desired state.
func (s *Server) handleDesired(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.mayActAs(r, name); err != nil {
		restapi.WriteError(w, err)
		return
	}
	s.live.heardFrom(name)
	q := r.URL.Query()
	var index uint64
	if v := q.Get("index"); v != "" {
		var err error
		if index, err = strconv.ParseUint(v, 10, 64); err != nil {
			restapi.WriteError(w, restapi.Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "index %q is not a number", v))
			return
		}
	}
	wait := defaultDesiredWait
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			restapi.WriteError(w, restapi.Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "wait %q is not a duration", v))
			return
		}
		wait = min(d, maxDesiredWait)
	}
	if wk, ok := s.state.Worker(name); ok && wk.KeepaliveTTL > 0 {
		// The poll is the worker's contact (liveness): it must come back well within its TTL.
		wait = min(wait, time.Duration(wk.KeepaliveTTL)*time.Second/2)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		watch := s.state.Watch()
		view := s.state.WorkerView(name)
		if view.Index > index || !view.Registered {
			restapi.WriteJSON(w, http.StatusOK, peer.DesiredState{View: view, GossipSeeds: s.gossipSeeds()})
			return
		}
		select {
		case <-watch:
		case <-timer.C:
			restapi.WriteJSON(w, http.StatusOK, peer.DesiredState{View: view, GossipSeeds: s.gossipSeeds()})
			return
		case <-r.Context().Done():
			return
		}
	}
}

// handleLoadWorker records (or clears) the worker holding a subtask's unfinished load.
func (s *Server) handleLoadWorker(w http.ResponseWriter, r *http.Request) {
	var req peer.LoadWorkerRequest
	if err := decodeBody(r, &req); err != nil {
		restapi.WriteError(w, err)
		return
	}
	if err := s.mayActAs(r, req.Worker); err != nil {
		restapi.WriteError(w, err)
		return
	}
	holder := ""
	if req.Holding {
		holder = req.Worker
	}
	t, ok := s.state.Task(req.Task)
	if ok {
		if sub := t.Subtasks[req.Source]; sub != nil && sub.LoadWorker == holder {
			restapi.WriteJSON(w, http.StatusOK, struct{}{})
			return
		}
	}
	if _, err := s.apply(r.Context(), fsm.SetLoadWorker{Task: req.Task, Source: req.Source, Worker: holder}); err != nil {
		restapi.WriteError(w, err)
		return
	}
	restapi.WriteJSON(w, http.StatusOK, struct{}{})
}
