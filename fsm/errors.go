package fsm

import (
	"errors"
	"fmt"
)

// Error is a deterministic rejection of a command: an invariant it would break or an object it
// names that does not exist. Its code is from the table of DM codes (codes.go), for the REST
// layer to report.
type Error struct {
	Code Code   `json:"code"`
	Msg  string `json:"msg"`
}

func (e *Error) Error() string { return e.Msg }

// ErrorCode lets callers map the error without importing this package.
func (e *Error) ErrorCode() int { return int(e.Code) }

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) *Error {
	return errorf(CodeRequestInvalid, format, args...)
}

// CodeOf returns the code of the *Error inside err, if there is one.
func CodeOf(err error) (Code, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}
