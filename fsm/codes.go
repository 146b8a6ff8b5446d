package fsm

// This file is the one table of DM error codes for every dm package: the FSM, the masters, the
// workers and the REST layer all answer with these constants and no number of their own. It
// lives here because fsm is the innermost package (it imports nothing of ours), so every other
// package can import it without a cycle.
//
// A code means one thing. The numbers are DM's (clients branch on error_code), with DM's
// terror name; DM numbers them class base + ordinal (database 10001, functional 11001,
// task-check 26001, sync-unit 36001, dm-master 38001, dm-worker 40001, scheduler 46001,
// openapi 49001, not-set 50000). A meaning DM has no code of its own for uses
// CodeOpenAPICommon, DM's code for an error told in its own words.

// Code is a DM error code: the error_code of an error answer.
type Code int

// The codes, in numeric order.
const (
	// CodeRequestInvalid is a request (or command) that is malformed: it does not match the API
	// document, a required field is empty, a path or method is unknown. DM reports such errors,
	// which are not DM terrors, as 0.
	CodeRequestInvalid Code = 0

	CodeDBDriver Code = 10001 // a source or target database could not be reached or queried
	CodeNoLeader Code = 11108 // no leader master is known (DM: the leader lookup failed)
	// CodeVerifyHandleErrorArgs is a binlog operation (skip, replace, revert) with arguments that
	// do not hold: a bad binlog position, a replace without statements, no event to act on.
	CodeVerifyHandleErrorArgs Code = 11118
	CodeConfigYAML            Code = 20003 // a DM configuration file (task.yaml) is malformed or has unknown keys
	CodeCheckFail             Code = 26005 // a source or target fails the precheck (DM: CheckSyncConfig)

	CodeSyncerOperatorNotExist Code = 36065 // a revert of a binlog operation that is not pending
	CodeShardDDLConflict       Code = 36069 // sources (pessimistic) or shards (optimistic) disagree on a DDL

	CodeShardLockNotFound Code = 38019 // a shard DDL lock id that does not exist
	CodeMasterJoinFail    Code = 38040 // a master cannot join the cluster (its peer address is taken)
	CodeMasterNotExist    Code = 38048

	CodeWorkerNotPaused       Code = 40051 // the subtask must be paused (to change its schemas)
	CodeWorkerSubtaskNotFound Code = 40054
	CodeWorkerSyncUnitOnly    Code = 40056 // only a subtask in (or past) the Sync unit has a tracker
	CodeWorkerNoStart         Code = 40070 // no worker serves the source (a task-schema call)

	CodeWorkerNotExist           Code = 46004
	CodeWorkerOnline             Code = 46005
	CodeWorkerInvalidTrans       Code = 46006
	CodeSourceExist              Code = 46007
	CodeSourceNotExist           Code = 46008
	CodeSourceUnbound            Code = 46009
	CodeSourceHasTasks           Code = 46010
	CodeRelayStageInvalid        Code = 46011
	CodeRelayStageSourceNotExist Code = 46012 // pause/resume-relay on an unknown source
	CodeSubtaskExist             Code = 46014
	CodeSubtaskStageInvalid      Code = 46015
	CodeSubtaskTaskNotExist      Code = 46016
	CodeSourceNotInTask          Code = 46017
	CodeTaskNotExist             Code = 46018
	CodeRequireNotRunning        Code = 46019
	CodeRelayWorkerBusy          Code = 46020
	CodeRelayWorkerWrongBound    Code = 46021
	CodeRelayWorkerWrongRelay    Code = 46022
	CodeSourceHasRelayWorkers    Code = 46023
	CodeSourceCfgUpdate          Code = 46025 // a source update the cluster cannot apply now (or at all)
	CodeBoundDiffWithRelay       Code = 46027
	CodeSubtaskCfgUpdate         Code = 46035 // a task update of a running task, or of a setting it cannot change

	CodeOpenAPICommon      Code = 49001 // an error told in its own words (DM's "custom message" code)
	CodeTaskSourceNotFound Code = 49002

	// CodeInternal is a failure that carries no DM code of its own (our bug, a timeout, a
	// store that is unavailable): DM's not-set code.
	CodeInternal Code = 50000
)

// CodeInfo is one row of the table: the code, DM's name for it and what it reports.
type CodeInfo struct {
	Code Code
	// Name is DM's terror name (CodeRequestInvalid, not a terror in DM, has a name of ours).
	Name string
	// Message says what the code reports; the error message of an answer says it for the case.
	Message string
}

