package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

// fakeBackend is an in-memory Backend.
type fakeBackend struct {
	mu sync.Mutex

	leader    Leader
	leaderErr error
	// waitForLeader makes Leader block until its context ends, then fail with ErrNoLeader.
	waitForLeader bool

	masters   []ClusterMaster
	workers   []ClusterWorker
	listErr   error
	removeErr error
	panicMsg  string

	offlineMasters []string
	offlineWorkers []string

	// Shard-DDL locks: the list answered, the error of both lock calls, and what was asked.
	locks     []ShardDDLLock
	lockErr   error
	lockTasks []string
	unlocks   []unlockCall

	// DM's newer routes on one source or task: the error of every call, and what was asked.
	inplaceErr   error
	inplaceCalls []string
	binlog       binlogFake // the binlog operation routes (handlers_binlog_ops_test.go)
}

// unlockCall is one UnlockShardDDLLock call seen by the fake.
type unlockCall struct{ id, owner, action string }

func (f *fakeBackend) Leader(ctx context.Context) (Leader, error) {
	f.mu.Lock()
	wait, leader, err := f.waitForLeader, f.leader, f.leaderErr
	f.mu.Unlock()
	if wait {
		<-ctx.Done()
		return Leader{}, fmt.Errorf("waiting for a leader: %w (%w)", ErrNoLeader, ctx.Err())
	}
	return leader, err
}

func (f *fakeBackend) ListMasters(context.Context) ([]ClusterMaster, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	return f.masters, f.listErr
}

func (f *fakeBackend) OfflineMaster(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removeErr != nil {
		return f.removeErr
	}
	f.offlineMasters = append(f.offlineMasters, name)
	return nil
}

func (f *fakeBackend) ListWorkers(context.Context) ([]ClusterWorker, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.workers, f.listErr
}

func (f *fakeBackend) OfflineWorker(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removeErr != nil {
		return f.removeErr
	}
	f.offlineWorkers = append(f.offlineWorkers, name)
	return nil
}

// update changes the fake under its lock (the servers read it concurrently).
func (f *fakeBackend) update(change func(f *fakeBackend)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// offlined returns the masters and workers taken offline so far.
func (f *fakeBackend) offlined() (masters, workers []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.offlineMasters), slices.Clone(f.offlineWorkers)
}

// dmError mimics a DM terror: an error with a numeric code.
type dmError struct {
	code fsm.Code
	msg  string
}

func (e *dmError) Error() string  { return e.msg }
func (e *dmError) ErrorCode() int { return int(e.code) }

// selfLeader is a backend of a single master that is the leader.
func selfLeader(name string) *fakeBackend {
	return &fakeBackend{leader: Leader{Name: name, APIAddr: "127.0.0.1:1", Self: true}}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(t *testing.T) (*slog.Logger, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// newTestServer serves Handler(b) on an httptest server.
func newTestServer(t *testing.T, b Backend, name string) (*httptest.Server, *syncBuffer) {
	t.Helper()
	logger, logs := testLogger(t)
	srv := httptest.NewServer(Handler(b, Options{SelfName: name, Logger: logger}))
	t.Cleanup(srv.Close)
	return srv, logs
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, client *http.Client, method, url, body string, header http.Header) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// requireErrorBody checks the error template and returns its fields.
func requireErrorBody(t *testing.T, r response, status int, code fsm.Code) string {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	var fields map[string]any
	require.NoError(t, json.Unmarshal(r.body, &fields), "body: %s", r.body)
	require.Len(t, fields, 2, "body: %s", r.body)
	msg, ok := fields["error_msg"].(string)
	require.True(t, ok, "error_msg must be a string: %s", r.body)
	require.NotEmpty(t, msg)
	gotCode, ok := fields["error_code"].(float64)
	require.True(t, ok, "error_code must be a number: %s", r.body)
	require.Equal(t, float64(code), gotCode, "body: %s", r.body)
	return msg
}

// The fake answers the source routes as "not implemented", so their routing and validation
// can be tested without a database.
func (f *fakeBackend) CreateSource(context.Context, Source) (Source, error) {
	return Source{}, NotImplemented("create source")
}
func (f *fakeBackend) ListSources(context.Context, bool) ([]Source, error) {
	return nil, NotImplemented("list sources")
}
func (f *fakeBackend) DeleteSource(context.Context, string, bool) error {
	return NotImplemented("delete source")
}
func (f *fakeBackend) SourceStatus(context.Context, string) ([]SourceStatus, error) {
	return nil, NotImplemented("get source status")
}
func (f *fakeBackend) TransferSource(context.Context, string, string) error {
	return NotImplemented("transfer source")
}
func (f *fakeBackend) SourceSchemas(context.Context, string) ([]string, error) {
	return nil, NotImplemented("list source schemas")
}
func (f *fakeBackend) SourceTables(context.Context, string, string) ([]string, error) {
	return nil, NotImplemented("list source tables")
}

func (f *fakeBackend) StartRelay(context.Context, string, StartRelayRequest) error {
	return NotImplemented("start relay")
}
func (f *fakeBackend) StopRelay(context.Context, string, []string) error {
	return NotImplemented("stop relay")
}
func (f *fakeBackend) SetRelayStage(context.Context, string, bool) error {
	return NotImplemented("pause/resume relay")
}
func (f *fakeBackend) CreateTask(context.Context, CreateTaskRequest) (Task, []string, error) {
	return Task{}, nil, NotImplemented("start task")
}
func (f *fakeBackend) ListTasks(context.Context, bool) ([]Task, error) {
	return nil, NotImplemented("list tasks")
}
func (f *fakeBackend) DeleteTask(context.Context, string, []string) error {
	return NotImplemented("delete task")
}
func (f *fakeBackend) SetTaskStage(context.Context, string, []string, bool) error {
	return NotImplemented("pause/resume task")
}
func (f *fakeBackend) TaskStatus(context.Context, string, []string, string) ([]SubTaskStatus, error) {
	return nil, NotImplemented("get task status")
}

func (f *fakeBackend) TaskSchemas(context.Context, string, string) ([]string, error) {
	return nil, NotImplemented("list task schemas")
}
func (f *fakeBackend) TaskTables(context.Context, string, string, string) ([]string, error) {
	return nil, NotImplemented("list task tables")
}
func (f *fakeBackend) TaskTable(context.Context, string, string, string, string) (GetTaskTableStructureResponse, error) {
	return GetTaskTableStructureResponse{}, NotImplemented("get table structure")
}

// SetTaskTable records what the request asks (but answers 501, as the other schema routes).
func (f *fakeBackend) SetTaskTable(_ context.Context, task, source, schema, table string, req OperateTaskTableStructureRequest) error {
	_ = f.inplace("set table %s %s %s.%s sql=%t from_source=%t from_target=%t", task, source, schema, table,
		req.SqlContent != nil, req.FromSource != nil && *req.FromSource, req.FromTarget != nil && *req.FromTarget)
	return NotImplemented("update table structure")
}
func (f *fakeBackend) DeleteTaskTable(context.Context, string, string, string, string) error {
	return NotImplemented("delete table structure")
}

func (f *fakeBackend) ListShardDDLLocks(_ context.Context, task string) ([]ShardDDLLock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lockTasks = append(f.lockTasks, task)
	if f.lockErr != nil {
		return nil, f.lockErr
	}
	return f.locks, nil
}

func (f *fakeBackend) UnlockShardDDLLock(_ context.Context, id, owner, action string) (ShardDDLLock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlocks = append(f.unlocks, unlockCall{id: id, owner: owner, action: action})
	if f.lockErr != nil {
		return ShardDDLLock{}, f.lockErr
	}
	return ShardDDLLock{Id: id, TaskName: "task-1", Mode: ShardDDLLockModePessimistic, Owner: owner, Resolved: true, Action: action}, nil
}

// lockCalls returns the task filters and unlocks the fake was asked for.
func (f *fakeBackend) lockCalls() ([]string, []unlockCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lockTasks), slices.Clone(f.unlocks)
}

// inplace records a call of DM's newer routes and answers with inplaceErr.
func (f *fakeBackend) inplace(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inplaceCalls = append(f.inplaceCalls, fmt.Sprintf(format, args...))
	return f.inplaceErr
}

func (f *fakeBackend) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.inplaceCalls)
}

