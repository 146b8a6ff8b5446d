package fsm

import "strconv"

// CommandType identifies a command in the log. The numbers are written into every log entry, which
// replicas replay for as long as the log lives, so they are never changed or reused.
type CommandType uint16

const (
	TypeRegisterMaster  CommandType = 1
	TypeRemoveMaster    CommandType = 2
	TypeRegisterWorker  CommandType = 3
	TypeDeleteWorker    CommandType = 4
	TypeAddSource       CommandType = 5
	TypeDeleteSource    CommandType = 6
	TypeBindSource      CommandType = 7
	TypeUnbindSource    CommandType = 8
	TypeStartRelay      CommandType = 9
	TypeStopRelay       CommandType = 10
	TypeSetRelayStage   CommandType = 11
	TypeAddTask         CommandType = 12
	TypeDeleteSubtasks  CommandType = 13
	TypeSetSubtaskStage CommandType = 14
	TypeSetLoadWorker   CommandType = 15

	TypeReportShardDDL    CommandType = 16
	TypeShardDDLDone      CommandType = 17
	TypeUnlockShardDDL    CommandType = 18
	TypeClaimShardColumns CommandType = 19

	TypeSetClusterKey CommandType = 20
	TypeRekeySecrets  CommandType = 21

	TypeSetBinlogOps    CommandType = 22
	TypeRevertBinlogOps CommandType = 23
	TypeBinlogOpDone    CommandType = 24
	TypeUpdateSource    CommandType = 25
	TypeUpdateTask      CommandType = 26
)

func (t CommandType) String() string {
	switch t {
	case TypeRegisterMaster:
		return "RegisterMaster"
	case TypeRemoveMaster:
		return "RemoveMaster"
	case TypeRegisterWorker:
		return "RegisterWorker"
	case TypeDeleteWorker:
		return "DeleteWorker"
	case TypeAddSource:
		return "AddSource"
	case TypeDeleteSource:
		return "DeleteSource"
	case TypeBindSource:
		return "BindSource"
	case TypeUnbindSource:
		return "UnbindSource"
	case TypeStartRelay:
		return "StartRelay"
	case TypeStopRelay:
		return "StopRelay"
	case TypeSetRelayStage:
		return "SetRelayStage"
	case TypeAddTask:
		return "AddTask"
	case TypeDeleteSubtasks:
		return "DeleteSubtasks"
	case TypeSetSubtaskStage:
		return "SetSubtaskStage"
	case TypeSetLoadWorker:
		return "SetLoadWorker"
	case TypeReportShardDDL:
		return "ReportShardDDL"
	case TypeShardDDLDone:
		return "ShardDDLDone"
	case TypeUnlockShardDDL:
		return "UnlockShardDDL"
	case TypeClaimShardColumns:
		return "ClaimShardColumns"
	case TypeSetClusterKey:
		return "SetClusterKey"
	case TypeRekeySecrets:
		return "RekeySecrets"
	case TypeSetBinlogOps:
		return "SetBinlogOps"
	case TypeRevertBinlogOps:
		return "RevertBinlogOps"
	case TypeBinlogOpDone:
		return "BinlogOpDone"
	case TypeUpdateSource:
		return "UpdateSource"
	case TypeUpdateTask:
		return "UpdateTask"
	}
	return "CommandType(" + strconv.Itoa(int(t)) + ")"
}

