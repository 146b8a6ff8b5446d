package restapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/go-chi/chi/v5/middleware"
)

// accessLog logs one line per request: method, path, status and duration, at Info for
// statuses below 400, Warn for 4xx and Error for 5xx. Request bodies are never logged
// (they carry passwords).
func accessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				status := ww.Status()
				if status == 0 {
					status = http.StatusOK // nothing written: net/http answers 200
				}
				level := slog.LevelInfo
				switch {
				case status >= 500:
					level = slog.LevelError
				case status >= 400:
					level = slog.LevelWarn
				}
				attrs := []slog.Attr{
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Duration("duration", time.Since(start)),
					slog.Int("bytes", ww.BytesWritten()),
					slog.String("remote", r.RemoteAddr),
				}
				if ww.Header().Get(HeaderForwardedBy) != "" {
					// Proxied: name the leader that served it.
					attrs = append(attrs, slog.String("served_by", ww.Header().Get(HeaderMaster)))
				}
				logger.LogAttrs(r.Context(), level, "openapi request", attrs...)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// recoverer turns a panic in a handler into a 500 answer with the error template and logs
// it with the stack. http.ErrAbortHandler is re-raised: it asks net/http to drop the
// connection (the reverse proxy uses it when a proxied body breaks off).
func recoverer(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				rec := recover()
				if rec == nil {
					return
				}
				if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
					panic(rec)
				}
				logger.Error("panic while serving a request",
					"method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
				WriteError(w, Errorf(http.StatusInternalServerError, fsm.CodeInternal,
					"internal error while serving %s %s (a bug; details are in the dm-master log)", r.Method, r.URL.Path))
			}()
			next.ServeHTTP(w, r)
		})
	}
}
