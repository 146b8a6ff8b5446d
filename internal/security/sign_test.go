package security

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clock is a settable time source.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Unix(0, c.now.Load()) }
func (c *clock) add(d time.Duration) { c.now.Add(int64(d)) }
func newClock() *clock               { c := &clock{}; c.now.Store(time.Now().UnixNano()); return c }
func keyOf(b byte) []byte            { return bytes.Repeat([]byte{b}, KeySize) }
func body(s string) io.Reader        { return strings.NewReader(s) }
func signedBy(t *testing.T, m *Members, method, target, payload string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, body(payload))
	require.NoError(t, m.Sign(r, []byte(payload)))
	return r
}

func newMembers(t *testing.T, name string, key []byte, c *clock) *Members {
	t.Helper()
	m, err := NewMembers(MemberConfig{Name: name, SecretKey: key, Clock: c.Now})
	require.NoError(t, err)
	return m
}

// TestSignatures: a signed request is accepted once, with its body intact for the handler; a
// request that is unsigned, changed on the way, signed with another key, stale or replayed is
// refused with ErrUnauthenticated.
func TestSignatures(t *testing.T) {
	c := newClock()
	worker := newMembers(t, "w1", keyOf(1), c)
	master := newMembers(t, "m1", keyOf(1), c)
	require.Equal(t, ModeSecretKey, master.Mode())

	r := signedBy(t, worker, http.MethodPost, "/internal/v1/workers/register?x=1", `{"name":"w1"}`)
	id, err := master.Authenticate(r)
	require.NoError(t, err)
	require.Equal(t, Identity{Name: "w1", Signed: true}, id)
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	require.Equal(t, `{"name":"w1"}`, string(b), "the handler reads the body the signature covered")

	replay := signedBy(t, worker, http.MethodGet, "/internal/v1/workers/w1/desired", "")
	replayAgain := replay.Clone(replay.Context())
	_, err = master.Authenticate(replay)
	require.NoError(t, err)
	_, err = master.Authenticate(replayAgain)
	require.ErrorIs(t, err, ErrUnauthenticated, "a replayed request")

	refused := map[string]*http.Request{
		"unsigned":     httptest.NewRequest(http.MethodGet, "/internal/v1/workers/w1/desired", nil),
		"another key":  signedBy(t, newMembers(t, "w1", keyOf(2), c), http.MethodGet, "/internal/v1/status", ""),
		"body changed": withBody(signedBy(t, worker, http.MethodPost, "/internal/v1/loads", `{"a":1}`), `{"a":2}`),
		"path changed": withPath(signedBy(t, worker, http.MethodGet, "/internal/v1/workers/w1/desired", ""), "/internal/v1/workers/w2/desired"),
		"query changed": withPath(signedBy(t, worker, http.MethodGet, "/internal/v1/workers/w1/desired?index=1", ""),
			"/internal/v1/workers/w1/desired?index=2"),
		"method changed": withMethod(signedBy(t, worker, http.MethodGet, "/internal/v1/status", ""), http.MethodDelete),
		"name changed":   withMember(signedBy(t, worker, http.MethodGet, "/internal/v1/status", ""), "m1"),
		"malformed":      withSignature(signedBy(t, worker, http.MethodGet, "/internal/v1/status", ""), "v1:x:y"),
	}
	for name, r := range refused {
		_, err := master.Authenticate(r)
		require.ErrorIs(t, err, ErrUnauthenticated, name)
	}

	// A signature from the past or the future, beyond the window.
	stale := signedBy(t, worker, http.MethodGet, "/internal/v1/status", "")
	c.add(signatureWindow + time.Second)
	_, err = master.Authenticate(stale)
	require.ErrorIs(t, err, ErrUnauthenticated, "stale")
	future := signedBy(t, worker, http.MethodGet, "/internal/v1/status", "")
	c.add(-2 * (signatureWindow + time.Second))
	_, err = master.Authenticate(future)
	require.ErrorIs(t, err, ErrUnauthenticated, "from the future")

	big := httptest.NewRequest(http.MethodPost, "/internal/v1/loads", strings.NewReader(strings.Repeat("x", maxSignedBody+1)))
	require.NoError(t, worker.Sign(big, nil))
	_, err = master.Authenticate(big)
	require.ErrorIs(t, err, ErrBodyTooLarge)
	capped := signedBy(t, worker, http.MethodPost, "/internal/v1/loads", `{"a":1}`)
	capped.Body = http.MaxBytesReader(httptest.NewRecorder(), capped.Body, 3) // the server's own limit
	_, err = master.Authenticate(capped)
	require.ErrorIs(t, err, ErrBodyTooLarge)
	broken := signedBy(t, worker, http.MethodPost, "/internal/v1/loads", `{"a":1}`)
	broken.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"a"`), errReader{}))
	_, err = master.Authenticate(broken)
	require.ErrorIs(t, err, ErrBodyUnreadable)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func withBody(r *http.Request, b string) *http.Request {
	r.Body = io.NopCloser(strings.NewReader(b))
	return r
}

func withPath(r *http.Request, target string) *http.Request {
	n := httptest.NewRequest(r.Method, target, r.Body)
	n.Header = r.Header
	return n
}

func withMethod(r *http.Request, method string) *http.Request { r.Method = method; return r }

func withMember(r *http.Request, name string) *http.Request {
	r.Header.Set(HeaderMember, name)
	return r
}

func withSignature(r *http.Request, sig string) *http.Request {
	r.Header.Set(HeaderSignature, sig)
	return r
}

// TestOpenMode: without secret-key-path or ssl-*, every request passes under the name it gives,
// and the members say so.
func TestOpenMode(t *testing.T) {
	m, err := NewMembers(MemberConfig{Name: "m1"})
	require.NoError(t, err)
	require.Equal(t, ModeOpen, m.Mode())
	require.NotEmpty(t, m.OpenWarning())
	require.Nil(t, m.GossipKey())
	srv, cli := m.PeerTLS()
	require.Nil(t, srv)
	require.Nil(t, cli)
	r := httptest.NewRequest(http.MethodGet, "/internal/v1/status", nil)
	r.Header.Set(HeaderMember, "anyone")
	id, err := m.Authenticate(r)
	require.NoError(t, err)
	require.Equal(t, Identity{Name: "anyone"}, id)
	require.NoError(t, id.MayActAs("w2", func(string) bool { return true }))

	secured := newMembers(t, "m1", keyOf(1), newClock())
	require.Empty(t, secured.OpenWarning())
	require.Len(t, secured.GossipKey(), KeySize)
	require.False(t, secured.GossipNeedsClusterKey())
	require.NotEqual(t, secured.GossipKey(), keyOf(1), "derived, not the secret itself")
	require.NotEqual(t, secured.GossipKey(), secured.httpKey)
}

func TestMayActAs(t *testing.T) {
	members := map[string]bool{"m1": true, "w1": true, "w2": true}
	named := func(n string) bool { return members[n] }
	cases := []struct {
		id    Identity
		name  string
		allow bool
	}{
		{Identity{Name: "w1", Signed: true}, "w1", true},
		{Identity{Name: "w1", Signed: true}, "w2", false},
		{Identity{CN: "w1"}, "w1", true},
		{Identity{CN: "w1"}, "w2", false}, // a member's own certificate
		{Identity{CN: "dm"}, "w2", true},  // a certificate the members share
		{Identity{CN: "dm", Name: "w1", Signed: true}, "w2", false},
		{Identity{Name: "w1"}, "w2", true}, // an open cluster
	}
	for _, c := range cases {
		err := c.id.MayActAs(c.name, named)
		if c.allow {
			require.NoError(t, err, "%s as %s", c.id, c.name)
		} else {
			require.ErrorIs(t, err, ErrForbidden, "%s as %s", c.id, c.name)
		}
	}
}

func TestNonceCacheBounds(t *testing.T) {
	c := newNonceCache(2)
	now := time.Now()
	require.True(t, c.add("a", now.Add(time.Minute), now))
	require.False(t, c.add("a", now.Add(time.Minute), now))
	require.True(t, c.add("b", now.Add(time.Second), now))
	require.False(t, c.add("c", now.Add(time.Minute), now), "full of live nonces: refuse rather than forget")
	later := now.Add(2 * time.Second)
	require.True(t, c.add("c", later.Add(time.Minute), later), "expired nonces make room")

	// Expired nonces go every minute, full or not.
	big := newNonceCache(100)
	for i := range 10 {
		require.True(t, big.add(strconv.Itoa(i), now.Add(time.Second), now))
	}
	require.Len(t, big.seen, 10)
	require.True(t, big.add("x", now.Add(3*time.Minute), now.Add(2*time.Minute)))
	require.Len(t, big.seen, 1)
}
