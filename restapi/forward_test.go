package restapi

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

// seenRequest is what the leader received.
type seenRequest struct {
	method, path, rawQuery, host string
	header                       http.Header
	body                         []byte
}

// recordingLeader serves Handler(b) as "leader" and records every request it receives.
type recordingLeader struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

func newRecordingLeader(t *testing.T, b Backend) *recordingLeader {
	t.Helper()
	rl := &recordingLeader{}
	logger, _ := testLogger(t)
	api := Handler(b, Options{SelfName: "leader", Logger: logger})
	rl.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rl.mu.Lock()
		rl.seen = append(rl.seen, seenRequest{
			method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery, host: r.Host,
			header: r.Header.Clone(), body: body,
		})
		rl.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(rl.srv.Close)
	return rl
}

func (rl *recordingLeader) requests() []seenRequest {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return append([]seenRequest(nil), rl.seen...)
}

func followerOf(leaderName, leaderAddr string) *fakeBackend {
	return &fakeBackend{
		leader:  Leader{Name: leaderName, APIAddr: leaderAddr},
		masters: []ClusterMaster{{Name: "from-follower"}},
	}
}

func newFollower(t *testing.T, b Backend, wait time.Duration) (*httptest.Server, *syncBuffer) {
	t.Helper()
	logger, logs := testLogger(t)
	srv := httptest.NewServer(Handler(b, Options{SelfName: "follower", Logger: logger, LeaderWait: wait}))
	t.Cleanup(srv.Close)
	return srv, logs
}

