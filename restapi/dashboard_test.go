package restapi

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/dm-oss/dm/web"
	"github.com/stretchr/testify/require"
)

func TestDashboardServesItsFiles(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	resp := do(t, client, "GET", srv.URL+"/dashboard", "", nil)
	require.Equal(t, http.StatusMovedPermanently, resp.status)
	require.Equal(t, "/dashboard/", resp.header.Get("Location"))

	resp = do(t, client, "GET", srv.URL+"/dashboard/", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "text/html; charset=utf-8", resp.header.Get("Content-Type"))
	require.Equal(t, dashboardPolicy, resp.header.Get("Content-Security-Policy"))
	require.Equal(t, "m1", resp.header.Get(HeaderMaster), "served behind the leader forwarding")
	page := string(resp.body)

	// Every file the page names is served with its type; nothing comes from elsewhere.
	refs := regexp.MustCompile(`(?:src|href)="([^"#:]+)"`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, refs)
	for _, ref := range refs {
		if strings.HasPrefix(ref[1], "/api/") {
			continue
		}
		r := do(t, client, "GET", srv.URL+"/dashboard/"+ref[1], "", nil)
		require.Equal(t, http.StatusOK, r.status, ref[1])
		require.Regexp(t, `^text/(css|javascript); charset=utf-8$`, r.header.Get("Content-Type"), ref[1])
		etag := r.header.Get("ETag")
		require.NotEmpty(t, etag)
		again := do(t, client, "GET", srv.URL+"/dashboard/"+ref[1], "", http.Header{"If-None-Match": {etag}})
		require.Equal(t, http.StatusNotModified, again.status, ref[1])
	}
	err := fs.WalkDir(web.Dashboard, "dashboard", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(web.Dashboard, p)
		require.NoError(t, err)
		require.NotRegexp(t, `(?i)(src|href)="(https?:)?//`, string(data), p)
		require.NotContains(t, string(data), "fetch(\"http", p)
		return nil
	})
	require.NoError(t, err)

	for _, bad := range []string{"/dashboard/nope.js", "/dashboard/.hidden", "/dashboard/a/b.js", "/dashboard/..%2fembed.go"} {
		r := do(t, client, "GET", srv.URL+bad, "", nil)
		require.Equal(t, http.StatusNotFound, r.status, bad)
		require.Contains(t, string(r.body), `"error_msg"`, bad)
	}
}

func TestIsDashboardRequest(t *testing.T) {
	for target, want := range map[string]bool{
		"GET /dashboard":             true,
		"GET /dashboard/":            true,
		"HEAD /dashboard/app.js":     true,
		"POST /dashboard/":           false,
		"GET /dashboardx":            false,
		"GET /api/v1/tasks":          false,
		"GET /api/v1/docs/dashboard": false,
	} {
		method, path, _ := strings.Cut(target, " ")
		require.Equal(t, want, IsDashboardRequest(httptest.NewRequest(method, path, nil)), target)
	}
}
