package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// authHeaders serves every call with an empty list and records the Authorization headers.
func authHeaders(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"total":0,"data":[]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func TestTokenFromFlagOrEnvironment(t *testing.T) {
	srv, seen := authHeaders(t)
	t.Setenv("DM_TOKEN", "")
	_, err := run(t, srv.URL, "shard-ddl-lock")
	require.NoError(t, err)
	_, err = run(t, srv.URL, "--token", "flag-token-0123456789", "shard-ddl-lock")
	require.NoError(t, err)
	t.Setenv("DM_TOKEN", "env-token-0123456789\n")
	_, err = run(t, srv.URL, "shard-ddl-lock")
	require.NoError(t, err)
	_, err = run(t, srv.URL, "--token", "flag-token-0123456789", "shard-ddl-lock")
	require.NoError(t, err, "the flag wins over the environment")
	require.Equal(t, []string{"", "Bearer flag-token-0123456789", "Bearer env-token-0123456789", "Bearer flag-token-0123456789"}, seen())

	// The help never shows the environment's token.
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"--help"})
	require.NoError(t, root.Execute())
	require.Contains(t, out.String(), "--token")
	require.NotContains(t, out.String(), "env-token")
}
