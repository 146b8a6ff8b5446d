package fsm

import (
	"errors"
	"fmt"
)

// DM's numeric error codes for the rejections the FSM produces. The values are DM's, so that
// clients which branch on error_code keep working.
const (
	// CodeInvalidArgument marks a malformed command (an empty name, no workers, no subtasks).
	// The REST layer should catch these first; DM reports request-validation failures as 0.
	CodeInvalidArgument = 0

	CodeMasterNotExist        = 38048
	CodeWorkerNotExist        = 46004
	CodeWorkerOnline          = 46005 // liveness is not FSM state; defined for the REST layer
	CodeWorkerInvalidTrans    = 46006
	CodeSourceExist           = 46007
	CodeSourceNotExist        = 46008
	CodeSourceUnbound         = 46009 // binding liveness is decided by the master; defined for it
	CodeSourceHasTasks        = 46010
	CodeRelayStageInvalid     = 46011
	CodeSubtaskExist          = 46014
	CodeSubtaskStageInvalid   = 46015
	CodeSubtaskTaskNotExist   = 46016
	CodeSourceNotInTask       = 46017
	CodeTaskNotExist          = 46018
	CodeRelayWorkerBusy       = 46020
	CodeRelayWorkerWrongBound = 46021
	CodeRelayWorkerWrongRelay = 46022
	CodeSourceHasRelayWorkers = 46023
	CodeTaskSourceNotFound    = 49002

	CodeShardLockNotFound = 38032 // unlock of an unknown lock
	CodeShardDDLConflict  = 36069 // sources (pessimistic) or shards (optimistic) disagree
)

// Error is a deterministic rejection of a command: an invariant it would break or an object it
// names that does not exist. Its code is DM's, for the REST layer to report.
type Error struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

func (e *Error) Error() string { return e.Msg }

// ErrorCode lets callers map the error without importing this package.
func (e *Error) ErrorCode() int { return e.Code }

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) *Error {
	return errorf(CodeInvalidArgument, format, args...)
}

// CodeOf returns the code of the *Error inside err, if there is one.
func CodeOf(err error) (int, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}
