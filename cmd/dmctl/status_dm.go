package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dm-oss/dm/restapi"
)

// DM's query-status answers. Without a task (and without -s or --more) DM prints one line per
// task, its status summed up from its subtasks; otherwise one entry per source with the
// subtasks on it, each with the status of its current unit.

type dmTaskList struct {
	Result bool         `json:"result"`
	Msg    string       `json:"msg"`
	Tasks  []dmTaskInfo `json:"tasks"`
}

type dmTaskInfo struct {
	TaskName   string   `json:"taskName"`
	TaskStatus string   `json:"taskStatus"`
	Sources    []string `json:"sources"`
}

type dmQueryStatus struct {
	Result  bool             `json:"result"`
	Msg     string           `json:"msg"`
	Sources []dmSourceResult `json:"sources"`
}

type dmSourceResult struct {
	Result        bool              `json:"result"`
	Msg           string            `json:"msg"`
	SourceStatus  dmSourceStatus    `json:"sourceStatus"`
	SubTaskStatus []dmSubTaskStatus `json:"subTaskStatus"`
}

type dmSourceStatus struct {
	Source      string           `json:"source"`
	Worker      string           `json:"worker"`
	Result      *dmProcessResult `json:"result"`
	RelayStatus *dmRelayStatus   `json:"relayStatus"`
}

type dmRelayStatus struct {
	MasterBinlog       string           `json:"masterBinlog"`
	MasterBinlogGtid   string           `json:"masterBinlogGtid"`
	RelaySubDir        string           `json:"relaySubDir"`
	RelayBinlog        string           `json:"relayBinlog"`
	RelayBinlogGtid    string           `json:"relayBinlogGtid"`
	RelayCatchUpMaster bool             `json:"relayCatchUpMaster"`
	Stage              string           `json:"stage"`
	Result             *dmProcessResult `json:"result"`
}

type dmProcessResult struct {
	IsCanceled bool             `json:"isCanceled"`
	Errors     []dmProcessError `json:"errors"`
	Detail     *string          `json:"detail"`
}

// dmProcessError is DM's ProcessError; Workaround carries dmctl's hint.
type dmProcessError struct {
	ErrCode    int    `json:"ErrCode"`
	ErrClass   string `json:"ErrClass"`
	ErrScope   string `json:"ErrScope"`
	ErrLevel   string `json:"ErrLevel"`
	Message    string `json:"Message"`
	RawCause   string `json:"RawCause"`
	Workaround string `json:"Workaround"`
}

type dmSubTaskStatus struct {
	Name                string           `json:"name"`
	Stage               string           `json:"stage"`
	Unit                string           `json:"unit"`
	Result              *dmProcessResult `json:"result"`
	UnresolvedDDLLockID string           `json:"unresolvedDDLLockID"`
	Dump                *dmDumpStatus    `json:"dump,omitempty"`
	Load                *dmLoadStatus    `json:"load,omitempty"`
	Sync                *dmSyncStatus    `json:"sync,omitempty"`
	Validation          *struct{}        `json:"validation"`
	// Beyond DM: the precheck's warnings for this source.
	Warnings []string `json:"warnings,omitempty"`
}

type dmDumpStatus struct {
	TotalTables       int64   `json:"totalTables,string"`
	CompletedTables   float64 `json:"completedTables"`
	FinishedBytes     float64 `json:"finishedBytes"`
	FinishedRows      float64 `json:"finishedRows"`
	EstimateTotalRows float64 `json:"estimateTotalRows"`
	Bps               int64   `json:"bps,string"`
	Progress          string  `json:"progress"`
}

// dmLoadStatus leaves out DM's currentSpeedBytesPerSecond, which the API does not report.
type dmLoadStatus struct {
	FinishedBytes  int64  `json:"finishedBytes,string"`
	TotalBytes     int64  `json:"totalBytes,string"`
	Progress       string `json:"progress"`
	MetaBinlog     string `json:"metaBinlog"`
	MetaBinlogGTID string `json:"metaBinlogGTID"`
}

type dmSyncStatus struct {
	TotalEvents         int64             `json:"totalEvents,string"`
	TotalTps            int64             `json:"totalTps,string"`
	RecentTps           int64             `json:"recentTps,string"`
	MasterBinlog        string            `json:"masterBinlog"`
	MasterBinlogGtid    string            `json:"masterBinlogGtid"`
	SyncerBinlog        string            `json:"syncerBinlog"`
	SyncerBinlogGtid    string            `json:"syncerBinlogGtid"`
	BlockingDDLs        []string          `json:"blockingDDLs"`
	UnresolvedGroups    []dmShardingGroup `json:"unresolvedGroups"`
	Synced              bool              `json:"synced"`
	BinlogType          string            `json:"binlogType"`
	SecondsBehindMaster int64             `json:"secondsBehindMaster,string"`
	BlockDDLOwner       string            `json:"blockDDLOwner"`
	ConflictMsg         string            `json:"conflictMsg"`
}

