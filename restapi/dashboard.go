package restapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/web"
	"github.com/go-chi/chi/v5"
)

// DashboardPath is where the web dashboard is served.
const DashboardPath = "/dashboard/"

// dashboardPolicy keeps the page to its own files and its own master's API: nothing is
// fetched from elsewhere, nothing frames it.
const dashboardPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// routeDashboard adds the dashboard's routes: its page and its assets. They hold no data: the
// page reads and acts through /api/v1 like any client.
func routeDashboard(r chi.Router) {
	r.Get("/dashboard", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, DashboardPath, http.StatusMovedPermanently)
	})
	r.Get(DashboardPath, func(w http.ResponseWriter, r *http.Request) { serveDashboardFile(w, r, "index.html") })
	r.Get(DashboardPath+"{file}", func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "file")
		if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
			WriteError(w, Errorf(http.StatusNotFound, fsm.CodeRequestInvalid, "no dashboard file %q", name))
			return
		}
		serveDashboardFile(w, r, name)
	})
}

func serveDashboardFile(w http.ResponseWriter, r *http.Request, name string) {
	data, err := fs.ReadFile(web.Dashboard, "dashboard/"+name)
	if err != nil {
		WriteError(w, Errorf(http.StatusNotFound, fsm.CodeRequestInvalid, "no dashboard file %q", name))
		return
	}
	h := w.Header()
	h.Set("Content-Type", assetContentType(name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", dashboardPolicy)
	h.Set("Referrer-Policy", "no-referrer")
	// The files change with the binary: revalidate each time (ServeContent answers 304 to a
	// matching ETag) so a page never mixes two versions' files.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", dashboardETag(data))
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// IsDashboardRequest reports whether r asks for the dashboard's page or one of its files.
// These hold no data, so they load without an API token: the page then asks for one and sends
// it with every API request.
func IsDashboardRequest(r *http.Request) bool {
	if !readOnly(r.Method) {
		return false
	}
	p := r.URL.Path
	return p == "/dashboard" || strings.HasPrefix(p, DashboardPath)
}

// dashboardETag names the file's content.
func dashboardETag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}
