package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/httpserver"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/master/store"
	"github.com/dm-oss/dm/membership"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/dm-oss/dm/restapi/peer"
)

// writeTimeout bounds writing an answer on the master's port. It is above the longest
// legitimate call: a worker's desired-state long-poll (at most maxDesiredWait), a task created
// with its prechecks, each forwarded by a follower; dmctl itself waits 10 minutes.
const writeTimeout = 10 * time.Minute

// Server is one dm-master process.
type Server struct {
	cfg    Config
	res    resolved
	logger *slog.Logger

	store *store.Store
	// state is store.FSM(), read here; every write goes through s.apply.
	state   *fsm.FSM
	pool    *membership.Pool
	live    *liveness
	metrics *metrics
	// members authenticates this master to the others and them to it, on every port.
	members *security.Members
	// secrets encrypts and decrypts the cluster's secrets; see keys.go.
	secrets security.Secrets
	keys    keyState
	workers *peer.Client // calls to workers (status)

	schedWake chan struct{}
	// schedMu makes scheduling rounds one at a time (the loop's, and a source creation's,
	// which binds the new source before answering, as DM does).
	schedMu sync.Mutex

	taskCreates keyLock // one POST /tasks per task name at a time

	listener net.Listener
	httpSrv  *http.Server

	wg sync.WaitGroup
}

// New checks the configuration; it starts nothing.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	res, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("dm-master config: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{cfg: cfg, res: res, logger: logger.With("master", cfg.Name)}
	s.members, err = security.NewMembers(security.MemberConfig{
		Name: cfg.Name, SecretKey: res.secretKey,
		SSLCA: cfg.SSLCA, SSLCert: cfg.SSLCert, SSLKey: cfg.SSLKey, CertAllowedCN: cfg.CertAllowedCN,
	})
	if err != nil {
		return nil, fmt.Errorf("dm-master config: %w", err)
	}
	if warning := s.members.OpenWarning(); warning != "" {
		s.logger.Warn(warning)
	}
	for _, w := range res.api.warnings(cfg.APITokenPath, cfg.APITokenPublic) {
		s.logger.Warn(w)
	}
	s.workers = peer.NewWorkerClient(s.members)
	s.schedWake = make(chan struct{}, 1)
	return s, nil
}

// APIAddr is the address the HTTP server listens on (valid after Start).
func (s *Server) APIAddr() string { return s.listener.Addr().String() }

// Start brings the node up: API listener, gossip, Raft, background loops. It returns once
// everything listens; the cluster may still be electing a leader.
func (s *Server) Start(ctx context.Context) error {
	if err := os.MkdirAll(s.res.dataDir, 0o700); err != nil {
		return fmt.Errorf("create data-dir: %w", err)
	}
	ln, err := net.Listen("tcp", s.res.apiListen)
	if err != nil {
		return fmt.Errorf("listen on master-addr %s: %w", s.res.apiListen, err)
	}
	s.listener = ln

	s.pool, err = membership.Start(membership.Config{
		Meta: membership.Meta{
			Role: membership.RoleMaster, Name: s.cfg.Name,
			APIAddr: s.res.apiAdvertise, PeerAddr: s.res.raftAdvertise,
		},
		BindAddr:      s.res.gossipBind,
		AdvertiseAddr: s.res.gossipAdv,
		Logger:        s.logger,
		Key:           s.members.GossipKey(),
		Sealed:        s.members.GossipNeedsClusterKey(),
	})
	if err != nil {
		ln.Close()
		return err
	}
	s.live = newLiveness(s.pool, time.Now)
	s.metrics = newMetrics()

	peerServer, peerClient := s.members.PeerTLS()
	s.store, err = store.Open(store.Config{
		ID: s.cfg.Name, Dir: filepath.Join(s.res.dataDir, "raft"),
		BindAddr: s.res.raftBind, AdvertiseAddr: s.res.raftAdvertise, InitialCluster: s.res.initial,
		OnLeader: s.onLeader, Logger: s.logger,
		ServerTLS: peerServer, ClientTLS: peerClient, Recover: s.res.recover,
	})
	if err != nil {
		ln.Close()
		_ = s.pool.Shutdown()
		return err
	}
	s.state = s.store.FSM()
	s.refreshKeys()
	existing := s.store.ExistingState()
	s.logger.Info("dm-master started", "api", s.res.apiAdvertise, "raft", s.res.raftAdvertise,
		"gossip", s.pool.Addr(), "data_dir", s.res.dataDir, "existing_state", existing, "openapi", s.res.openAPI,
		"security", s.members.Mode().String())

	s.httpSrv = httpserver.New(s.routes(), httpserver.Options{TLS: s.members.ServerTLS(), Logger: s.logger, WriteTimeout: writeTimeout})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var err error
		if s.members.ServerTLS() != nil {
			err = s.httpSrv.ServeTLS(ln, "", "")
		} else {
			err = s.httpSrv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("HTTP server stopped", "err", err)
		}
	}()

	loops := []func(context.Context){s.leaderLoop, s.gossipLoop, s.discoveryLoop, s.metricsLoop, s.schedulerLoop, s.keyLoop}
	if !existing && len(s.res.join) > 0 {
		loops = append(loops, s.joinLoop)
	}
	for _, loop := range loops {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			loop(ctx)
		}()
	}
	return nil
}