// Codes returns the table, in numeric order. It is built on each call, so that no caller can
// change it for another.
func Codes() []CodeInfo {
	return []CodeInfo{
		{CodeRequestInvalid, "RequestInvalid", "the request does not match the API document or misses a required field"},
		{CodeDBDriver, "ErrDBDriverError", "database driver error: the database could not be reached or queried"},
		{CodeNoLeader, "ErrElectionGetLeaderIDFail", "no dm-master leader is known"},
		{CodeVerifyHandleErrorArgs, "ErrVerifyHandleErrorArgs", "the binlog operation's arguments are not valid"},
		{CodeConfigYAML, "ErrConfigYamlTransform", "the configuration file is not a valid DM configuration: check its format and keys"},
		{CodeCheckFail, "ErrTaskCheckSyncConfigError", "the precheck of the source or target failed"},
		{CodeSyncerOperatorNotExist, "ErrSyncerOperatorNotExist", "no binlog operation is pending at that position"},
		{CodeShardDDLConflict, "ErrSyncerShardDDLConflict", "the shards of a merged table disagree on a DDL"},
		{CodeShardLockNotFound, "ErrMasterLockNotFound", "the shard DDL lock does not exist"},
		{CodeMasterJoinFail, "ErrMasterJoinEmbedEtcdFail", "the dm-master cannot join the cluster"},
		{CodeMasterNotExist, "ErrMasterMasterNameNotExist", "the dm-master does not exist"},
		{CodeWorkerNotPaused, "ErrWorkerNotPausedStage", "the subtask is not paused"},
		{CodeWorkerSubtaskNotFound, "ErrWorkerSubTaskNotFound", "the dm-worker runs no such subtask"},
		{CodeWorkerSyncUnitOnly, "ErrWorkerOperSyncUnitOnly", "the operation needs the subtask in the Sync unit"},
		{CodeWorkerNoStart, "ErrWorkerNoStart", "no dm-worker serves the source"},
		{CodeWorkerNotExist, "ErrSchedulerWorkerNotExist", "the dm-worker does not exist"},
		{CodeWorkerOnline, "ErrSchedulerWorkerOnline", "the dm-worker is online"},
		{CodeWorkerInvalidTrans, "ErrSchedulerWorkerInvalidTrans", "the dm-worker is offline or bound to another source"},
		{CodeSourceExist, "ErrSchedulerSourceCfgExist", "the source already exists"},
		{CodeSourceNotExist, "ErrSchedulerSourceCfgNotExist", "the source does not exist"},
		{CodeSourceUnbound, "ErrSchedulerSourcesUnbound", "the source has no bound dm-worker"},
		{CodeSourceHasTasks, "ErrSchedulerSourceOpTaskExist", "the source is used by tasks"},
		{CodeRelayStageInvalid, "ErrSchedulerRelayStageInvalidUpdate", "the relay stage cannot change that way"},
		{CodeRelayStageSourceNotExist, "ErrSchedulerRelayStageSourceNotExist", "the source of the relay stage does not exist"},
		{CodeSubtaskExist, "ErrSchedulerSubTaskExist", "the task already exists on its sources"},
		{CodeSubtaskStageInvalid, "ErrSchedulerSubTaskStageInvalidUpdate", "the subtask stage cannot change that way"},
		{CodeSubtaskTaskNotExist, "ErrSchedulerSubTaskOpTaskNotExist", "the task of the subtask operation does not exist"},
		{CodeSourceNotInTask, "ErrSchedulerSubTaskOpSourceNotExist", "the source is not part of the task"},
		{CodeTaskNotExist, "ErrSchedulerTaskNotExist", "the task does not exist"},
		{CodeRequireNotRunning, "ErrSchedulerRequireNotRunning", "a task is running on the source: pause it first"},
		{CodeRelayWorkerBusy, "ErrSchedulerRelayWorkersBusy", "the dm-worker relays another source"},
		{CodeRelayWorkerWrongBound, "ErrSchedulerRelayWorkersWrongBound", "the dm-worker is bound to another source"},
		{CodeRelayWorkerWrongRelay, "ErrSchedulerRelayWorkersWrongRelay", "the dm-worker relays another source, not this one"},
		{CodeSourceHasRelayWorkers, "ErrSchedulerSourceOpRelayExist", "the source still has relay workers"},
		{CodeSourceCfgUpdate, "ErrSchedulerSourceCfgUpdate", "the source cannot be updated that way now"},
		{CodeBoundDiffWithRelay, "ErrSchedulerBoundDiffWithStartedRelay", "the dm-worker relays a different source"},
		{CodeSubtaskCfgUpdate, "ErrSchedulerSubTaskCfgUpdate", "the task cannot be updated that way: it runs, or the setting cannot change"},
		{CodeOpenAPICommon, "ErrOpenAPICommonError", "some unexpected errors have occurred, please check the detailed error message"},
		{CodeTaskSourceNotFound, "ErrOpenAPITaskSourceNotFound", "a source of the task is not a registered source"},
		{CodeInternal, "ErrNotSet", "internal error"},
	}
}

// LookupCode returns the row of the table for the number num.
func LookupCode(num int) (CodeInfo, bool) {
	for _, c := range Codes() {
		if int(c.Code) == num {
			return c, true
		}
	}
	return CodeInfo{}, false
}
