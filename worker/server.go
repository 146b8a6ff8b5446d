package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dm-oss/dm/internal/backoff"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/internal/httpserver"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/membership"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/dm-oss/dm/restapi/peer"
)

// desiredWait is how long one long-poll may block on the master.
const desiredWait = 30 * time.Second

// writeTimeout bounds writing an answer on the worker's port: every call it serves (status,
// metrics, a schema change saved within 10 s) is short.
const writeTimeout = time.Minute

// Server is one dm-worker process.
type Server struct {
	cfg    Config
	res    resolved
	logger *slog.Logger

	client *peer.Client
	// members authenticates this worker to the masters and the masters to it.
	members  *security.Members
	pool     *membership.Pool
	metrics  *metrics
	listener net.Listener
	httpSrv  *http.Server

	// secrets decrypts the sources' and targets' secrets: with secret-key-path's key, or the
	// cluster key the masters hand over at registration (keys.go).
	secrets security.Secrets
	source  boundSource
	relayR  relayRunner
	desired atomic.Pointer[peer.DesiredState]

	// relayHub wakes the subtasks' relay readers as soon as this worker's relay writes.
	relayHub *relay.Hub

	// lease stops the subtasks when no master has answered for most of keepalive-ttl (lease.go).
	lease *lease

	runnersMu sync.Mutex
	runners   map[string]*runner // subtasks of the bound source, by task name
	wg        sync.WaitGroup
}

// New checks the configuration; it starts nothing.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	res, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("dm-worker config: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	members, err := security.NewMembers(security.MemberConfig{
		Name: cfg.Name, SecretKey: res.secretKey,
		SSLCA: cfg.SSLCA, SSLCert: cfg.SSLCert, SSLKey: cfg.SSLKey, CertAllowedCN: cfg.CertAllowedCN,
	})
	if err != nil {
		return nil, fmt.Errorf("dm-worker config: %w", err)
	}
	client, err := peer.NewClient(res.join, members)
	if err != nil {
		return nil, fmt.Errorf("dm-worker config: join: %w", err)
	}
	s := &Server{cfg: cfg, res: res, logger: logger.With("worker", cfg.Name), client: client, members: members, relayHub: relay.NewHub()}
	if res.secretKey != nil {
		c, err := security.NewCipher(res.secretKey)
		if err != nil {
			return nil, fmt.Errorf("dm-worker config: %w", err)
		}
		s.secrets.Set(c)
	}
	if warning := members.OpenWarning(); warning != "" {
		s.logger.Warn(warning)
	}
	s.metrics = newMetrics()
	s.metrics.operateError.WithLabelValues(s.cfg.Name, operationStartRelay)
	s.runners = map[string]*runner{}
	s.lease = newLease(time.Duration(cfg.KeepaliveTTL) * time.Second)
	return s, nil
}