// Stop leaves the gossip pool, stops serving and shuts Raft down. It keeps this master in the
// Raft configuration: a stopped master is expected back.
func (s *Server) Stop() error {
	if err := s.pool.Leave(2 * time.Second); err != nil {
		s.logger.Warn("leave gossip", "err", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.httpSrv.Shutdown(shutCtx)
	err := s.store.Close()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("stop raft: %w", err)
	}
	return nil
}

// routes is the master's port. Each group of routes gets its checks here, side by side.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	fwd := restapi.ForwardToLeader(s, restapi.ForwardOptions{SelfName: s.cfg.Name, TLS: s.members.ClientTLS(), Logger: s.logger})
	// Members only, checked before forwarding: a stranger's request goes no further.
	member := peer.RequireMember(s.members, peer.AuthOptions{Logger: s.logger, TrustForwarder: s.trustForwarder})
	// API tokens (api-token-path): /api/v1 and /metrics, minus what api-token-public opens, and
	// the dashboard's files, which hold no data.
	apiAuth := restapi.RequireToken(s.res.api.tokens, s.res.api.public, s.logger)
	mux.Handle("GET /metrics", apiAuth(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /status", s.handleStatus)
	mux.Handle("/internal/v1/", member(fwd(s.peerRoutes())))
	if s.res.openAPI {
		// The handler routes on full /api/v1/... paths itself.
		api := apiAuth(restapi.Handler(s, restapi.Options{SelfName: s.cfg.Name, TLS: s.members.ClientTLS(), Logger: s.logger}))
		mux.Handle("/api/v1/", api)
		// The dashboard is a client of the API served with it: same forwarding, same tokens.
		mux.Handle(restapi.DashboardPath, api)
	}
	return apierr.Routes(mux)
}

// handleStatus is a cheap local health answer (no forwarding): who am I, whom do I follow.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	leaderID, _ := s.store.Leader()
	restapi.WriteJSON(w, http.StatusOK, map[string]any{
		"name":       s.cfg.Name,
		"raft_state": s.store.RaftState(),
		"leader":     leaderID,
		"index":      s.state.Index(),
	})
}

// apply replicates one command through the store and returns the FSM's verdict: an *fsm.Error
// for a rejected command; restapi.ErrNoLeader (wrapping store.ErrNotLeader) when this node does
// not lead or lost leadership on the way.
func (s *Server) apply(ctx context.Context, cmd fsm.Command) (uint64, error) {
	index, err := s.store.Apply(ctx, cmd)
	if errors.Is(err, store.ErrNotLeader) {
		return index, fmt.Errorf("%w: %w", restapi.ErrNoLeader, err)
	}
	return index, err
}

// isLeader reports whether this node leads and has caught up with the log.
func (s *Server) isLeader() bool { return s.store.IsLeader() }

// onLeader runs on winning an election, after the store's Barrier and before isLeader turns
// true: the leader's counter, and a fresh grace period for workers this node has not seen.
func (s *Server) onLeader() {
	s.metrics.startLeader.Inc()
	s.live.resetClock()
}

// masterRecord is how this master describes itself in the FSM.
func (s *Server) masterRecord() fsm.Master {
	return fsm.Master{Name: s.cfg.Name, APIAddr: s.res.apiAdvertise, PeerAddr: s.res.raftAdvertise, GossipAddr: s.pool.Addr()}
}

// gossipSeeds lists the masters' gossip addresses known to the FSM (and our own).
func (s *Server) gossipSeeds() []string {
	seeds := []string{s.pool.Addr()}
	for _, m := range s.state.Masters() {
		if m.GossipAddr != "" && m.Name != s.cfg.Name {
			seeds = append(seeds, m.GossipAddr)
		}
	}
	return seeds
}
