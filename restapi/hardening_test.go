package restapi

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/apierr"
)

// newLimitedServer serves Handler(b) behind the body limit, as every dm port does.
func newLimitedServer(t *testing.T, b Backend, name string) *httptest.Server {
	t.Helper()
	logger, _ := testLogger(t)
	srv := httptest.NewServer(apierr.LimitBody(Handler(b, Options{SelfName: name, Logger: logger})))
	t.Cleanup(srv.Close)
	return srv
}

func TestTrailingJSONIsRefused(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	for _, body := range []string{
		validSource + validSource,
		validSource + `{"source_name":"other"}`,
		validSource + ` trailing`,
		validSource + `]`,
	} {
		resp := do(t, srv.Client(), "POST", srv.URL+"/api/v1/sources", body, nil)
		msg := requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
		require.Contains(t, msg, "after the JSON value")
	}
	// The same body alone passes validation (the fake backend then answers 501).
	resp := do(t, srv.Client(), "POST", srv.URL+"/api/v1/sources", validSource+"\n", nil)
	requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
	// So does a body sent as curl -d sends it.
	resp = do(t, srv.Client(), "POST", srv.URL+"/api/v1/sources", validSource+validSource,
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
}

// oversized is a source whose padding field takes it past the body limit.
func oversized() string {
	return strings.TrimSuffix(validSource, "}") + `,"pad":"` + strings.Repeat("x", apierr.MaxBodyBytes) + `"}`
}

func TestOversizedBodyIs413OnLeaderAndFollower(t *testing.T) {
	lb := selfLeader("leader")
	leader := newRecordingLeader(t, lb)
	limitedLeader := newLimitedServer(t, lb, "leader")
	follower := newLimitedServer(t, followerOf("leader", leader.srv.Listener.Addr().String()), "follower")

	for _, srv := range []*httptest.Server{limitedLeader, follower} {
		// Declared with Content-Length.
		resp := do(t, srv.Client(), "POST", srv.URL+"/api/v1/sources", oversized(), nil)
		requireErrorBody(t, resp, http.StatusRequestEntityTooLarge, fsm.CodeRequestInvalid)
		// Streamed (chunked): cut while it is read, on the follower while it is forwarded.
		req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/api/v1/sources", io.MultiReader(strings.NewReader(oversized())))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		r, err := srv.Client().Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		requireErrorBody(t, response{status: r.StatusCode, header: r.Header, body: body}, http.StatusRequestEntityTooLarge, fsm.CodeRequestInvalid)
	}
	// A legitimate body still goes through the follower to the leader.
	resp := do(t, follower.Client(), "POST", follower.URL+"/api/v1/sources", validSource, nil)
	requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
	require.Equal(t, "leader", resp.header.Get(HeaderMaster))
}

// rawRequest sends head and the first part of a body on a fresh connection, closes the
// sending side, and returns the status line and body of the answer.
func rawRequest(t *testing.T, addr, head, body string) (string, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, head+body)
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.Status, string(answer)
}

// TestBrokenBodyThroughFollowerIsTheClientsError: a body that ends before its Content-Length
// is a 400 from the leader, and the same 400 through a follower, not a 503 blaming the leader.
func TestBrokenBodyThroughFollowerIsTheClientsError(t *testing.T) {
	leader, _ := newTestServer(t, selfLeader("leader"), "leader")
	follower, logs := newFollower(t, followerOf("leader", leader.Listener.Addr().String()), 0)
	head := "POST /api/v1/sources HTTP/1.1\r\nHost: dm\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
	half := validSource[:20]

	for _, addr := range []string{leader.Listener.Addr().String(), follower.Listener.Addr().String()} {
		status, body := rawRequest(t, addr, head, half)
		require.True(t, strings.HasPrefix(status, "400"), "%s: %s %s", addr, status, body)
		require.Contains(t, body, `"error_code":0`)
		require.Contains(t, body, "request body")
	}
	require.Contains(t, logs.String(), "not forwarded")
	require.NotContains(t, logs.String(), "forwarding to the leader failed")
}

func TestLongPathsAreClippedInLogsAndAnswers(t *testing.T) {
	srv, logs := newTestServer(t, selfLeader("m1"), "m1")
	long := strings.Repeat("n", 20000)
	resp := do(t, srv.Client(), "GET", srv.URL+"/api/v1/nope/"+long, "", nil)
	msg := requireErrorBody(t, resp, http.StatusNotFound, fsm.CodeRequestInvalid)
	require.NotContains(t, msg, long[:1000])
	require.NotContains(t, logs.String(), long[:1000])
	require.Contains(t, logs.String(), "bytes)")
}
