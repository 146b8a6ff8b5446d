package peer

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/restapi/apierr"
)

// HeaderPeerCN carries, from a master that forwards a member's internal request to the leader,
// the Common Name of the certificate the member presented to it (TLS mode). The leader takes it
// only from a caller that TrustForwarder accepts; RequireMember overwrites it on every request.
const HeaderPeerCN = "X-Dm-Peer-Cn"

// AuthOptions configures RequireMember.
type AuthOptions struct {
	// Logger receives the refusals; nil means slog.Default().
	Logger *slog.Logger
	// TrustForwarder reports whether a caller may vouch, in HeaderPeerCN, for the certificate of
	// the member whose request it forwards: a master. Nil trusts nobody (a worker's routes are
	// never forwarded).
	TrustForwarder func(security.Identity) bool
}

type identityKey struct{}

// RequireMember is the authentication of the members' internal routes (a master's
// /internal/v1, a worker's internal routes): a request that does not prove it comes from a
// member (security.Members.Authenticate) gets 401 with the error template (413 or 400 for a
// body too large or broken off before the signature could be checked) and goes no further;
// an accepted one carries its identity in its context (Identity). It is a middleware of its
// own, apart from the OpenAPI's, and sits before the leader forwarding, so a stranger's request
// is never forwarded.
func RequireMember(m *security.Members, opts AuthOptions) func(http.Handler) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := m.Authenticate(r)
			if err != nil {
				logger.Warn("internal request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
				status := http.StatusUnauthorized
				switch {
				case errors.Is(err, security.ErrBodyTooLarge):
					status = http.StatusRequestEntityTooLarge
				case errors.Is(err, security.ErrBodyUnreadable):
					status = http.StatusBadRequest
				}
				apierr.WriteError(w, apierr.Errorf(status, fsm.CodeOpenAPICommon, "%v", err))
				return
			}
			if cn := r.Header.Get(HeaderPeerCN); cn != "" && id.CN != "" && opts.TrustForwarder != nil && opts.TrustForwarder(id) {
				id.CN = cn
			}
			r.Header.Del(HeaderPeerCN)
			if id.CN != "" {
				r.Header.Set(HeaderPeerCN, id.CN)
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
		})
	}
}

// Identity is the caller of an internal request that passed RequireMember.
func Identity(ctx context.Context) (security.Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(security.Identity)
	return id, ok
}

// Forbidden is the answer to a member that asked for what only another member may do.
func Forbidden(err error) error {
	return apierr.Errorf(http.StatusForbidden, fsm.CodeOpenAPICommon, "%w", err)
}
