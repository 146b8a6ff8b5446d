package restapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/apierr"
)

// Headers set by ForwardToLeader.
const (
	// HeaderMaster names the master that served the response (set on every response).
	HeaderMaster = "X-Dm-Master"
	// HeaderForwardedBy names the follower that forwarded the request to the leader.
	HeaderForwardedBy = "X-Dm-Forwarded-By"
	// HeaderWarning carries one precheck warning of a created task (repeated for several).
	HeaderWarning = "X-Dm-Warning"
	// HeaderForwarded is set on a forwarded request to the name of the forwarding master;
	// a master that is not the leader refuses such a request instead of forwarding it again.
	HeaderForwarded = "X-Dm-Forwarded"
)

// DefaultLeaderWait is how long ForwardToLeader waits for a leader by default.
const DefaultLeaderWait = 5 * time.Second

// ForwardOptions configures ForwardToLeader.
type ForwardOptions struct {
	// SelfName is this master's name, used in the X-Dm-* headers.
	SelfName string
	// TLS is the client TLS configuration for talking to the leader; nil means plain http.
	TLS *tls.Config
	// LeaderWait bounds the wait for a known leader; 0 means DefaultLeaderWait.
	LeaderWait time.Duration
	// Logger receives forwarding failures; nil means slog.Default().
	Logger *slog.Logger
}

// leaderKey carries the leader a request is forwarded to, from the middleware to the proxy.
type leaderKey struct{}

// clientBodyKey carries the request's *clientBody to the proxy's error handler.
type clientBodyKey struct{}

// ForwardToLeader returns a middleware that serves the request locally when this master
// is the leader and otherwise reverse-proxies it unchanged (method, path, raw query, body
// and headers) to the leader's APIAddr. It is the project's one forwarding path.
//
//   - The leader lookup waits at most LeaderWait; no leader in time answers 503.
//   - Every response carries X-Dm-Master (the master that served it); a proxied response
//     also carries X-Dm-Forwarded-By (the follower that forwarded it).
//   - A request that was already forwarded once (X-Dm-Forwarded) and reaches a master
//     that is not the leader answers 503 instead of being forwarded again.
//   - An unreachable leader answers 503; a request body that cannot be read (it breaks off,
//     comes too slowly, is too large) is answered 400 or 413, as by the leader.
//
// The proxy adds no timeout of its own and flushes immediately, so long polls work.
func ForwardToLeader(b Backend, opts ForwardOptions) func(http.Handler) http.Handler {
	if opts.LeaderWait <= 0 {
		opts.LeaderWait = DefaultLeaderWait
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	scheme := "http"
	if opts.TLS != nil {
		scheme = "https"
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			leader, _ := pr.In.Context().Value(leaderKey{}).(Leader)
			pr.SetURL(&url.URL{Scheme: scheme, Host: leader.APIAddr})
			pr.Out.Host = pr.In.Host // transparent: the leader sees the host the client used
			pr.SetXForwarded()
			pr.Out.Header.Set(HeaderForwarded, opts.SelfName)
		},
		Transport:     newProxyTransport(opts.TLS),
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ModifyResponse: func(resp *http.Response) error {
			if resp.Header.Get(HeaderMaster) == "" {
				leader, _ := resp.Request.Context().Value(leaderKey{}).(Leader)
				resp.Header.Set(HeaderMaster, leader.Name)
			}
			resp.Header.Set(HeaderForwardedBy, opts.SelfName)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			leader, _ := r.Context().Value(leaderKey{}).(Leader)
			if body, _ := r.Context().Value(clientBodyKey{}).(*clientBody); body != nil && body.failure() != nil {
				// The client's body broke off, was too slow or too large: its fault, answered
				// as the leader would have answered it.
				logger.Info("the request body could not be read; not forwarded",
					"leader", leader.Name, "method", r.Method, "path", apierr.Clip(r.URL.Path), "err", body.failure())
				w.Header().Set(HeaderMaster, opts.SelfName)
				WriteError(w, apierr.BodyError(body.failure()))
				return
			}
			if r.Context().Err() != nil {
				// The client went away; nobody reads this answer.
				logger.Debug("forwarding to the leader canceled by the client",
					"leader", leader.Name, "method", r.Method, "path", apierr.Clip(r.URL.Path), "err", err)
			} else {
				logger.Warn("forwarding to the leader failed",
					"leader", leader.Name, "leader_addr", leader.APIAddr,
					"method", r.Method, "path", apierr.Clip(r.URL.Path), "err", err)
			}
			w.Header().Set(HeaderMaster, opts.SelfName)
			WriteError(w, Errorf(http.StatusServiceUnavailable, fsm.CodeNoLeader,
				"forwarding the request to the leader %s (%s) failed, retry later: %w", leader.Name, leader.APIAddr, err))
		},
	}

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), opts.LeaderWait)
			leader, err := b.Leader(ctx)
			cancel()
			if err == nil && !leader.Self && leader.APIAddr == "" {
				err = fmt.Errorf("leader %q has no API address: %w", leader.Name, ErrNoLeader)
			}
			if err != nil {
				w.Header().Set(HeaderMaster, opts.SelfName)
				if r.Context().Err() != nil {
					WriteError(w, Errorf(http.StatusServiceUnavailable, fsm.CodeNoLeader,
						"request canceled while waiting for the leader: %w", r.Context().Err()))
					return
				}
				if !errors.Is(err, ErrNoLeader) {
					err = fmt.Errorf("%w: waited up to %s for the leader: %w", ErrNoLeader, opts.LeaderWait, err)
				}
				logger.Warn("no leader to serve the request", "method", r.Method, "path", apierr.Clip(r.URL.Path), "err", err)
				WriteError(w, err)
				return
			}
			if leader.Self {
				w.Header().Set(HeaderMaster, opts.SelfName)
				next.ServeHTTP(w, r)
				return
			}
			if by := r.Header.Get(HeaderForwarded); by != "" {
				w.Header().Set(HeaderMaster, opts.SelfName)
				logger.Warn("refusing to forward an already forwarded request",
					"forwarded_by", apierr.Clip(by), "leader", leader.Name, "method", r.Method, "path", apierr.Clip(r.URL.Path))
				WriteError(w, Errorf(http.StatusServiceUnavailable, fsm.CodeNoLeader,
					"the leader changed while the request was being forwarded (by %s; %s is not the leader, %s is), retry",
					apierr.Clip(by), opts.SelfName, leader.Name))
				return
			}
			// The proxy copies the leader's headers in; do not let ours duplicate them.
			w.Header().Del(HeaderMaster)
			w.Header().Del(HeaderForwardedBy)
			ctx = context.WithValue(r.Context(), leaderKey{}, leader)
			if r.Body != nil && r.Body != http.NoBody {
				body := &clientBody{ReadCloser: r.Body}
				r.Body = body
				ctx = context.WithValue(ctx, clientBodyKey{}, body)
			}
			proxy.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// newProxyTransport is a transport for the leader proxy: connection and TLS handshake
// timeouts only, nothing that would cut a long-running request short.
func newProxyTransport(tlsConfig *tls.Config) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 nil, // masters talk to each other directly
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig.Clone()
	}
	return t
}

// clientBody is the client's request body on its way to the leader. It keeps the first error
// reading it, so that the proxy tells a body that broke off, came too slowly or went past
// apierr.MaxBodyBytes (the client's fault: 400 or 413, as the leader answers) from a leader
// that cannot be reached (503).
type clientBody struct {
	io.ReadCloser
	mu  sync.Mutex
	err error
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// failure is the first error reading the body, nil when there was none.
func (b *clientBody) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
