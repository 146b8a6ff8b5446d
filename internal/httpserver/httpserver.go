// Package httpserver builds the HTTP server of every dm port (masters' and workers'): its
// timeouts, so that a client sending its headers or body slowly is cut instead of holding a
// connection and its goroutines, the one body size limit, and panics answered in the error
// template. Masters and workers share it from here, as they share internal/security.
package httpserver

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"github.com/dm-oss/dm/restapi/apierr"
)

// Timeouts of every dm HTTP server.
const (
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds reading a whole request, body included: a body sent slowly is cut,
	// and its connection closed, after this. At MaxBodyBytes it asks ~140 KB/s of a client.
	// It does not limit how long the handler runs (a long-poll keeps its connection).
	ReadTimeout = 30 * time.Second
	// IdleTimeout closes a kept-alive connection that carries no request for this long.
	IdleTimeout = 2 * time.Minute
)

// Options configures New.
type Options struct {
	// TLS is the server's TLS configuration; nil serves plain HTTP.
	TLS *tls.Config
	// Logger receives panics and net/http's own errors (TLS handshakes that fail, for one).
	Logger *slog.Logger
	// WriteTimeout bounds writing an answer, counted from the end of the request's headers;
	// 0 sets none. It must exceed the longest legitimate call of the port.
	WriteTimeout time.Duration
	// ReadTimeout replaces the package's ReadTimeout when set (tests).
	ReadTimeout time.Duration
}

// New returns the server for handler: the timeouts above, the body limit
// (apierr.LimitBody) and panic recovery (apierr.Recover) around handler.
func New(handler http.Handler, opts Options) *http.Server {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	readTimeout := opts.ReadTimeout
	if readTimeout <= 0 {
		readTimeout = ReadTimeout
	}
	return &http.Server{
		Handler:           apierr.Recover(logger)(apierr.LimitBody(handler)),
		TLSConfig:         opts.TLS,
		ReadHeaderTimeout: min(ReadHeaderTimeout, readTimeout),
		ReadTimeout:       readTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.With("component", "http").Handler(), slog.LevelInfo),
	}
}
