package restapi

import "net/http"

// DMAPIGetBinlogOperationList lists the task's pending operations on binlog events.
func (s *Server) DMAPIGetBinlogOperationList(w http.ResponseWriter, r *http.Request, taskName TaskName, params DMAPIGetBinlogOperationListParams) {
	var sources []string
	if params.SourceNameList != nil {
		sources = *params.SourceNameList
	}
	from := ""
	if params.BinlogPos != nil {
		from = *params.BinlogPos
	}
	ops, err := s.backend.ListBinlogOperations(r.Context(), taskName, sources, from)
	if err != nil {
		WriteError(w, err)
		return
	}
	writeBinlogOperations(w, ops)
}

// DMAPIOperateBinlog puts (skip, replace) or takes back (revert) operations on binlog events.
func (s *Server) DMAPIOperateBinlog(w http.ResponseWriter, r *http.Request, taskName TaskName) {
	var req BinlogOperationRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, err)
		return
	}
	ops, err := s.backend.OperateBinlog(r.Context(), taskName, req)
	if err != nil {
		WriteError(w, err)
		return
	}
	writeBinlogOperations(w, ops)
}

// writeBinlogOperations answers with the operations, their lists JSON arrays, never null.
func writeBinlogOperations(w http.ResponseWriter, ops []BinlogOperation) {
	if ops == nil {
		ops = []BinlogOperation{}
	}
	for i := range ops {
		if ops[i].Sqls == nil {
			ops[i].Sqls = []string{}
		}
	}
	WriteJSON(w, http.StatusOK, BinlogOperationListResponse{Total: len(ops), Data: ops})
}