type dmShardingGroup struct {
	Target        string   `json:"target"`
	DDLs          []string `json:"DDLs"`
	FirstLocation string   `json:"firstLocation"`
	Synced        []string `json:"synced"`
	Unsynced      []string `json:"unsynced"`
}

// The stages and units the API reports, by DM's names.
const (
	stageRunning  = "Running"
	stagePaused   = "Paused"
	stageStopped  = "Stopped"
	unitSync      = "Sync"
	unitDump      = "Dump"
	unitLoad      = "Load"
	unitInvalid   = "InvalidUnit"
	taskStageErr  = "Error"
	moreDetailsOf = ". Please run `query-status %s` to get more details."
)

// relayKey names the relay report of one worker for one source.
type relayKey struct{ source, worker string }

// statusSnapshot is what query-status read: the subtasks of the tasks asked for, sorted by
// task then source, and (in JSON mode) the relay reports of the sources' workers.
type statusSnapshot struct {
	subtasks []restapi.SubTaskStatus
	relays   map[relayKey]restapi.SourceStatus
}

func (s statusSnapshot) relayOf(st restapi.SubTaskStatus) *restapi.SourceStatus {
	r, ok := s.relays[relayKey{st.SourceName, st.WorkerName}]
	if !ok {
		return nil
	}
	return &r
}

// unreadable says whether the subtask's worker could not be asked (DM: the source's result
// is false).
func unreadable(st restapi.SubTaskStatus) bool {
	return st.Unit == unitInvalid && st.ErrorMsg != nil
}

// dmTaskListOf sums the snapshot up per task, as DM's query-status without a task. It also
// says whether a source could not be read, in which case DM prints the full answer instead.
func dmTaskListOf(snap statusSnapshot) (dmTaskList, bool) {
	out := dmTaskList{Result: true, Tasks: []dmTaskInfo{}}
	unreadableSeen := false
	byTask := map[string][]restapi.SubTaskStatus{}
	var names []string
	for _, st := range snap.subtasks {
		if _, seen := byTask[st.Name]; !seen {
			names = append(names, st.Name)
		}
		byTask[st.Name] = append(byTask[st.Name], st)
		unreadableSeen = unreadableSeen || unreadable(st)
	}
	for _, name := range names {
		info := dmTaskInfo{TaskName: name, TaskStatus: taskStageOf(byTask[name], snap), Sources: []string{}}
		for _, st := range byTask[name] {
			info.Sources = append(info.Sources, st.SourceName)
		}
		out.Tasks = append(out.Tasks, info)
	}
	return out, unreadableSeen
}

// taskStageOf is DM's status of a task from its subtasks' (first rule that applies): a paused
// subtask with an error makes it an Error; so does a running Sync whose relay is paused or
// stopped; any paused subtask makes it Paused; subtasks all in one stage give that stage;
// otherwise it is Running.
func taskStageOf(subs []restapi.SubTaskStatus, snap statusSnapshot) string {
	name := ""
	paused, same := false, true
	for _, st := range subs {
		name = st.Name
		if st.Stage == stagePaused && st.ErrorMsg != nil {
			return taskStageErr + " - Some error occurred in subtask" + fmt.Sprintf(moreDetailsOf, name)
		}
		if r := snap.relayOf(st); st.Unit == unitSync && st.Stage == stageRunning && r != nil && r.RelayStatus != nil {
			if rs := r.RelayStatus.Stage; rs == stagePaused || rs == stageStopped {
				return taskStageErr + " - Relay status is " + rs + fmt.Sprintf(moreDetailsOf, name)
			}
		}
		paused = paused || st.Stage == stagePaused
		same = same && st.Stage == subs[0].Stage
	}
	switch {
	case paused:
		return stagePaused
	case same && len(subs) > 0:
		return subs[0].Stage
	default:
		return stageRunning
	}
}

// dmQueryStatusOf is DM's full query-status answer: one entry per source (sorted), its
// subtasks sorted by task.
func dmQueryStatusOf(snap statusSnapshot) dmQueryStatus {
	out := dmQueryStatus{Result: true, Sources: []dmSourceResult{}}
	bySource := map[string]*dmSourceResult{}
	var order []string
	for _, st := range snap.subtasks {
		src, ok := bySource[st.SourceName]
		if !ok {
			src = &dmSourceResult{Result: true, SourceStatus: dmSourceStatus{Source: st.SourceName}, SubTaskStatus: []dmSubTaskStatus{}}
			bySource[st.SourceName] = src
			order = append(order, st.SourceName)
		}
		if src.SourceStatus.Worker == "" && st.WorkerName != "" {
			src.SourceStatus.Worker = st.WorkerName
			src.SourceStatus.Result, src.SourceStatus.RelayStatus = dmRelayOf(snap.relayOf(st))
		}
		if unreadable(st) && src.Result {
			src.Result, src.Msg = false, *st.ErrorMsg
		}
		src.SubTaskStatus = append(src.SubTaskStatus, dmSubTaskOf(st))
	}
	sort.Strings(order)
	for _, name := range order {
		out.Sources = append(out.Sources, *bySource[name])
	}
	return out
}

