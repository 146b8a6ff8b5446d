package peer

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
)

// TestRequireMember: a stranger gets 401 in the error template and the handler never runs; a
// member's request reaches it with its identity, signed by the Client the members use.
func TestRequireMember(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 32)
	server, err := security.NewMembers(security.MemberConfig{Name: "m1", SecretKey: key})
	require.NoError(t, err)
	worker, err := security.NewMembers(security.MemberConfig{Name: "w1", SecretKey: key})
	require.NoError(t, err)

	var reached []security.Identity
	h := RequireMember(server, AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := Identity(r.Context())
		require.True(t, ok)
		require.Empty(t, r.Header.Get(HeaderPeerCN), "no certificate: nothing to vouch for")
		reached = append(reached, id)
		_, _ = w.Write([]byte(`{"key":"AAAA"}`))
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Post(srv.URL+PathRegisterWorker, "application/json", strings.NewReader(`{"name":"w1"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	var tmpl struct {
		Msg  string   `json:"error_msg"`
		Code fsm.Code `json:"error_code"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tmpl))
	require.Equal(t, fsm.CodeOpenAPICommon, tmpl.Code)
	require.Contains(t, tmpl.Msg, "not authenticated")
	require.Empty(t, reached)

	c, err := NewClient([]string{srv.Listener.Addr().String()}, worker)
	require.NoError(t, err)
	got, err := c.ClusterKey(t.Context())
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0, 0}, got)
	require.Equal(t, []security.Identity{{Name: "w1", Signed: true}}, reached)
}