// Start listens, joins gossip and starts following the masters. Registration happens in the
// background and is retried until a master answers.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.res.listen)
	if err != nil {
		return fmt.Errorf("listen on worker-addr %s: %w", s.res.listen, err)
	}
	s.listener = ln
	s.pool, err = membership.Start(membership.Config{
		Meta:          membership.Meta{Role: membership.RoleWorker, Name: s.cfg.Name, APIAddr: s.res.advertise},
		BindAddr:      s.res.gossipBind,
		AdvertiseAddr: s.cfg.AdvertiseGossipAddr,
		Logger:        s.logger,
		Key:           s.members.GossipKey(),
		Sealed:        s.members.GossipNeedsClusterKey(),
	})
	if err != nil {
		ln.Close()
		return err
	}
	s.httpSrv = httpserver.New(s.routes(), httpserver.Options{TLS: s.members.ServerTLS(), Logger: s.logger, WriteTimeout: writeTimeout})
	s.wg.Add(5)
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
	go func() {
		defer s.wg.Done()
		s.follow(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.purgeLoop(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.watchLease(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.metricsLoop(ctx)
	}()
	s.logger.Info("dm-worker started", "addr", s.res.advertise, "gossip", s.pool.Addr(), "masters", s.client.Addrs(),
		"security", s.members.Mode().String())
	return nil
}

// routes are the worker's HTTP routes: metrics and a health answer for anyone, the internal
// routes (the masters' calls, with the full report) for members only.
func (s *Server) routes() http.Handler {
	internal := http.NewServeMux()
	internal.HandleFunc("GET "+peer.PathWorkerStatus, s.handleStatus)
	s.schemaRoutes(internal)
	s.relayRoutes(internal)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gathererFunc(s.metrics.gatherers), promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /status", s.handleHealth)
	mux.Handle("/internal/v1/", peer.RequireMember(s.members, peer.AuthOptions{Logger: s.logger})(apierr.Routes(internal)))
	return apierr.Routes(mux)
}

// Stop says goodbye to the pool (the masters mark this worker offline at once) and stops.
func (s *Server) Stop() error {
	if err := s.pool.Leave(2 * time.Second); err != nil {
		s.logger.Warn("leave gossip", "err", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.httpSrv.Shutdown(shutCtx)
	s.wg.Wait()
	s.stopAllRunners()
	s.relayR.mu.Lock()
	s.relayR.stopLocked()
	s.relayR.mu.Unlock()
	s.closeSource()
	if err != nil {
		return fmt.Errorf("stop HTTP server: %w", err)
	}
	return nil
}

// Desired returns the last desired state received (nil before the first one).
func (s *Server) Desired() *peer.DesiredState { return s.desired.Load() }

// follow registers, then long-polls the desired state forever, re-registering whenever the
// masters have forgotten this worker (deleted while it was offline, or a wiped cluster).
func (s *Server) follow(ctx context.Context) {
	var index uint64
	registered := false
	wait := newBackoff()
	for ctx.Err() == nil {
		if !registered {
			if err := s.register(ctx); err != nil {
				s.logger.Warn("register with the masters failed; retrying", "err", err)
				wait.Wait(ctx)
				continue
			}
			registered = true
			wait.Reset()
		}
		sent := time.Now()
		st, err := s.client.WatchDesired(ctx, s.cfg.Name, index, s.lease.pollWait())
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("desired-state feed failed; retrying", "err", err)
				wait.Wait(ctx)
			}
			continue
		}
		wait.Reset()
		if s.lease.renew(sent) {
			s.logger.Info("a dm-master answers again: lease renewed, applying the desired state")
			index = 0 // apply it even if it has not changed: the subtasks were stopped
		}
		s.joinSeeds(st.GossipSeeds)
		if !st.View.Registered {
			s.logger.Info("the masters do not know this worker (any more); registering again")
			registered = false
			index = 0
			continue
		}
		if st.View.Index != index {
			s.apply(ctx, st)
			index = st.View.Index
		}
	}
}

func (s *Server) register(ctx context.Context) error {
	resp, err := s.client.RegisterWorker(ctx, peer.RegisterWorkerRequest{
		Name: s.cfg.Name, Addr: s.res.advertise, GossipAddr: s.pool.Addr(),
		KeepaliveTTL: s.cfg.KeepaliveTTL, RelayKeepaliveTTL: s.cfg.RelayKeepaliveTTL,
	})
	if err != nil {
		var apiErr *apierr.Error
		if errors.As(err, &apiErr) {
			return fmt.Errorf("the masters refused the registration: %w", err)
		}
		return err
	}
	s.logger.Info("registered with the masters", "index", resp.Index)
	if err := s.fetchKeys(ctx); err != nil {
		return err
	}
	s.joinSeeds(resp.GossipSeeds)
	return nil
}

// joinSeeds joins the masters' gossip addresses this worker does not see yet.
func (s *Server) joinSeeds(seeds []string) {
	var missing []string
	for _, a := range seeds {
		if a != "" && !s.pool.Knows(a) {
			missing = append(missing, a)
		}
	}
	if len(missing) == 0 {
		return
	}
	if _, err := s.pool.Join(missing); err != nil {
		s.logger.Warn("join gossip", "seeds", missing, "err", err)
	}
}

// apply takes a new desired state and reconciles what runs with it.
func (s *Server) apply(ctx context.Context, st peer.DesiredState) {
	prev := s.desired.Swap(&st)
	bound := ""
	if st.View.Bound != nil {
		bound = st.View.Bound.Name
	}
	prevBound := ""
	if prev != nil && prev.View.Bound != nil {
		prevBound = prev.View.Bound.Name
	}
	if bound != prevBound {
		s.logger.Info("source binding changed", "from", prevBound, "to", bound)
	}
	s.reconcileSource(ctx, st.View.Bound)
	s.reconcileRelay(ctx, st.View)
	s.reconcileSubtasks(ctx, st.View)
	s.logger.Debug("desired state", "index", st.View.Index, "subtasks", len(st.View.Subtasks))
}

// handleHealth is the worker's public health answer: who it is and whether the masters accepted
// it; what it runs is for members (handleStatus).
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	out := struct {
		Name       string `json:"name"`
		Registered bool   `json:"registered"`
		Index      uint64 `json:"index"`
	}{Name: s.cfg.Name}
	if st := s.desired.Load(); st != nil {
		out.Registered, out.Index = st.View.Registered, st.View.Index
	}
	apierr.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	out := peer.WorkerStatus{Name: s.cfg.Name}
	if st := s.desired.Load(); st != nil {
		out.Registered = st.View.Registered
		out.Index = st.View.Index
	}
	out.BoundSource, out.SourceError = s.sourceState()
	out.Subtasks = s.subtaskStatuses()
	out.Relay = s.relayStatus(r.Context())
	apierr.WriteJSON(w, http.StatusOK, out)
}

// newBackoff is the worker's wait between attempts to reach the masters: 200 ms doubling up
// to 5 s.
func newBackoff() *backoff.Backoff {
	return &backoff.Backoff{First: 200 * time.Millisecond, Max: 5 * time.Second}
}

// gathererFunc gathers from a set of registries computed at scrape time.
type gathererFunc func() prometheus.Gatherers

func (f gathererFunc) Gather() ([]*dto.MetricFamily, error) { return f().Gather() }
