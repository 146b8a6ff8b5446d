package restapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/dm-oss/dm/restapi/apierr"
)

// accessLog logs one line per request: method, path, status and duration, at Info for
// statuses below 400, Warn for 4xx and Error for 5xx. Request bodies are never logged
// (they carry passwords), nor headers (a bearer token), and a long path only in part.
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
					slog.String("method", apierr.Clip(r.Method)),
					slog.String("path", apierr.Clip(r.URL.Path)),
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
