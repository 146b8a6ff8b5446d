package master

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"

	"github.com/dm-oss/dm/restapi"
)

// apiAuth is the resolved API authentication: the tokens of api-token-path (nil: the API is
// open) and what api-token-public leaves readable without one.
type apiAuth struct {
	tokens        *restapi.Tokens
	fileMode      fs.FileMode // of the token file, to warn when others may read it
	publicDocs    bool
	publicMetrics bool
}

func (c Config) resolveAPIAuth() (apiAuth, error) {
	var a apiAuth
	for _, p := range c.APITokenPublic {
		switch p {
		case "docs":
			a.publicDocs = true
		case "metrics":
			a.publicMetrics = true
		default:
			return a, fmt.Errorf("api-token-public %q: want docs or metrics", p)
		}
	}
	if c.APITokenPath == "" {
		return a, nil
	}
	st, err := os.Stat(c.APITokenPath)
	if err != nil {
		return a, fmt.Errorf("api-token-path: %w", err)
	}
	a.fileMode = st.Mode().Perm()
	a.tokens, err = restapi.LoadTokens(c.APITokenPath)
	return a, err
}

// warnings says what the operator should know about the API's authentication.
func (a apiAuth) warnings(path string, public []string) []string {
	var out []string
	if a.tokens != nil && a.fileMode&0o077 != 0 {
		out = append(out, fmt.Sprintf("api-token-path %s is readable by others (mode %v): chmod 600 it", path, a.fileMode))
	}
	if a.tokens == nil && len(public) > 0 {
		out = append(out, "api-token-public is set without api-token-path: the whole API is open")
	}
	return out
}

// public says which requests need no token: the documentation and the metrics, when
// api-token-public names them, and the dashboard's files (its data needs the token).
func (a apiAuth) public(r *http.Request) bool {
	return restapi.IsDashboardRequest(r) ||
		(a.publicDocs && restapi.IsDocRequest(r)) ||
		(a.publicMetrics && r.URL.Path == "/metrics")
}
