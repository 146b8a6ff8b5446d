package restapi

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/apierr"
)

// Role is what an API token may do.
type Role int

// The roles of an API token file.
const (
	// RoleRead may read: GET, HEAD and OPTIONS.
	RoleRead Role = iota + 1
	// RoleAdmin may do everything.
	RoleAdmin
)

// MinTokenLen is the shortest token a token file may hold.
const MinTokenLen = 16

// Tokens are the API tokens of a token file (api-token-path), kept as SHA-256 digests only.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	digest [sha256.Size]byte
	role   Role
}

// LoadTokens reads a token file; see ParseTokens.
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("api-token-path: %w", err)
	}
	defer f.Close()
	tokens, err := ParseTokens(f)
	if err != nil {
		return nil, fmt.Errorf("api-token-path %s: %w", path, err)
	}
	return tokens, nil
}

// ParseTokens reads lines `role token`: role is admin or read, token at least MinTokenLen
// printable characters without spaces; blank lines and lines starting with # are skipped.
// A file without tokens, or with a token twice, is an error. Errors name lines, never tokens.
func ParseTokens(r io.Reader) (*Tokens, error) {
	t := &Tokens{}
	seen := map[[sha256.Size]byte]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: want `role token` (role admin or read)", n)
		}
		var role Role
		switch fields[0] {
		case "admin":
			role = RoleAdmin
		case "read":
			role = RoleRead
		default:
			return nil, fmt.Errorf("line %d: role %q: want admin or read", n, apierr.Clip(fields[0]))
		}
		token := fields[1]
		if len(token) < MinTokenLen || strings.IndexFunc(token, func(c rune) bool { return c < '!' || c > '~' }) >= 0 {
			return nil, fmt.Errorf("line %d: a token is at least %d printable ASCII characters", n, MinTokenLen)
		}
		digest := sha256.Sum256([]byte(token))
		if seen[digest] {
			return nil, fmt.Errorf("line %d: the token is listed twice", n)
		}
		seen[digest] = true
		t.entries = append(t.entries, tokenEntry{digest: digest, role: role})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("no tokens (lines `role token`)")
	}
	return t, nil
}

// role returns the role of token, 0 for an unknown one. It compares the token's digest with
// every entry, in time that does not depend on the token or on which entry matches.
func (t *Tokens) role(token string) Role {
	digest := sha256.Sum256([]byte(token))
	role := 0
	for _, e := range t.entries {
		role = subtle.ConstantTimeSelect(subtle.ConstantTimeCompare(digest[:], e.digest[:]), int(e.role), role)
	}
	return Role(role)
}

// RequireToken is the API's authentication, a middleware of its own so that the master puts
// it on its route groups next to the members' checks. With tokens nil every request passes.
// Otherwise a request needs `Authorization: Bearer <token>` naming a token of the file (401
// without, or with an unknown one), and a read token only reads (403 for any method but GET,
// HEAD and OPTIONS). public says which requests need no token (the documentation and the
// metrics, when configured so). Refusals are logged without the token.
func RequireToken(tokens *Tokens, public func(*http.Request) bool, logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if tokens == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if public != nil && public(r) {
				next.ServeHTTP(w, r)
				return
			}
			token, given := bearerToken(r)
			role := Role(0)
			if given {
				role = tokens.role(token)
			}
			refuse := func(status int, why, msg string) {
				logger.Warn("API request refused", "reason", why, "method", apierr.Clip(r.Method),
					"path", apierr.Clip(r.URL.Path), "remote", r.RemoteAddr)
				if status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="dm"`)
				}
				WriteError(w, Errorf(status, fsm.CodeOpenAPICommon, "%s", msg))
			}
			switch {
			case !given:
				refuse(http.StatusUnauthorized, "no token",
					"this dm-master requires an API token: send Authorization: Bearer <token> (dmctl: --token or DM_TOKEN)")
			case role == 0:
				refuse(http.StatusUnauthorized, "unknown token", "the API token is not valid")
			case role == RoleRead && !readOnly(r.Method):
				refuse(http.StatusForbidden, "read token on a write",
					fmt.Sprintf("the API token may only read: %s needs an admin token", apierr.Clip(r.Method)))
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// bearerToken returns the token of the request's one Authorization: Bearer header.
func bearerToken(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func readOnly(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// IsDocRequest reports whether r asks for the API's documentation: the Swagger UI page, its
// assets, or the document (dm.json).
func IsDocRequest(r *http.Request) bool {
	if !readOnly(r.Method) {
		return false
	}
	p := r.URL.Path
	return p == "/api/v1/docs" || p == "/api/v1/dm.json" || strings.HasPrefix(p, docAssetsPrefix)
}
