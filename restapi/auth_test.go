package restapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

const (
	adminToken = "admin-token-0123456789abcdef"
	readToken  = "read-token-0123456789abcdef"
)

func testTokens(t *testing.T) *Tokens {
	t.Helper()
	tokens, err := ParseTokens(strings.NewReader("# dm API tokens\n\nadmin " + adminToken + "\n  read\t" + readToken + "  \n"))
	require.NoError(t, err)
	return tokens
}

func TestParseTokens(t *testing.T) {
	tokens := testTokens(t)
	require.Equal(t, RoleAdmin, tokens.role(adminToken))
	require.Equal(t, RoleRead, tokens.role(readToken))
	require.Equal(t, Role(0), tokens.role(""))
	require.Equal(t, Role(0), tokens.role(adminToken+"x"))
	require.Equal(t, Role(0), tokens.role(strings.ToUpper(adminToken)))

	for content, want := range map[string]string{
		"":                                 "no tokens",
		"# only a comment\n":               "no tokens",
		"admin " + adminToken + " extra\n": "line 1: want `role token`",
		"root " + adminToken + "\n":        `role "root"`,
		"read short\n":                     "at least 16",
		"read " + strings.Repeat("é", 10) + "\n":       "printable ASCII",
		"admin " + adminToken + "\nread " + adminToken: "line 2: the token is listed twice",
	} {
		_, err := ParseTokens(strings.NewReader(content))
		require.ErrorContains(t, err, want, "%q", content)
		require.NotContains(t, err.Error(), adminToken)
	}
}

// authServer serves Handler(b) behind RequireToken, as the master mounts it.
func authServer(t *testing.T, b Backend, name string, public func(*http.Request) bool) (*httptest.Server, *syncBuffer) {
	t.Helper()
	logger, logs := testLogger(t)
	srv := httptest.NewServer(RequireToken(testTokens(t), public, logger)(Handler(b, Options{SelfName: name, Logger: logger})))
	t.Cleanup(srv.Close)
	return srv, logs
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// TestTokenRoles: 401 without a token or with an unknown one, 403 for a read token's write,
// and the legitimate calls of each role pass, on the leader and through a follower, which
// forwards the token.
func TestTokenRoles(t *testing.T) {
	lb := selfLeader("leader")
	lb.masters = []ClusterMaster{{Name: "leader", Addr: "a", Alive: true, Leader: true}}
	leader, leaderLogs := authServer(t, lb, "leader", nil)
	follower, followerLogs := authServer(t, followerOf("leader", leader.Listener.Addr().String()), "follower", nil)

	for _, srv := range []*httptest.Server{leader, follower} {
		get := func(h http.Header) response {
			return do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/masters", "", h)
		}
		resp := get(nil)
		msg := requireErrorBody(t, resp, http.StatusUnauthorized, fsm.CodeOpenAPICommon)
		require.Contains(t, msg, "Bearer")
		require.Equal(t, `Bearer realm="dm"`, resp.header.Get("WWW-Authenticate"))
		requireErrorBody(t, get(bearer("wrong-token-0123456789")), http.StatusUnauthorized, fsm.CodeOpenAPICommon)
		requireErrorBody(t, get(http.Header{"Authorization": {"Basic " + adminToken}}), http.StatusUnauthorized, fsm.CodeOpenAPICommon)
		requireErrorBody(t, get(http.Header{"Authorization": {"Bearer " + readToken, "Bearer " + adminToken}}),
			http.StatusUnauthorized, fsm.CodeOpenAPICommon)

		for _, token := range []string{readToken, adminToken} {
			resp = get(bearer(token))
			require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
			require.Equal(t, "leader", resp.header.Get(HeaderMaster))
		}
		resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/masters", "", http.Header{"Authorization": {"bearer  " + readToken}})
		require.Equal(t, http.StatusOK, resp.status, "the scheme is case-insensitive")

		for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			resp = do(t, srv.Client(), method, srv.URL+"/api/v1/sources", validSource, bearer(readToken))
			msg = requireErrorBody(t, resp, http.StatusForbidden, fsm.CodeOpenAPICommon)
			require.Contains(t, msg, "admin token")
		}
		// The admin token writes (the fake backend answers 501 once it gets there).
		resp = do(t, srv.Client(), "POST", srv.URL+"/api/v1/sources", validSource, bearer(adminToken))
		requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
		require.Equal(t, "leader", resp.header.Get(HeaderMaster))
		// Documentation is protected too unless made public.
		requireErrorBody(t, do(t, srv.Client(), "GET", srv.URL+"/api/v1/dm.json", "", nil), http.StatusUnauthorized, fsm.CodeOpenAPICommon)
		require.Equal(t, http.StatusOK, do(t, srv.Client(), "GET", srv.URL+"/api/v1/dm.json", "", bearer(readToken)).status)
	}
	for _, logs := range []*syncBuffer{leaderLogs, followerLogs} {
		require.Contains(t, logs.String(), "API request refused")
		require.NotContains(t, logs.String(), readToken)
		require.NotContains(t, logs.String(), adminToken)
	}
}

func TestPublicDocs(t *testing.T) {
	srv, _ := authServer(t, selfLeader("m1"), "m1", IsDocRequest)
	for _, path := range []string{"/api/v1/docs", "/api/v1/dm.json", "/api/v1/docs/assets/swagger-ui.css"} {
		resp := do(t, srv.Client(), "GET", srv.URL+path, "", nil)
		require.Equal(t, http.StatusOK, resp.status, "%s: %s", path, resp.body)
	}
	requireErrorBody(t, do(t, srv.Client(), "GET", srv.URL+"/api/v1/tasks", "", nil), http.StatusUnauthorized, fsm.CodeOpenAPICommon)
	requireErrorBody(t, do(t, srv.Client(), "POST", srv.URL+"/api/v1/dm.json", "{}", nil), http.StatusUnauthorized, fsm.CodeOpenAPICommon)
}

func TestNoTokensNoCheck(t *testing.T) {
	logger, _ := testLogger(t)
	srv := httptest.NewServer(RequireToken(nil, nil, logger)(Handler(selfLeader("m1"), Options{SelfName: "m1", Logger: logger})))
	t.Cleanup(srv.Close)
	require.Equal(t, http.StatusOK, do(t, srv.Client(), "GET", srv.URL+"/api/v1/cluster/workers", "", nil).status)
}
