package apierr

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// requireTemplate checks an answer is the template with status and code, and returns its message.
func requireTemplate(t *testing.T, rec *httptest.ResponseRecorder, status int, code fsm.Code) string {
	t.Helper()
	require.Equal(t, status, rec.Code, "body: %s", rec.Body)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var body struct {
		Msg  string   `json:"error_msg"`
		Code fsm.Code `json:"error_code"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "body: %s", rec.Body)
	require.Equal(t, code, body.Code)
	require.NotEmpty(t, body.Msg)
	return body.Msg
}

// decodeHandler answers 200 with the decoded object, or the error.
var decodeHandler = LimitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	var v map[string]any
	if err := DecodeJSON(r, &v); err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}))

func TestDecodeJSONIsStrict(t *testing.T) {
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"a":1}`, 200, ""},
		{" \n{\"a\":1}\n\t ", 200, ""},
		{`{"a":1}{"b":2}`, 400, "after the JSON value, at byte 7"},
		{`{"a":1} trailing`, 400, "after the JSON value"},
		{`{"a":1}]`, 400, "after the JSON value"},
		{`{"a":`, 400, "not valid JSON"},
		{``, 400, "body is required"},
		{`   `, 400, "body is required"},
	} {
		rec := httptest.NewRecorder()
		decodeHandler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body)))
		if tc.status == 200 {
			require.Equal(t, 200, rec.Code, "%q: %s", tc.body, rec.Body)
			require.JSONEq(t, `{"a":1}`, rec.Body.String())
			continue
		}
		require.Contains(t, requireTemplate(t, rec, tc.status, fsm.CodeRequestInvalid), tc.want, "%q", tc.body)
	}
}

func TestBodyLimit(t *testing.T) {
	// Declared too large: refused before anything is read.
	req := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader("{}"))
	req.ContentLength = MaxBodyBytes + 1
	rec := httptest.NewRecorder()
	decodeHandler.ServeHTTP(rec, req)
	require.Contains(t, requireTemplate(t, rec, http.StatusRequestEntityTooLarge, fsm.CodeRequestInvalid), "larger than")

	// Not declared (chunked): cut while reading.
	big := `{"a":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	req = httptest.NewRequest(http.MethodPost, "/x", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	decodeHandler.ServeHTTP(rec, req)
	requireTemplate(t, rec, http.StatusRequestEntityTooLarge, fsm.CodeRequestInvalid)

	// Just under the limit passes.
	ok := `{"a":"` + strings.Repeat("x", MaxBodyBytes-10) + `"}`
	rec = httptest.NewRecorder()
	decodeHandler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(ok)))
	require.Equal(t, http.StatusOK, rec.Code)

	// A body that breaks off is the client's error, not ours.
	req = httptest.NewRequest(http.MethodPost, "/x", io.MultiReader(strings.NewReader(`{"a"`), errReader{io.ErrUnexpectedEOF}))
	rec = httptest.NewRecorder()
	decodeHandler.ServeHTTP(rec, req)
	require.Contains(t, requireTemplate(t, rec, http.StatusBadRequest, fsm.CodeRequestInvalid), "reading the request body")
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestRoutesAnswersWithTheTemplate(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{name}", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"name": r.PathValue("name")})
	})
	mux.HandleFunc("DELETE /items/{name}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := Routes(mux)
	serve := func(method, target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
		return rec
	}

	rec := serve(http.MethodGet, "/items/a")
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"name":"a"}`, rec.Body.String(), "path values reach the handler")

	requireTemplate(t, serve(http.MethodGet, "/nothing"), http.StatusNotFound, fsm.CodeRequestInvalid)
	rec = serve(http.MethodPost, "/items/a")
	requireTemplate(t, rec, http.StatusMethodNotAllowed, fsm.CodeRequestInvalid)
	require.Equal(t, "DELETE, GET, HEAD", rec.Header().Get("Allow"))

	// A long path is not repeated whole.
	msg := requireTemplate(t, serve(http.MethodGet, "/"+strings.Repeat("n", 5000)), http.StatusNotFound, fsm.CodeRequestInvalid)
	require.Less(t, len(msg), 300)

	// ServeMux's redirect to the clean path is kept.
	rec = serve(http.MethodGet, "/items/../items/a")
	require.Equal(t, http.StatusTemporaryRedirect, rec.Code)
	require.Equal(t, "/items/a", rec.Header().Get("Location"))
}

func TestRecoverAnswersWithTheTemplate(t *testing.T) {
	var logs strings.Builder
	logger := slogTo(&logs)
	h := Recover(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	requireTemplate(t, rec, http.StatusInternalServerError, fsm.CodeInternal)
	require.Contains(t, logs.String(), "kaboom")
	require.Contains(t, logs.String(), "stack=")

	abort := Recover(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	require.PanicsWithValue(t, http.ErrAbortHandler, func() {
		abort.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	})
}

func TestClip(t *testing.T) {
	require.Equal(t, "short", Clip("short"))
	long := strings.Repeat("é", 1000)
	got := Clip(long)
	require.Less(t, len(got), 200)
	require.True(t, strings.HasSuffix(got, "...(2000 bytes)"), got)
	require.True(t, json.Valid([]byte(`"`+strings.TrimSuffix(got, "...(2000 bytes)")+`"`)), "no broken UTF-8 sequence")
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
