package restapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzRoutes are the API's write routes and a few reads; {} is replaced by the fuzzed name.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/api/v1/sources"},
	{"PUT", "/api/v1/sources/{}"},
	{"DELETE", "/api/v1/sources/{}"},
	{"POST", "/api/v1/sources/{}/start-relay"},
	{"POST", "/api/v1/sources/{}/stop-relay"},
	{"POST", "/api/v1/sources/{}/transfer"},
	{"POST", "/api/v1/sources/{}/relay/purge"},
	{"POST", "/api/v1/tasks"},
	{"PUT", "/api/v1/tasks/{}"},
	{"POST", "/api/v1/tasks/check"},
	{"POST", "/api/v1/tasks/converters"},
	{"POST", "/api/v1/tasks/{}/pause"},
	{"POST", "/api/v1/tasks/{}/binlog-operations"},
	{"PUT", "/api/v1/tasks/{}/sources/s/schemas/d/{}"},
	{"PUT", "/api/v1/shard-ddl-locks/{}/unlock"},
	{"GET", "/api/v1/tasks/{}/status"},
	{"DELETE", "/api/v1/cluster/workers/{}"},
}

// FuzzRequestDecoding sends arbitrary names and bodies to the API's routes. Whatever arrives,
// the answer is a status the API documents and, for an error, the error template with a message
// and a code: never a panic, a 5xx other than the fake backend's 501, or a bare text body.
func FuzzRequestDecoding(f *testing.F) {
	for i := range fuzzRoutes {
		f.Add(uint8(i), "mysql-01", []byte(validSource))
		f.Add(uint8(i), "task-1", []byte(validTask))
	}
	f.Add(uint8(0), "x", []byte(`{"source_name":"a","port":1e99,"host":[],"user":null}`))
	f.Add(uint8(6), "t", []byte(`{"task":{"name":"t","table_migrate_rule":[{"source":{}}]}}`))
	f.Add(uint8(9), "t", []byte(`{"task":"name: t\ntask-mode: all\n","task_yaml":1}`))
	f.Add(uint8(11), "t%2F..", []byte(`{"op":"skip","binlog_pos":"mysql-bin.1:-4"}`))

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	handler := Handler(selfLeader("m1"), Options{SelfName: "m1", Logger: logger})
	f.Fuzz(func(t *testing.T, route uint8, name string, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := strings.ReplaceAll(r.path, "{}", escapePathSegment(name))
		req, err := http.NewRequestWithContext(t.Context(), r.method, "http://m1"+path, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		requireDocumentedAnswer(t, rec)
	})
}

// requireDocumentedAnswer checks the status class and, for errors, the template.
func requireDocumentedAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	status := rec.Code
	require.True(t, status < 500 || status == http.StatusNotImplemented, "status %d: %s", status, rec.Body)
	if status < 400 {
		return
	}
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"), "body: %s", rec.Body)
	var fields struct {
		Msg  *string `json:"error_msg"`
		Code *int    `json:"error_code"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &fields), "body: %s", rec.Body)
	require.NotNil(t, fields.Msg, "body: %s", rec.Body)
	require.NotEmpty(t, *fields.Msg, "body: %s", rec.Body)
	require.NotNil(t, fields.Code, "body: %s", rec.Body) // 0 is DM's code for a malformed request
}

// escapePathSegment keeps the fuzzed name inside one path segment, as a client's URL encoding
// would, while leaving every other byte for the router and the validator to judge.
func escapePathSegment(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c == '/' || c == '?' || c == '#' || c == '%' || c <= ' ' || c >= 0x7f:
			b.WriteString("%")
			b.WriteString(strings.ToUpper(string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
