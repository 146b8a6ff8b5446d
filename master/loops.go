package master

import (
	"context"
	"time"

	"github.com/dm-oss/dm/internal/backoff"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/membership"
	"github.com/dm-oss/dm/restapi/peer"
)

// leaderLoop, while this node leads, keeps the FSM's master records in line with what gossip
// shows: that is how followers learn the leader's API address for forwarding, and how masters
// learn each other's gossip ports. It runs at once when leadership changes (the store has run
// its Barrier by then) and every second. Once per term it also sees to the keys (leaderKeys).
func (s *Server) leaderLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	keysDone := false // this term's key work (leaderKeys) has succeeded
	for {
		changed := s.store.LeaderWatch()
		if s.isLeader() {
			s.syncMasterRecords(ctx)
			if !keysDone {
				err := s.leaderKeys(ctx)
				if err != nil {
					s.logger.Warn("cluster key work of the new leader failed; retrying", "err", err)
				}
				keysDone = err == nil
			}
		} else {
			keysDone = false
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
	}
}

// syncMasterRecords writes the addresses of every master in the Raft configuration that gossip
// shows alive (and our own) into the FSM when they changed, and drops the records of masters
// no longer in the configuration.
func (s *Server) syncMasterRecords(ctx context.Context) {
	members, err := s.store.Members()
	if err != nil {
		return
	}
	inConfig := map[string]bool{}
	for _, m := range members {
		inConfig[m.ID] = true
	}
	want := map[string]fsm.Master{s.cfg.Name: s.masterRecord()}
	for _, m := range s.pool.Members() {
		if m.Role == membership.RoleMaster && m.Name != s.cfg.Name && inConfig[m.Name] && !m.Leaving {
			want[m.Name] = fsm.Master{Name: m.Name, APIAddr: m.APIAddr, PeerAddr: m.PeerAddr, GossipAddr: m.GossipAddr}
		}
	}
	for name, rec := range want {
		if cur, ok := s.state.Master(name); ok && cur == rec {
			continue
		}
		cmd := fsm.RegisterMaster{Name: rec.Name, APIAddr: rec.APIAddr, PeerAddr: rec.PeerAddr, GossipAddr: rec.GossipAddr}
		if _, err := s.apply(ctx, cmd); err != nil {
			s.logger.Warn("record master addresses", "name", name, "err", err)
		}
	}
	// A master that left the configuration without OfflineMaster (a group recovered with
	// --recover-from) is forgotten too, so nobody keeps calling or gossiping with it.
	for _, m := range s.state.Masters() {
		if inConfig[m.Name] {
			continue
		}
		if _, err := s.apply(ctx, fsm.RemoveMaster{Name: m.Name}); err != nil {
			s.logger.Warn("forget a master outside the raft configuration", "name", m.Name, "err", err)
			continue
		}
		s.logger.Info("master outside the raft configuration forgotten", "name", m.Name)
	}
}

// gossipLoop feeds membership events to the liveness tracker.
func (s *Server) gossipLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-s.pool.Events():
			s.live.observe(ev)
			if ev.Member.Role == membership.RoleWorker && ev.Type != membership.EventUpdate {
				s.logger.Info("worker "+string(ev.Type), "worker", ev.Member.Name, "gossip", ev.Member.GossipAddr)
			}
		}
	}
}

// discoveryLoop joins the gossip addresses of masters recorded in the FSM that this node does
// not see yet. Gossip ports are OS-assigned, so the FSM is where they are found.
func (s *Server) discoveryLoop(ctx context.Context) {
	retry := time.NewTicker(2 * time.Second)
	defer retry.Stop()
	for {
		watch := s.state.Watch()
		for _, m := range s.state.Masters() {
			if m.Name == s.cfg.Name || m.GossipAddr == "" || s.pool.Knows(m.GossipAddr) {
				continue
			}
			if _, err := s.pool.Join([]string{m.GossipAddr}); err != nil {
				s.logger.Debug("join master gossip", "master", m.Name, "addr", m.GossipAddr, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-watch:
		case <-retry.C:
		}
	}
}

// joinLoop adds this master to a running cluster through any master named in `join`; the
// leader adds it to the Raft configuration as a voter. It retries until it succeeds.
func (s *Server) joinLoop(ctx context.Context) {
	client, err := peer.NewClient(s.res.join, s.members)
	if err != nil {
		s.logger.Error("join", "err", err)
		return
	}
	req := peer.JoinMasterRequest{Name: s.cfg.Name, APIAddr: s.res.apiAdvertise, PeerAddr: s.res.raftAdvertise, GossipAddr: s.pool.Addr(), AddVoter: true}
	wait := backoff.Backoff{First: 200 * time.Millisecond, Max: 5 * time.Second}
	for {
		resp, err := client.JoinMaster(ctx, req)
		if err == nil {
			s.logger.Info("joined the cluster", "via", client.Addrs())
			if _, err := s.pool.Join(resp.GossipSeeds); err != nil {
				s.logger.Warn("join gossip", "err", err)
			}
			return
		}
		s.logger.Warn("join the cluster failed; retrying", "err", err, "in", wait.Next())
		if wait.Wait(ctx) != nil {
			return
		}
	}
}

// metricsLoop refreshes the leader's gauges (DM publishes worker and shard-DDL state from the
// leader only).
func (s *Server) metricsLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.metrics.workerState.Reset()
		s.metrics.ddlState.Reset()
		tasks := s.state.Tasks()
		s.metrics.refreshTasks(tasks)
		if !s.isLeader() {
			continue
		}
		for _, w := range s.workerList() {
			s.metrics.workerState.WithLabelValues(w.Name).Set(stageMetric(w.stage))
		}
		s.refreshShardMetrics(tasks)
	}
}
