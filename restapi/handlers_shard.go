package restapi

import (
	"net/http"

	"github.com/dm-oss/dm/fsm"
)

// DMAPIGetShardDDLLockList lists the shard-DDL locks, of one task when task_name is given.
func (s *Server) DMAPIGetShardDDLLockList(w http.ResponseWriter, r *http.Request, params DMAPIGetShardDDLLockListParams) {
	task := ""
	if params.TaskName != nil {
		task = *params.TaskName
	}
	locks, err := s.backend.ListShardDDLLocks(r.Context(), task)
	if err != nil {
		WriteError(w, err)
		return
	}
	if locks == nil {
		locks = []ShardDDLLock{}
	}
	for i := range locks {
		locks[i] = normalizeLock(locks[i])
	}
	WriteJSON(w, http.StatusOK, GetShardDDLLockListResponse{Total: len(locks), Data: locks})
}

// DMAPIUnlockShardDDLLock resolves a shard-DDL lock by hand: exec (the default) or skip.
func (s *Server) DMAPIUnlockShardDDLLock(w http.ResponseWriter, r *http.Request, lockID LockId) {
	var req UnlockShardDDLLockRequest
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		if err := decodeBody(r, &req); err != nil {
			WriteError(w, err)
			return
		}
	}
	action := UnlockShardDDLLockRequestActionExec
	if req.Action != nil {
		action = *req.Action
	}
	if !action.Valid() {
		WriteError(w, Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid,
			"action %q must be %s or %s", action, UnlockShardDDLLockRequestActionExec, UnlockShardDDLLockRequestActionSkip))
		return
	}
	owner := ""
	if req.Owner != nil {
		owner = *req.Owner
	}
	lock, err := s.backend.UnlockShardDDLLock(r.Context(), lockID, owner, string(action))
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, normalizeLock(lock))
}

// normalizeLock makes the lists of a lock JSON arrays, never null.
func normalizeLock(l ShardDDLLock) ShardDDLLock {
	if l.Ddls == nil {
		l.Ddls = []string{}
	}
	if l.Synced == nil {
		l.Synced = []string{}
	}
	if l.Unsynced == nil {
		l.Unsynced = []string{}
	}
	return l
}