// newCommand returns an empty command of type t to decode a body into. A switch rather than a
// lookup table keeps the package free of mutable globals.
func newCommand(t CommandType) (Command, bool) {
	switch t {
	case TypeRegisterMaster:
		return &RegisterMaster{}, true
	case TypeRemoveMaster:
		return &RemoveMaster{}, true
	case TypeRegisterWorker:
		return &RegisterWorker{}, true
	case TypeDeleteWorker:
		return &DeleteWorker{}, true
	case TypeAddSource:
		return &AddSource{}, true
	case TypeDeleteSource:
		return &DeleteSource{}, true
	case TypeBindSource:
		return &BindSource{}, true
	case TypeUnbindSource:
		return &UnbindSource{}, true
	case TypeStartRelay:
		return &StartRelay{}, true
	case TypeStopRelay:
		return &StopRelay{}, true
	case TypeSetRelayStage:
		return &SetRelayStage{}, true
	case TypeAddTask:
		return &AddTask{}, true
	case TypeDeleteSubtasks:
		return &DeleteSubtasks{}, true
	case TypeSetSubtaskStage:
		return &SetSubtaskStage{}, true
	case TypeSetLoadWorker:
		return &SetLoadWorker{}, true
	case TypeReportShardDDL:
		return &ReportShardDDL{}, true
	case TypeShardDDLDone:
		return &ShardDDLDone{}, true
	case TypeUnlockShardDDL:
		return &UnlockShardDDL{}, true
	case TypeClaimShardColumns:
		return &ClaimShardColumns{}, true
	case TypeSetClusterKey:
		return &SetClusterKey{}, true
	case TypeRekeySecrets:
		return &RekeySecrets{}, true
	case TypeSetBinlogOps:
		return &SetBinlogOps{}, true
	case TypeRevertBinlogOps:
		return &RevertBinlogOps{}, true
	case TypeBinlogOpDone:
		return &BinlogOpDone{}, true
	case TypeUpdateSource:
		return &UpdateSource{}, true
	case TypeUpdateTask:
		return &UpdateTask{}, true
	}
	return nil, false
}

// Command is one state change, as proposed to the Raft log.
type Command interface {
	CommandType() CommandType
}

// RegisterMaster adds a master or replaces the one with the same name.
type RegisterMaster struct {
	Name       string `json:"name"`
	APIAddr    string `json:"api_addr"`
	PeerAddr   string `json:"peer_addr"`
	GossipAddr string `json:"gossip_addr"`
}

// RemoveMaster forgets a master; an unknown name is rejected with CodeMasterNotExist.
type RemoveMaster struct {
	Name string `json:"name"`
}

// RegisterWorker adds a worker or replaces the one with the same name. TTLs are in seconds.
type RegisterWorker struct {
	Name              string `json:"name"`
	Addr              string `json:"addr"`
	GossipAddr        string `json:"gossip_addr"`
	KeepaliveTTL      int64  `json:"keepalive_ttl"`
	RelayKeepaliveTTL int64  `json:"relay_keepalive_ttl"`
}

// DeleteWorker forgets a worker, unbinding its source and dropping it from any relay.
type DeleteWorker struct {
	Name string `json:"name"`
}

// AddSource registers a new source, initially unbound.
type AddSource struct {
	Source Source `json:"source"`
}

// DeleteSource removes a source that no task uses and no worker relays, and its binding.
type DeleteSource struct {
	Name string `json:"name"`
}

// BindSource binds a source to a worker. Rebind allows moving a source that is already bound.
type BindSource struct {
	Source string `json:"source"`
	Worker string `json:"worker"`
	Rebind bool   `json:"rebind"`
}

// UnbindSource leaves a source without a worker; unbinding an unbound source is a no-op.
type UnbindSource struct {
	Source string `json:"source"`
}

// StartRelay makes workers pull the source's binlog into their relay logs. Non-empty relay
// settings replace the source's.
type StartRelay struct {
	Source     string   `json:"source"`
	Workers    []string `json:"workers"`
	BinlogName string   `json:"binlog_name,omitempty"`
	BinlogGTID string   `json:"binlog_gtid,omitempty"`
	RelayDir   string   `json:"relay_dir,omitempty"`
}

// StopRelay stops the relay of the source on the workers; workers not relaying are skipped.
type StopRelay struct {
	Source  string   `json:"source"`
	Workers []string `json:"workers"`
}

// SetRelayStage pauses or resumes the source's relay on all its relay workers.
type SetRelayStage struct {
	Source string `json:"source"`
	Stage  Stage  `json:"stage"`
}

// AddTask creates a task, or adds to an existing task the subtasks it does not have yet.
type AddTask struct {
	Task Task `json:"task"`
}

// DeleteSubtasks removes the task's subtasks on Sources (all of them when empty); the task goes
// with its last subtask.
type DeleteSubtasks struct {
	Task    string   `json:"task"`
	Sources []string `json:"sources,omitempty"`
}

// SetSubtaskStage sets the expected stage of the task's subtasks on Sources (all when empty).
type SetSubtaskStage struct {
	Task    string   `json:"task"`
	Sources []string `json:"sources,omitempty"`
	Stage   Stage    `json:"stage"`
}

// SetLoadWorker records which worker holds the dump files of a subtask's unfinished load
// (Worker ""  once the load is done), so the scheduler can send the source back to it.
type SetLoadWorker struct {
	Task   string `json:"task"`
	Source string `json:"source"`
	Worker string `json:"worker,omitempty"`
}

