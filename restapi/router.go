package restapi

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/go-chi/chi/v5"
)

// Options configures Handler.
type Options struct {
	// SelfName is this master's name.
	SelfName string
	// TLS is the client TLS configuration used to forward requests to the leader;
	// nil means plain http.
	TLS *tls.Config
	// Logger receives the access log and errors; nil means slog.Default().
	Logger *slog.Logger
	// LeaderWait bounds the wait for a known leader; 0 means DefaultLeaderWait.
	LeaderWait time.Duration
}

// Handler returns the handler of the whole DM OpenAPI v1 (paths include the /api/v1
// prefix; mount it at the root). A request goes through the access log, panic recovery,
// leader forwarding, validation against the API document, and then the route's handler.
// /api/v1/docs and /api/v1/dm.json serve the documentation, /dashboard/ the web dashboard
// (mount the handler there too).
func Handler(b Backend, opts Options) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "openapi")

	doc, err := loadSpec(context.Background())
	if err != nil {
		return brokenHandler(logger, err)
	}
	spec, err := newSpecDocument(doc)
	if err != nil {
		return brokenHandler(logger, err)
	}
	validator, err := newRequestValidator(doc, logger)
	if err != nil {
		return brokenHandler(logger, err)
	}
	server := &Server{backend: b, logger: logger, spec: spec}

	r := chi.NewRouter()
	r.Use(
		accessLog(logger),
		apierr.Recover(logger),
		ForwardToLeader(b, ForwardOptions{
			SelfName:   opts.SelfName,
			TLS:        opts.TLS,
			LeaderWait: opts.LeaderWait,
			Logger:     logger,
		}),
	)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, Errorf(http.StatusNotFound, fsm.CodeRequestInvalid, "no API route matches %s %s", apierr.Clip(r.Method), apierr.Clip(r.URL.Path)))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		if allowed := allowedMethods(r, req); len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
		WriteError(w, Errorf(http.StatusMethodNotAllowed, fsm.CodeRequestInvalid,
			"method %s is not allowed on %s", apierr.Clip(req.Method), apierr.Clip(req.URL.Path)))
	})
	r.Get(docAssetsPrefix+"{file}", serveDocAsset)
	routeDashboard(r)
	r.Group(func(g chi.Router) {
		g.Use(validator.middleware)
		HandlerWithOptions(server, ChiServerOptions{
			BaseRouter: g,
			ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
				WriteError(w, Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "%s", err.Error()))
			},
		})
	})
	return r
}

// allowedMethods lists the methods routed for the request's path.
func allowedMethods(mux *chi.Mux, r *http.Request) []string {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if mux.Match(chi.NewRouteContext(), m, path) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// brokenHandler answers every request with 500 when the API could not be built (the
// embedded document is broken: a bug caught by the package tests).
func brokenHandler(logger *slog.Logger, err error) http.Handler {
	logger.Error("the OpenAPI handler cannot be built", "err", err)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, Errorf(http.StatusInternalServerError, fsm.CodeInternal, "the API is unavailable: %w", err))
	})
}
