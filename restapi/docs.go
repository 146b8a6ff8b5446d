package restapi

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/go-chi/chi/v5"
)

// swaggerUI holds the Swagger UI page and its assets (see swaggerui/README.md).
//
//go:embed swaggerui
var swaggerUI embed.FS

// docAssetsPrefix is where the Swagger UI assets are served.
const docAssetsPrefix = "/api/v1/docs/assets/"

// assetContentType fixes the content type of every served asset, independent of the
// host's MIME tables.
func assetContentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".png":
		return "image/png"
	case ".svg":
		return "image/svg+xml"
	case ".html":
		return "text/html; charset=utf-8"
	case ".txt", ".md", "": // "": LICENSE, NOTICE
		return "text/plain; charset=utf-8"
	default:
		return "application/octet-stream"
	}
}

// serveDocPage answers GET /api/v1/docs.
func serveDocPage(w http.ResponseWriter, r *http.Request) {
	serveEmbedded(w, r, "index.html")
}

// serveDocAsset answers GET /api/v1/docs/assets/{file}.
func serveDocAsset(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "file")
	if name == "" || strings.ContainsAny(name, `/\`) || name == "index.html" {
		WriteError(w, Errorf(http.StatusNotFound, fsm.CodeRequestInvalid, "no documentation asset %q", name))
		return
	}
	serveEmbedded(w, r, name)
}

func serveEmbedded(w http.ResponseWriter, r *http.Request, name string) {
	data, err := fs.ReadFile(swaggerUI, "swaggerui/"+name)
	if err != nil {
		WriteError(w, Errorf(http.StatusNotFound, fsm.CodeRequestInvalid, "no documentation asset %q", name))
		return
	}
	h := w.Header()
	h.Set("Content-Type", assetContentType(name))
	h.Set("X-Content-Type-Options", "nosniff")
	if name != "index.html" {
		h.Set("Cache-Control", "public, max-age=86400")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}
