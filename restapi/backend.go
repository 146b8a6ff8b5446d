package restapi

import "context"

// Backend is what the master provides to the API handlers. Every method is called on
// the leader only (ForwardToLeader runs first), except Leader itself.
type Backend interface {
	// Leader waits (up to the ctx deadline) for a known leader and says whether it is this master.
	// It returns ErrNoLeader (possibly wrapped) when there is none.
	Leader(ctx context.Context) (Leader, error)
	// ListMasters returns every master member, sorted by name.
	ListMasters(ctx context.Context) ([]ClusterMaster, error)
	// OfflineMaster removes the named master from the cluster.
	OfflineMaster(ctx context.Context, name string) error
	// ListWorkers returns every registered worker, sorted by name.
	ListWorkers(ctx context.Context) ([]ClusterWorker, error)
	// OfflineWorker forgets the named worker, which must be offline.
	OfflineWorker(ctx context.Context, name string) error

	SourceBackend
	RelayBackend
	TaskBackend
	TaskSchemaBackend
	ShardDDLBackend
	TaskConverterBackend
	BinlogOpBackend
}

// TaskConverterBackend serves POST /api/v1/tasks/converters (DM's task JSON <-> task.yaml).
type TaskConverterBackend interface {
	// ConvertTask converts the request's task into a DM task file, or its task file into a
	// task (exactly one is given), and answers with both forms, the target password masked.
	// A file that cannot be read is an error with fsm.CodeConfigYAML naming its lines.
	ConvertTask(ctx context.Context, req ConverterTaskRequest) (ConverterTaskResponse, error)
}

// BinlogOpBackend serves the routes of the operations on binlog events (DM's `binlog
// skip|replace|revert|list`).
type BinlogOpBackend interface {
	// ListBinlogOperations returns the task's pending operations on the sources (all when
	// empty), at or after the position from ("file:pos"; all when ""), sorted by source and
	// position.
	ListBinlogOperations(ctx context.Context, task string, sources []string, from string) ([]BinlogOperation, error)
	// OperateBinlog puts (skip, replace) or takes back (revert) operations, one per source of
	// the request (all of the task's when it lists none), at its binlog_pos or, without one, at
	// the event each subtask stopped on; it returns them.
	OperateBinlog(ctx context.Context, task string, req BinlogOperationRequest) ([]BinlogOperation, error)
}

// ShardDDLBackend serves the shard-DDL lock routes (DM's `shard-ddl-lock`).
type ShardDDLBackend interface {
	// ListShardDDLLocks returns the locks of task (all tasks when ""), sorted by id. An
	// unknown task is an error (46018).
	ListShardDDLLocks(ctx context.Context, task string) ([]ShardDDLLock, error)
	// UnlockShardDDLLock resolves the lock now with action exec (by owner, or the current
	// owner when "") or skip, and returns it as it is after the unlock (its last state, done,
	// when the unlock finished it). An unknown lock is an error (fsm.CodeShardLockNotFound).
	UnlockShardDDLLock(ctx context.Context, id, owner, action string) (ShardDDLLock, error)
}

// TaskSchemaBackend serves the routes on a subtask's schema tracker.
type TaskSchemaBackend interface {
	TaskSchemas(ctx context.Context, task, source string) ([]string, error)
	TaskTables(ctx context.Context, task, source, schema string) ([]string, error)
	TaskTable(ctx context.Context, task, source, schema, table string) (GetTaskTableStructureResponse, error)
	// SetTaskTable replaces the tracked table (the subtask must be paused).
	SetTaskTable(ctx context.Context, task, source, schema, table string, req OperateTaskTableStructureRequest) error
	DeleteTaskTable(ctx context.Context, task, source, schema, table string) error
}