// dmRelayOf maps a worker's relay report of the source: its error as the source's result, its
// relay log (when it pulls one) as relayStatus.
func dmRelayOf(r *restapi.SourceStatus) (*dmProcessResult, *dmRelayStatus) {
	if r == nil {
		return nil, nil
	}
	var res *dmProcessResult
	if r.ErrorMsg != nil {
		res = processResult(*r.ErrorMsg, "")
	}
	if r.RelayStatus == nil {
		return res, nil
	}
	rs := r.RelayStatus
	return res, &dmRelayStatus{
		MasterBinlog: rs.MasterBinlog, MasterBinlogGtid: rs.MasterBinlogGtid, RelaySubDir: rs.RelayDir,
		RelayBinlogGtid: rs.RelayBinlogGtid, RelayCatchUpMaster: rs.RelayCatchUpMaster, Stage: rs.Stage,
	}
}

func processResult(msg, hint string) *dmProcessResult {
	return &dmProcessResult{Errors: []dmProcessError{{Message: msg, Workaround: hint}}}
}

// dmSubTaskOf maps one subtask; its error (with dmctl's hint as DM's Workaround) becomes
// DM's result.
func dmSubTaskOf(st restapi.SubTaskStatus) dmSubTaskStatus {
	out := dmSubTaskStatus{Name: st.Name, Stage: st.Stage, Unit: st.Unit}
	if st.ErrorMsg != nil {
		out.Result = processResult(*st.ErrorMsg, hintOf(st))
	}
	if st.UnresolvedDdlLockId != nil {
		out.UnresolvedDDLLockID = *st.UnresolvedDdlLockId
	}
	if st.Warnings != nil {
		out.Warnings = *st.Warnings
	}
	// DM's status is a oneof: the current unit's only.
	if d := st.DumpStatus; d != nil && st.Unit == unitDump {
		out.Dump = &dmDumpStatus{
			TotalTables: d.TotalTables, CompletedTables: d.CompletedTables, FinishedBytes: d.FinishedBytes,
			FinishedRows: d.FinishedRows, EstimateTotalRows: d.EstimateTotalRows, Bps: d.Bps, Progress: d.Progress,
		}
	}
	if l := st.LoadStatus; l != nil && st.Unit == unitLoad {
		out.Load = &dmLoadStatus{FinishedBytes: l.FinishedBytes, TotalBytes: l.TotalBytes, Progress: l.Progress, MetaBinlog: l.MetaBinlog, MetaBinlogGTID: l.MetaBinlogGtid}
	}
	if s := st.SyncStatus; s != nil && st.Unit == unitSync {
		out.Sync = dmSyncOf(*s)
	}
	return out
}

func dmSyncOf(s restapi.SyncStatus) *dmSyncStatus {
	out := &dmSyncStatus{
		TotalEvents: s.TotalEvents, TotalTps: s.TotalTps, RecentTps: s.RecentTps,
		MasterBinlog: s.MasterBinlog, MasterBinlogGtid: s.MasterBinlogGtid,
		SyncerBinlog: s.SyncerBinlog, SyncerBinlogGtid: s.SyncerBinlogGtid,
		BlockingDDLs: nonNil(s.BlockingDdls), UnresolvedGroups: []dmShardingGroup{},
		Synced: s.Synced, BinlogType: s.BinlogType, SecondsBehindMaster: s.SecondsBehindMaster,
	}
	for _, g := range s.UnresolvedGroups {
		out.UnresolvedGroups = append(out.UnresolvedGroups, dmShardingGroup{
			Target: g.Target, DDLs: nonNil(g.DdlList), FirstLocation: g.FirstLocation,
			Synced: nonNil(g.Synced), Unsynced: nonNil(g.Unsynced),
		})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// hintOf says what an operator can do about a subtask's error.
func hintOf(st restapi.SubTaskStatus) string {
	if st.ErrorMsg == nil {
		return ""
	}
	msg := strings.ToLower(*st.ErrorMsg)
	switch {
	case st.Unit == unitInvalid && strings.Contains(msg, "no bound worker"):
		return "the source has no worker: start a dm-worker, or see `dmctl list-member --worker`"
	case st.Unit == unitInvalid:
		return "the subtask's worker cannot be asked: see `dmctl list-member --worker`"
	case st.Stage == stagePaused:
		return fmt.Sprintf("fix the cause, then `dmctl resume-task %s`", st.Name)
	case st.Stage == stageRunning:
		return "the subtask retries; it pauses if the error lasts a minute"
	default:
		return ""
	}
}
