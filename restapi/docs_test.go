package restapi

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/dm-oss/dm/fsm"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

func TestDocJSONRewritesServerURL(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	resp := do(t, srv.Client(), "GET", srv.URL+"/api/v1/dm.json", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "application/json", resp.header.Get("Content-Type"))

	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Title string `json:"title"`
		} `json:"info"`
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Paths map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(resp.body, &doc))
	require.Equal(t, "DM OpenAPI DOC", doc.Info.Title)
	require.Len(t, doc.Servers, 1)
	require.Equal(t, "http://"+srv.Listener.Addr().String(), doc.Servers[0].URL)
	require.Equal(t, 30, len(doc.Paths)) // 39 operations on 30 paths

	// The served JSON is itself a valid OpenAPI document.
	loaded, err := openapi3.NewLoader().LoadFromData(resp.body)
	require.NoError(t, err)
	require.NoError(t, loaded.Validate(t.Context()))

	// Another Host header, another server URL; the shared document is not changed.
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/dm.json", "", nil)
	req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v1/dm.json", nil)
	require.NoError(t, err)
	req.Host = "dm.example:8261"
	r, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	require.NoError(t, json.NewDecoder(r.Body).Decode(&doc))
	require.Equal(t, "http://dm.example:8261", doc.Servers[0].URL)
}

func TestDocJSONOverTLS(t *testing.T) {
	logger, _ := testLogger(t)
	srv := httptest.NewTLSServer(Handler(selfLeader("m1"), Options{SelfName: "m1", Logger: logger}))
	t.Cleanup(srv.Close)
	resp := do(t, srv.Client(), "GET", srv.URL+"/api/v1/dm.json", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	var doc struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	}
	require.NoError(t, json.Unmarshal(resp.body, &doc))
	require.Equal(t, "https://"+srv.Listener.Addr().String(), doc.Servers[0].URL)
}

func TestDocsPageUsesOnlyLocalAssets(t *testing.T) {
	srv, _ := newTestServer(t, selfLeader("m1"), "m1")
	resp := do(t, srv.Client(), "GET", srv.URL+"/api/v1/docs", "", nil)
	require.Equal(t, http.StatusOK, resp.status)
	require.Equal(t, "text/html; charset=utf-8", resp.header.Get("Content-Type"))
	page := string(resp.body)
	require.NotContains(t, page, "http://")
	require.NotContains(t, page, "https://")
	require.NotContains(t, page, "//cdn")
	require.Contains(t, page, `"/api/v1/dm.json"`)

	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, refs)
	wantTypes := map[string]string{
		"/api/v1/docs/assets/swagger-ui.css":                   "text/css; charset=utf-8",
		"/api/v1/docs/assets/swagger-ui-bundle.js":             "text/javascript; charset=utf-8",
		"/api/v1/docs/assets/favicon-32x32.png":                "image/png",
		"/api/v1/docs/assets/LICENSE":                          "text/plain; charset=utf-8",
		"/api/v1/docs/assets/NOTICE":                           "text/plain; charset=utf-8",
		"/api/v1/docs/assets/swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8",
	}
	for _, ref := range refs {
		require.True(t, strings.HasPrefix(ref[1], docAssetsPrefix), "asset %s is not local", ref[1])
		require.Contains(t, wantTypes, ref[1])
	}
	for path, ctype := range wantTypes {
		resp := do(t, srv.Client(), "GET", srv.URL+path, "", nil)
		require.Equal(t, http.StatusOK, resp.status, path)
		require.Equal(t, ctype, resp.header.Get("Content-Type"), path)
		embedded, err := fs.ReadFile(swaggerUI, "swaggerui/"+strings.TrimPrefix(path, docAssetsPrefix))
		require.NoError(t, err)
		require.Equal(t, embedded, resp.body, path)
	}

	resp = do(t, srv.Client(), "GET", srv.URL+docAssetsPrefix+"nope.js", "", nil)
	requireErrorBody(t, resp, http.StatusNotFound, fsm.CodeRequestInvalid)
	resp = do(t, srv.Client(), "GET", srv.URL+docAssetsPrefix+"..%2Fopenapi.yaml", "", nil)
	requireErrorBody(t, resp, http.StatusNotFound, fsm.CodeRequestInvalid)
}
