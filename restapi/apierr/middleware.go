package apierr

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/dm-oss/dm/fsm"
)

// Recover turns a panic in next into a 500 answer with the template, and logs it with its
// stack. http.ErrAbortHandler is re-raised: it asks net/http to drop the connection (the
// reverse proxy uses it when a proxied body breaks off).
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
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
					"method", r.Method, "path", Clip(r.URL.Path),
					"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
				WriteError(w, Errorf(http.StatusInternalServerError, fsm.CodeInternal,
					"internal error while serving %s %s (a bug; details are in the server's log)", r.Method, Clip(r.URL.Path)))
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// Routes serves mux, answering the requests it has no route for with the template: 404, and
// 405 with the Allow header, instead of net/http's plain text. Its redirects to a cleaned path
// pass unchanged.
func Routes(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // sets the path values h reads
			return
		}
		var rec recorder
		h.ServeHTTP(&rec, r)
		switch rec.status {
		case http.StatusNotFound:
			WriteError(w, Errorf(http.StatusNotFound, fsm.CodeRequestInvalid, "no route matches %s %s", r.Method, Clip(r.URL.Path)))
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.Header().Get("Allow"))
			WriteError(w, Errorf(http.StatusMethodNotAllowed, fsm.CodeRequestInvalid, "method %s is not allowed on %s", r.Method, Clip(r.URL.Path)))
		default:
			for k, vs := range rec.Header() {
				w.Header()[k] = vs
			}
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.body.Bytes())
		}
	})
}

// recorder keeps the small answer of one of ServeMux's own handlers (not found, method not
// allowed, redirect).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header {
	if r.header == nil {
		r.header = http.Header{}
	}
	return r.header
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// maxLogged is how much of a client-given string (a path, a name) a log line or an error
// message repeats.
const maxLogged = 128

// Clip returns s, or its first bytes and its length when it is long: names and paths sent by
// clients go into logs and messages bounded.
func Clip(s string) string {
	if len(s) <= maxLogged {
		return s
	}
	return strings.ToValidUTF8(s[:maxLogged], "") + "...(" + strconv.Itoa(len(s)) + " bytes)"
}
