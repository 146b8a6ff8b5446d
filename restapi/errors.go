package restapi

import (
	"net/http"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/apierr"
)

// The error template and its writer are restapi/apierr's; these are the same type, sentinel
// and functions under the names restapi's handlers and the master (the Backend) use.

// Error is an error with the HTTP status and the DM error code to answer with (apierr.Error).
type Error = apierr.Error

// ErrNoLeader says that no leader master is known (none was elected in time).
var ErrNoLeader = apierr.ErrNoLeader

// Errorf builds an *Error; see apierr.Errorf.
func Errorf(status int, code fsm.Code, format string, args ...any) *Error {
	return apierr.Errorf(status, code, format, args...)
}

// WriteError answers with the error template; see apierr.WriteError.
func WriteError(w http.ResponseWriter, err error) { apierr.WriteError(w, err) }

// WriteJSON answers with status and v as compact JSON; see apierr.WriteJSON.
func WriteJSON(w http.ResponseWriter, status int, v any) { apierr.WriteJSON(w, status, v) }

// NotImplemented is the error of an operation this master does not implement yet:
// HTTP 501 with code fsm.CodeInternal.
func NotImplemented(operation string) *Error {
	return Errorf(http.StatusNotImplemented, fsm.CodeInternal, "%s is not implemented yet", operation)
}
