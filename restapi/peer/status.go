package peer

import "github.com/dm-oss/dm/fsm"

// PathWorkerStatus is served by every worker: what it runs and how it is doing.
const PathWorkerStatus = "/internal/v1/status"

// WorkerStatus is a worker's own report, read by the leader for source and task status.
type WorkerStatus struct {
	Name  string `json:"name"`
	Index uint64 `json:"index"` // FSM index of the desired state it acts on
	// Registered is false until the masters have accepted the worker.
	Registered bool `json:"registered"`
	// BoundSource is the source bound to it ("" when free).
	BoundSource string `json:"bound_source,omitempty"`
	// SourceError says why the bound source could not be opened ("" when fine).
	SourceError string `json:"source_error,omitempty"`
	// Subtasks reports every subtask the worker runs or ran for its bound source.
	Subtasks []SubtaskStatus `json:"subtasks"`
	// Relay reports the relay log it pulls, if any.
	Relay *RelayStatus `json:"relay,omitempty"`
}

// SubtaskStatus is a worker's report on one subtask.
type SubtaskStatus struct {
	Task     string      `json:"task"`
	Source   string      `json:"source"`
	Stage    string      `json:"stage"` // New | Running | Paused | Stopped | Finished
	Unit     string      `json:"unit"`  // Dump | Load | Sync
	ErrorMsg string      `json:"error_msg,omitempty"`
	Dump     *DumpStatus `json:"dump,omitempty"`
	Load     *LoadStatus `json:"load,omitempty"`
	Sync     *SyncStatus `json:"sync,omitempty"`
	// UnresolvedDDLLockID is the shard-DDL lock the subtask waits on ("" when none).
	UnresolvedDDLLockID string `json:"unresolved_ddl_lock_id,omitempty"`
	// FailedEvent is the binlog event the subtask stopped on, when its error is one.
	FailedEvent *FailedEvent `json:"failed_event,omitempty"`
}

// RelayStatus is a worker's report on the relay log it pulls.
type RelayStatus struct {
	Source string         `json:"source"`
	Status RelayLogStatus `json:"status"`
	Error  string         `json:"error,omitempty"`
}

// Units of a subtask, as DM names them in status.
const (
	UnitDump = "Dump"
	UnitLoad = "Load"
	UnitSync = "Sync"
	// UnitInvalid is DM's word for a unit nobody can tell (the subtask's worker is unreachable).
	UnitInvalid = "InvalidUnit"
)

// FirstUnit is the unit a subtask of the task runs first: Sync for an incremental task, else Dump.
func FirstUnit(t fsm.TaskSpec) string {
	if t.Mode == fsm.TaskModeIncremental {
		return UnitSync
	}
	return UnitDump
}

// The status objects below are what a worker reports of its units; the master hands them on in
// DM's status answers. Each mirrors its restapi model field for field (names and types; the
// JSON is the same), so that the master converts them with a type conversion, which stops
// compiling if the two drift apart, while dm-worker never links the restapi package.

// DumpStatus is a dump unit's progress: restapi.DumpStatus.
type DumpStatus struct {
	Bps               int64   `json:"bps"`
	CompletedTables   float64 `json:"completed_tables"`
	EstimateTotalRows float64 `json:"estimate_total_rows"`
	FinishedBytes     float64 `json:"finished_bytes"`
	FinishedRows      float64 `json:"finished_rows"`
	Progress          string  `json:"progress"`
	TotalTables       int64   `json:"total_tables"`
}

// LoadStatus is a load unit's progress: restapi.LoadStatus.
type LoadStatus struct {
	FinishedBytes  int64  `json:"finished_bytes"`
	MetaBinlog     string `json:"meta_binlog"`
	MetaBinlogGtid string `json:"meta_binlog_gtid"`
	Progress       string `json:"progress"`
	TotalBytes     int64  `json:"total_bytes"`
}

// SyncStatus is a sync unit's progress: restapi.SyncStatus.
type SyncStatus struct {
	BinlogType          string          `json:"binlog_type"`
	BlockingDdls        []string        `json:"blocking_ddls"`
	MasterBinlog        string          `json:"master_binlog"`
	MasterBinlogGtid    string          `json:"master_binlog_gtid"`
	RecentTps           int64           `json:"recent_tps"`
	SecondsBehindMaster int64           `json:"seconds_behind_master"`
	Synced              bool            `json:"synced"`
	SyncerBinlog        string          `json:"syncer_binlog"`
	SyncerBinlogGtid    string          `json:"syncer_binlog_gtid"`
	TotalEvents         int64           `json:"total_events"`
	TotalTps            int64           `json:"total_tps"`
	UnresolvedGroups    []ShardingGroup `json:"unresolved_groups"`
}

// ShardingGroup is a shard group waiting on DDLs: restapi.ShardingGroup.
type ShardingGroup struct {
	DdlList       []string `json:"ddl_list"`
	FirstLocation string   `json:"first_location"`
	Synced        []string `json:"synced"`
	Target        string   `json:"target"`
	Unsynced      []string `json:"unsynced"`
}

// RelayLogStatus is a relay's progress: restapi.RelayStatus.
type RelayLogStatus struct {
	MasterBinlog       string `json:"master_binlog"`
	MasterBinlogGtid   string `json:"master_binlog_gtid"`
	RelayBinlogGtid    string `json:"relay_binlog_gtid"`
	RelayCatchUpMaster bool   `json:"relay_catch_up_master"`
	RelayDir           string `json:"relay_dir"`
	Stage              string `json:"stage"`
}
