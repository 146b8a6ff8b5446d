// Package apierr is DM's error template, {"error_msg": "...", "error_code": <int>}: the one
// error type (Error) and the one place that maps errors to HTTP statuses and codes
// (WriteError), with WriteJSON for the answers around them. Around them, what makes every
// port answer in the template: the one body size limit and strict JSON reader (LimitBody,
// DecodeJSON), panics (Recover), and a ServeMux's own 404 and 405 (Routes).
//
// Every port answers with it: the master's /api/v1 handlers (restapi, which re-exports these
// names for its handlers and the Backend that master implements), the members' internal routes
// on masters and workers, and restapi/peer, whose client turns a template answer back into an
// *Error. It sits under restapi/ because the template is part of the API contract, and apart
// from the restapi package so that dm-worker and restapi/peer use it without linking the
// OpenAPI document, its generated code and the Swagger UI.
package apierr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/dm-oss/dm/fsm"
)

// ErrNoLeader says that no leader master is known (none was elected in time).
var ErrNoLeader = errors.New("no leader")

// Error is an error with the HTTP status and the DM error code to answer with.
type Error struct {
	Status int
	Code   fsm.Code
	Msg    string

	// wrapped is the fmt.Errorf result Msg was made from, so that errors.Is/As
	// see the errors given to Errorf with %w.
	wrapped error
}

// Errorf builds an *Error. The message is formatted as by fmt.Errorf: errors passed with
// %w are wrapped (errors.Is and errors.As find them).
func Errorf(status int, code fsm.Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Status: status, Code: code, Msg: err.Error(), wrapped: err}
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the errors given to Errorf with %w.
func (e *Error) Unwrap() []error {
	switch u := e.wrapped.(type) {
	case interface{ Unwrap() []error }:
		return u.Unwrap()
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			return []error{inner}
		}
	}
	return nil
}

// errorBody is the body of every error answer.
type errorBody struct {
	ErrorMsg  string   `json:"error_msg"`
	ErrorCode fsm.Code `json:"error_code"`
}

// coder is implemented by DM errors that carry a numeric DM error code.
type coder interface{ ErrorCode() int }

// WriteError answers with the error template {"error_msg", "error_code"}. It is the only
// place that maps errors to HTTP statuses:
//   - an *Error (possibly wrapped): its status and code;
//   - ErrNoLeader: 503 with fsm.CodeNoLeader;
//   - an error with an ErrorCode() int method (DM error codes): 400 with that code;
//   - context.DeadlineExceeded: 504 with fsm.CodeInternal;
//   - anything else: 500 with fsm.CodeInternal.
func WriteError(w http.ResponseWriter, err error) {
	status, body := errorResponse(err)
	WriteJSON(w, status, body)
}

func errorResponse(err error) (int, errorBody) {
	if err == nil {
		return http.StatusInternalServerError, errorBody{ErrorMsg: "unknown error (nil)", ErrorCode: fsm.CodeInternal}
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		msg := apiErr.Msg
		if err != error(apiErr) {
			msg = err.Error() // keep the context added by wrapping
		}
		return apiErr.Status, errorBody{ErrorMsg: msg, ErrorCode: apiErr.Code}
	}
	if errors.Is(err, ErrNoLeader) {
		return http.StatusServiceUnavailable, errorBody{
			ErrorMsg:  "no dm-master leader was elected within the timeout, retry later: " + err.Error(),
			ErrorCode: fsm.CodeNoLeader,
		}
	}
	var c coder
	if errors.As(err, &c) {
		return http.StatusBadRequest, errorBody{ErrorMsg: err.Error(), ErrorCode: fsm.Code(c.ErrorCode())}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout, errorBody{ErrorMsg: "timed out: " + err.Error(), ErrorCode: fsm.CodeInternal}
	}
	return http.StatusInternalServerError, errorBody{ErrorMsg: err.Error(), ErrorCode: fsm.CodeInternal}
}

// WriteJSON answers with status and v as compact JSON (Content-Type application/json).
// A value that cannot be encoded, or an invalid status, becomes a 500 error answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	if status < 100 || status > 999 {
		v = errorBody{ErrorMsg: fmt.Sprintf("invalid HTTP status %d for the response", status), ErrorCode: fsm.CodeInternal}
		status = http.StatusInternalServerError
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(errorBody{
			ErrorMsg:  fmt.Sprintf("encoding the response: %v", err),
			ErrorCode: fsm.CodeInternal,
		})
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