func (f *fakeBackend) GetSource(_ context.Context, name string, withStatus bool) (Source, error) {
	if err := f.inplace("get source %s %t", name, withStatus); err != nil {
		return Source{}, err
	}
	return Source{SourceName: name, Host: "db", Port: 3306, User: "dm", Password: "******"}, nil
}

func (f *fakeBackend) UpdateSource(_ context.Context, name string, src Source) (Source, error) {
	if err := f.inplace("update source %s %s:%d %s", name, src.Host, src.Port, src.Password); err != nil {
		return Source{}, err
	}
	src.Password = "******"
	return src, nil
}

func (f *fakeBackend) GetTask(_ context.Context, name string, withStatus bool) (Task, error) {
	if err := f.inplace("get task %s %t", name, withStatus); err != nil {
		return Task{}, err
	}
	return Task{Name: name, TaskMode: TaskTaskModeAll, OnDuplicate: TaskOnDuplicateError}, nil
}

func (f *fakeBackend) UpdateTask(_ context.Context, name string, task Task) (Task, []string, error) {
	if err := f.inplace("update task %s %s", name, task.Name); err != nil {
		return Task{}, nil, err
	}
	return task, []string{"source s1: a warning"}, nil
}

func (f *fakeBackend) CheckTask(_ context.Context, req CreateTaskRequest) (CheckTaskResponse, error) {
	if err := f.inplace("check task %s", req.Task.Name); err != nil {
		return CheckTaskResponse{}, err
	}
	return CheckTaskResponse{Result: true, Msg: "pre-check is passed. ", Results: []CheckItem{}}, nil
}

// ConvertTask echoes the task; the conversion itself is restapi/dmyaml's and is tested with a
// real master.
func (f *fakeBackend) ConvertTask(_ context.Context, req ConverterTaskRequest) (ConverterTaskResponse, error) {
	if req.Task == nil {
		return ConverterTaskResponse{}, NotImplemented("converting a task file")
	}
	return ConverterTaskResponse{Task: *req.Task}, nil
}

func (f *fakeBackend) PurgeRelay(_ context.Context, source string, req DMAPIPurgeRelayJSONRequestBody) ([]PurgeRelayWorkerResult, error) {
	dir := ""
	if req.RelayDir != nil {
		dir = *req.RelayDir
	}
	if err := f.inplace("purge relay %s %s %s", source, req.RelayBinlogName, dir); err != nil {
		return nil, err
	}
	return []PurgeRelayWorkerResult{{WorkerName: "worker-1", RelayDir: "/relay/" + source, KeptFrom: req.RelayBinlogName}}, nil
}
