package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dm-oss/dm/fsm"
)

// Exit codes: 0 success; 1 the operation failed (an error the server returned, no master
// answered, a file or key that could not be used); 2 the command line was wrong (unknown verb
// or flag, missing or extra arguments).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a mistake in the command line: exit 2, with a pointer to the help.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// failure is an operation that was tried and failed: exit 1. Every error a verb's RunE
// returns becomes one unless it is a usageError (see verb).
type failure struct{ err error }

func (e *failure) Error() string { return e.err.Error() }
func (e *failure) Unwrap() error { return e.err }

// apiError is the error template a master answered with: {"error_msg", "error_code"}.
type apiError struct {
	Status int    // HTTP status
	Code   int    // DM error code (0: the request did not match the API document)
	Msg    string // error_msg
}

func (e *apiError) Error() string { return e.Msg }

// unreachableError says that no address of --master-addr answered.
type unreachableError struct{ tried []string }

func (e *unreachableError) Error() string {
	return "no dm-master answered (--master-addr): " + strings.Join(e.tried, "; ")
}

// errVersionShown ends a run after -V printed the version (exit 0).
var errVersionShown = errors.New("version shown")

// errorCode is the DM error code an error carries, if it came from a master.
func errorCode(err error) (int, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Code, true
	}
	return 0, false
}

// exitCode classifies an error of a run: a failure is 1; anything else cobra or a verb
// refused before trying the operation is a usage error, 2.
func exitCode(err error) int {
	var f *failure
	switch {
	case err == nil, errors.Is(err, errVersionShown):
		return exitOK
	case errors.As(err, &f):
		return exitFailure
	default:
		return exitUsage
	}
}

// failuref is a failure of our own making, with a DM error code when one fits (0: none).
func failuref(code fsm.Code, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if code == 0 {
		return &failure{err: errors.New(msg)}
	}
	return &failure{err: &apiError{Code: int(code), Msg: msg}}
}