func TestFollowerForwardsTransparently(t *testing.T) {
	lb := selfLeader("leader")
	lb.masters = []ClusterMaster{{Name: "leader", Addr: "a", Alive: true, Leader: true}}
	leader := newRecordingLeader(t, lb)
	follower, _ := newFollower(t, followerOf("leader", leader.srv.Listener.Addr().String()), 0)

	const query = "x=1&source_name_list=a&source_name_list=b%20c"
	resp := do(t, follower.Client(), "POST", follower.URL+"/api/v1/tasks?"+query, productPageTask,
		http.Header{"X-Custom": {"v1", "v2"}, "Accept": {"application/json"}})

	// The leader's answer comes back unchanged, with the serving and forwarding masters named.
	requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
	require.Equal(t, "leader", resp.header.Get(HeaderMaster))
	require.Equal(t, []string{"leader"}, resp.header.Values(HeaderMaster))
	require.Equal(t, "follower", resp.header.Get(HeaderForwardedBy))

	seen := leader.requests()
	require.Len(t, seen, 1)
	got := seen[0]
	require.Equal(t, "POST", got.method)
	require.Equal(t, "/api/v1/tasks", got.path)
	require.Equal(t, query, got.rawQuery)
	require.Equal(t, productPageTask, string(got.body))
	require.Equal(t, []string{"v1", "v2"}, got.header.Values("X-Custom"))
	require.Equal(t, "application/json", got.header.Get("Content-Type"))
	require.Equal(t, "follower", got.header.Get(HeaderForwarded))
	require.Equal(t, follower.Listener.Addr().String(), got.host, "the Host the client used is kept")

	// A cluster call is answered from the leader's state.
	resp = do(t, follower.Client(), "GET", follower.URL+"/api/v1/cluster/masters", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.JSONEq(t, `{"total":1,"data":[{"name":"leader","addr":"a","alive":true,"leader":true}]}`, string(resp.body))
	require.Equal(t, "leader", resp.header.Get(HeaderMaster))

	// Validation errors are the leader's too; the follower passes them through.
	resp = do(t, follower.Client(), "POST", follower.URL+"/api/v1/sources", `{}`, nil)
	requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
	require.Equal(t, "follower", resp.header.Get(HeaderForwardedBy))
}

func TestNoLeaderAnswers503WithinLeaderWait(t *testing.T) {
	const wait = 100 * time.Millisecond
	follower, _ := newFollower(t, &fakeBackend{waitForLeader: true}, wait)
	start := time.Now()
	resp := do(t, follower.Client(), "GET", follower.URL+"/api/v1/cluster/masters", "", nil)
	elapsed := time.Since(start)
	msg := requireErrorBody(t, resp, http.StatusServiceUnavailable, fsm.CodeNoLeader)
	require.Contains(t, msg, "leader")
	require.Equal(t, "follower", resp.header.Get(HeaderMaster))
	require.GreaterOrEqual(t, elapsed, wait)
	require.Less(t, elapsed, wait+2*time.Second)
}

func TestLeaderLookupErrorAnswers503(t *testing.T) {
	follower, _ := newFollower(t, &fakeBackend{leaderErr: io.ErrUnexpectedEOF}, 0)
	resp := do(t, follower.Client(), "GET", follower.URL+"/api/v1/tasks", "", nil)
	requireErrorBody(t, resp, http.StatusServiceUnavailable, fsm.CodeNoLeader)

	// A leader without an address is no leader either.
	follower2, _ := newFollower(t, followerOf("ghost", ""), 0)
	resp = do(t, follower2.Client(), "GET", follower2.URL+"/api/v1/tasks", "", nil)
	requireErrorBody(t, resp, http.StatusServiceUnavailable, fsm.CodeNoLeader)
}

func TestLoopGuard(t *testing.T) {
	leader := newRecordingLeader(t, selfLeader("leader"))
	follower, _ := newFollower(t, followerOf("leader", leader.srv.Listener.Addr().String()), 0)
	resp := do(t, follower.Client(), "GET", follower.URL+"/api/v1/tasks", "",
		http.Header{HeaderForwarded: {"other-master"}})
	msg := requireErrorBody(t, resp, http.StatusServiceUnavailable, fsm.CodeNoLeader)
	require.Contains(t, msg, "leader changed")
	require.Contains(t, msg, "retry")
	require.Equal(t, "follower", resp.header.Get(HeaderMaster))
	require.Empty(t, leader.requests(), "not forwarded again")

	// The leader itself serves a forwarded request.
	resp = do(t, leader.srv.Client(), "GET", leader.srv.URL+"/api/v1/tasks", "",
		http.Header{HeaderForwarded: {"follower"}})
	requireErrorBody(t, resp, http.StatusNotImplemented, fsm.CodeInternal)
}

func TestLeaderDownAnswers503(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := l.Addr().String()
	require.NoError(t, l.Close())

	follower, logs := newFollower(t, followerOf("leader", deadAddr), 0)
	resp := do(t, follower.Client(), "POST", follower.URL+"/api/v1/sources", validSource, nil)
	msg := requireErrorBody(t, resp, http.StatusServiceUnavailable, fsm.CodeNoLeader)
	require.Contains(t, msg, "leader")
	require.Contains(t, msg, deadAddr)
	require.Equal(t, "follower", resp.header.Get(HeaderMaster))
	require.Contains(t, logs.String(), "forwarding to the leader failed")
	require.NotContains(t, logs.String(), "secret-pw-123")
}

func TestForwardToLeaderWrapsOtherHandlers(t *testing.T) {
	// The master also puts its internal routes behind the same middleware.
	internal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"path": r.URL.Path})
	})
	logger, _ := testLogger(t)
	leaderSrv := httptest.NewServer(ForwardToLeader(selfLeader("leader"), ForwardOptions{SelfName: "leader", Logger: logger})(internal))
	t.Cleanup(leaderSrv.Close)
	followerSrv := httptest.NewServer(ForwardToLeader(followerOf("leader", leaderSrv.Listener.Addr().String()),
		ForwardOptions{SelfName: "follower", Logger: logger})(internal))
	t.Cleanup(followerSrv.Close)

	resp := do(t, followerSrv.Client(), "GET", followerSrv.URL+"/internal/v1/x", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.JSONEq(t, `{"path":"/internal/v1/x"}`, string(resp.body))
	require.Equal(t, "leader", resp.header.Get(HeaderMaster))
	require.Equal(t, "follower", resp.header.Get(HeaderForwardedBy))
}

func TestForwardOverTLS(t *testing.T) {
	logger, _ := testLogger(t)
	leaderSrv := httptest.NewTLSServer(Handler(selfLeader("leader"), Options{SelfName: "leader", Logger: logger}))
	t.Cleanup(leaderSrv.Close)
	tlsCfg := leaderSrv.Client().Transport.(*http.Transport).TLSClientConfig
	followerSrv := httptest.NewServer(Handler(followerOf("leader", leaderSrv.Listener.Addr().String()),
		Options{SelfName: "follower", Logger: logger, TLS: tlsCfg}))
	t.Cleanup(followerSrv.Close)

	resp := do(t, followerSrv.Client(), "GET", followerSrv.URL+"/api/v1/cluster/workers", "", nil)
	require.Equal(t, http.StatusOK, resp.status, "body: %s", resp.body)
	require.Equal(t, "leader", resp.header.Get(HeaderMaster))
	require.Equal(t, "follower", resp.header.Get(HeaderForwardedBy))
}
