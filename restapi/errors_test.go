package restapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

func TestWriteErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   fsm.Code
		msg    string
	}{
		{"api error", Errorf(http.StatusConflict, fsm.CodeSourceExist, "source %s exists", "s1"), http.StatusConflict, fsm.CodeSourceExist, "source s1 exists"},
		{"wrapped api error", fmt.Errorf("create: %w", Errorf(400, fsm.CodeSourceNotExist, "no source")), 400, fsm.CodeSourceNotExist, "create: no source"},
		{"not implemented", NotImplemented("start task"), http.StatusNotImplemented, fsm.CodeInternal, "start task is not implemented yet"},
		{"no leader", fmt.Errorf("lookup: %w", ErrNoLeader), http.StatusServiceUnavailable, fsm.CodeNoLeader, ""},
		{"dm code", fmt.Errorf("offline: %w", &dmError{code: fsm.CodeMasterNotExist, msg: "no such master"}), 400, fsm.CodeMasterNotExist, "offline: no such master"},
		{"deadline", fmt.Errorf("etcd: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, fsm.CodeInternal, ""},
		{"other", errors.New("disk on fire"), http.StatusInternalServerError, fsm.CodeInternal, "disk on fire"},
		{"nil", nil, http.StatusInternalServerError, fsm.CodeInternal, ""},
		{"bad status", Errorf(0, fsm.CodeSourceExist, "oops"), http.StatusInternalServerError, fsm.CodeInternal, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tc.err)
			msg := requireErrorBody(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, tc.status, tc.code)
			if tc.msg != "" {
				require.Equal(t, tc.msg, msg)
			}
		})
	}
}

func TestNoLeaderMessage(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, ErrNoLeader)
	msg := requireErrorBody(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 503, fsm.CodeNoLeader)
	require.Contains(t, msg, "no dm-master leader was elected within the timeout")
}

func TestErrorfWraps(t *testing.T) {
	cause := &dmError{code: fsm.CodeSourceNotExist, msg: "cause"}
	err := Errorf(400, fsm.CodeSourceExist, "outer: %w and %w", cause, ErrNoLeader)
	require.Equal(t, "outer: cause and no leader", err.Error())
	require.ErrorIs(t, err, ErrNoLeader)
	var got *dmError
	require.ErrorAs(t, err, &got)
	require.Same(t, cause, got)

	// The *Error wins over what it wraps.
	rec := httptest.NewRecorder()
	WriteError(rec, err)
	requireErrorBody(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 400, fsm.CodeSourceExist)

	require.Empty(t, Errorf(400, fsm.CodeRequestInvalid, "plain").Unwrap())
}

func TestWriteJSONIsCompact(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, http.StatusCreated, map[string]any{"a": []int{1, 2}, "sql": "a < b"})
	require.Equal(t, http.StatusCreated, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, `{"a":[1,2],"sql":"a < b"}`+"\n", rec.Body.String())

	rec = httptest.NewRecorder()
	WriteJSON(rec, http.StatusOK, map[string]any{"f": func() {}})
	requireErrorBody(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 500, fsm.CodeInternal)
}