func (SetLoadWorker) CommandType() CommandType { return TypeSetLoadWorker }

// ReportShardDDL tells that the source's shard tables routed into Target reached DDLs: it joins
// the pessimistic lock on the task's target table, creating it if it is the first.
type ReportShardDDL struct {
	Task   string   `json:"task"`
	Source string   `json:"source"`
	Target string   `json:"target"`
	DDLs   []string `json:"ddls"`
}

// ShardDDLDone is sent by the lock's owner once it ran the DDLs downstream, and by every source
// (the owner included) once its stream is past them. An unknown lock is a no-op.
type ShardDDLDone struct {
	ID     string `json:"id"`
	Source string `json:"source"`
}

// UnlockShardDDL resolves a lock by hand, without waiting for the sources that have not
// reported. Action is ShardActionExec ("" means it) or ShardActionSkip; Owner "" keeps the owner.
type UnlockShardDDL struct {
	ID     string `json:"id"`
	Owner  string `json:"owner,omitempty"`
	Action string `json:"action,omitempty"`
}

// ClaimShardColumns records that the shard Table of Source adds Columns to the task's merged
// Target table (optimistic mode); shards must agree on the definition of every column.
type ClaimShardColumns struct {
	Task    string      `json:"task"`
	Target  string      `json:"target"`
	Source  string      `json:"source"`
	Table   string      `json:"table"`
	Columns []ColumnDef `json:"columns"`
}

func (ReportShardDDL) CommandType() CommandType    { return TypeReportShardDDL }
func (ShardDDLDone) CommandType() CommandType      { return TypeShardDDLDone }
func (UnlockShardDDL) CommandType() CommandType    { return TypeUnlockShardDDL }
func (ClaimShardColumns) CommandType() CommandType { return TypeClaimShardColumns }

func (RegisterMaster) CommandType() CommandType  { return TypeRegisterMaster }
func (RemoveMaster) CommandType() CommandType    { return TypeRemoveMaster }
func (RegisterWorker) CommandType() CommandType  { return TypeRegisterWorker }
func (DeleteWorker) CommandType() CommandType    { return TypeDeleteWorker }
func (AddSource) CommandType() CommandType       { return TypeAddSource }
func (DeleteSource) CommandType() CommandType    { return TypeDeleteSource }
func (BindSource) CommandType() CommandType      { return TypeBindSource }
func (UnbindSource) CommandType() CommandType    { return TypeUnbindSource }
func (StartRelay) CommandType() CommandType      { return TypeStartRelay }
func (StopRelay) CommandType() CommandType       { return TypeStopRelay }
func (SetRelayStage) CommandType() CommandType   { return TypeSetRelayStage }
func (AddTask) CommandType() CommandType         { return TypeAddTask }
func (DeleteSubtasks) CommandType() CommandType  { return TypeDeleteSubtasks }
func (SetSubtaskStage) CommandType() CommandType { return TypeSetSubtaskStage }

// SetBinlogOps puts operations on events of the task's subtasks (DM's `binlog skip|replace`),
// each replacing an operation already on its event; all or none are put. Resume lists sources
// whose subtask stopped on one of those events: a subtask of them whose stage is Running is
// retried, as a resume would (Resumes is raised).
type SetBinlogOps struct {
	Task   string     `json:"task"`
	Ops    []BinlogOp `json:"ops"` // each names Task
	Resume []string   `json:"resume,omitempty"`
}

// RevertBinlogOps takes back pending operations of the task (DM's `binlog revert`); every event
// must have one (CodeSyncerOperatorNotExist), and all or none are taken back.
type RevertBinlogOps struct {
	Task   string        `json:"task"`
	Events []BinlogEvent `json:"events"`
}

// BinlogOpDone is sent by the worker of the source once its checkpoint is past the event of an
// operation: the operation is removed. An operation that is not there any more is a no-op.
type BinlogOpDone struct {
	Task string `json:"task"`
	BinlogEvent
}

func (SetBinlogOps) CommandType() CommandType    { return TypeSetBinlogOps }
func (RevertBinlogOps) CommandType() CommandType { return TypeRevertBinlogOps }
func (BinlogOpDone) CommandType() CommandType    { return TypeBinlogOpDone }