// RelayBackend serves the relay routes of a source.
type RelayBackend interface {
	StartRelay(ctx context.Context, source string, req StartRelayRequest) error
	StopRelay(ctx context.Context, source string, workers []string) error
	// SetRelayStage pauses (running=false) or resumes the source's relay.
	SetRelayStage(ctx context.Context, source string, running bool) error
	// PurgeRelay has every worker that pulls the source's relay log remove its relay files
	// before req's file (DM's purge-relay) and returns what each removed. An unknown source is
	// fsm.CodeSourceNotExist; a source no worker relays, a 400.
	PurgeRelay(ctx context.Context, source string, req DMAPIPurgeRelayJSONRequestBody) ([]PurgeRelayWorkerResult, error)
}

// TaskBackend serves the task routes.
type TaskBackend interface {
	// CreateTask validates and starts a task; it returns the task as stored, passwords masked,
	// and the precheck's warnings (e.g. tables without a primary or unique key).
	CreateTask(ctx context.Context, req CreateTaskRequest) (Task, []string, error)
	// ListTasks returns the tasks as created, sorted by name, masked; withStatus adds each
	// task's status_list.
	ListTasks(ctx context.Context, withStatus bool) ([]Task, error)
	// DeleteTask stops the task's subtasks on the given sources (all when empty).
	DeleteTask(ctx context.Context, name string, sources []string) error
	// SetTaskStage pauses (running=false) or resumes the subtasks on sources (all when empty).
	SetTaskStage(ctx context.Context, name string, sources []string, running bool) error
	// TaskStatus reports one entry per subtask, filtered by sources and stage when given.
	TaskStatus(ctx context.Context, name string, sources []string, stage string) ([]SubTaskStatus, error)
	// GetTask returns the task as stored, masked; withStatus adds status_list. An unknown
	// task is a 404 (46018).
	GetTask(ctx context.Context, name string, withStatus bool) (Task, error)
	// UpdateTask validates and prechecks the task as CreateTask does and replaces the
	// settings of the named task, none of whose subtasks may run; it returns the task as
	// stored, masked, and the precheck's warnings.
	UpdateTask(ctx context.Context, name string, task Task) (Task, []string, error)
	// CheckTask validates the request as CreateTask does and runs its precheck, changing
	// nothing: a task that would not start is a result, not an error.
	CheckTask(ctx context.Context, req CreateTaskRequest) (CheckTaskResponse, error)
}

// SourceBackend serves the data-source routes.
type SourceBackend interface {
	// CreateSource checks the upstream and stores the source; it returns the source as
	// stored, password masked.
	CreateSource(ctx context.Context, src Source) (Source, error)
	// ListSources returns every source sorted by name, masked; withStatus adds status_list.
	ListSources(ctx context.Context, withStatus bool) ([]Source, error)
	// DeleteSource removes a source; force first stops its subtasks.
	DeleteSource(ctx context.Context, name string, force bool) error
	// SourceStatus reports one entry per worker serving the source.
	SourceStatus(ctx context.Context, name string) ([]SourceStatus, error)
	// TransferSource binds the source to another worker.
	TransferSource(ctx context.Context, name, worker string) error
	// SourceSchemas lists the upstream's user schemas.
	SourceSchemas(ctx context.Context, name string) ([]string, error)
	// SourceTables lists the tables of one upstream schema.
	SourceTables(ctx context.Context, name, schema string) ([]string, error)
	// GetSource returns one source, masked; withStatus adds status_list and task_name_list.
	// An unknown source is a 404 (46008).
	GetSource(ctx context.Context, name string, withStatus bool) (Source, error)
	// UpdateSource checks the upstream as CreateSource does and replaces how the named
	// source is reached; it returns the source as stored, masked.
	UpdateSource(ctx context.Context, name string, src Source) (Source, error)
}

// Leader identifies the current leader master.
type Leader struct {
	// Name is the leader's member name.
	Name string
	// APIAddr is the leader's advertised API address, host:port.
	APIAddr string
	// Self is true when the leader is the master that was asked.
	Self bool
}
