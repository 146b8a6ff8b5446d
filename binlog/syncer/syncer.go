package syncer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/internal/retry"
	"github.com/dm-oss/dm/binlog/internal/session"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/schema"
	"github.com/dm-oss/dm/binlog/tracker"
)

// Defaults of Config.
const (
	DefaultWorkers    = 16
	DefaultBatch      = 100
	DefaultMetaSchema = "dm_meta"
	DefaultRetryFor   = 5 * time.Minute
	// flushInterval: the global checkpoint is written at least this often while events flow
	// (and as soon as the stream goes idle).
	flushInterval = time.Second
	tickInterval  = 200 * time.Millisecond
	// stopGrace bounds the final flush when Run's context ends.
	stopGrace = 10 * time.Second
)

// Config configures one sync unit (one task's subtask on one source).
type Config struct {
	Task, Source string
	// Worker is the dm-worker's name, used as the "worker" metric label.
	Worker string
	// Target is the downstream database (upstream.Open opens one); the caller closes it after
	// Run. Run sizes its idle pool to the replay workers.
	Target *sql.DB
	// MetaSchema holds the checkpoint table in the target; default "dm_meta".
	MetaSchema string
	// Workers is repl_threads (default 16), Batch repl_batch (default 100).
	Workers, Batch int
	// Applier (optional) applies the replay's row changes; nil is NewSQLApplier(Target).
	Applier Applier
	// Rules selects, routes and filters tables; nil migrates every non-system table as is.
	Rules *rules.Rules
	// Schemas describes the upstream tables; nil uses schema.FromDB(Upstream). Ignored when
	// Tracker is set.
	Schemas schema.Source
	// Tracker (optional) follows the upstream tables' definitions through the binlog's DDL,
	// so that rows are decoded with the definition current at their position (see tracker.go).
	// Its state is stored with the global checkpoint and restored at Run start; the first start
	// uses it as given (seeded by the caller, or empty: each table is then read from the live
	// upstream when first needed). Needs Upstream.
	Tracker *tracker.Tracker
	// Upstream (optional) is a connection to the upstream for the master position, the lag
	// and, when Schemas is nil, table definitions.
	Upstream *sql.DB
	// BinlogType is shown in Status: "remote" or "local" (reading a relay log).
	BinlogType string
	// SafeModeUntil (optional) forces safe mode for the transactions that start at or before it.
	SafeModeUntil binlog.Location
	// UpstreamID (optional) identifies the upstream server whose binlog the reader yields (for
	// example its flavor and server_id). The checkpoint records it; a checkpoint written
	// reading another server is resumed by GTID set (moved.go). Empty: not recorded, never
	// compared.
	UpstreamID string
	// Registerer receives the dm_syncer_* metrics; nil registers nothing.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// OnlineDDL is enhance_online_schema_change: the helper tables of gh-ost (_t_gho, _t_ghc,
	// _t_del) and pt-osc (_t_new, _t_old) are not replicated, the ALTERs on the ghost table are
	// recorded (<MetaSchema>.<Task>_onlineddl) and applied to the real table at the cut-over
	// RENAME (see onlineddl.go).
	OnlineDDL bool
	// ShardMode is "" (no shard merge), ShardPessimistic or ShardOptimistic (see shard.go).
	// Both need Upstream and Coordinator; pessimistic also OpenReader.
	ShardMode string
	// Coordinator coordinates shard DDLs with the other sources of the task.
	Coordinator Coordinator
	// OpenReader opens another reader of the same binlog at loc: pessimistic shard mode
	// re-reads the rows it held back once a lock resolves.
	OpenReader func(ctx context.Context, loc binlog.Location) (binlog.Reader, error)
	// Collation is collation_compatible: ddl.CollationStrict (the default: DDL that leaves a
	// character set or collation to defaults is replayed with what the upstream resolved) or
	// ddl.CollationLoose (replayed as written).
	Collation string
	// RetryFor is how long a transient target error (lost connection, deadlock, restart) is
	// retried before Run gives up; default five minutes.
	RetryFor time.Duration
	// EventOps (optional) are an operator's operations on single binlog events: skip one, or
	// run other statements instead (DM's `binlog skip|replace`; see eventops.go).
	EventOps EventOps
	// Epoch (optional) is this run's binding epoch: a number that grows with every binding of
	// the source to a worker (dm-worker gives the Raft index of a desired state that binds it).
	// Run claims the (task, source) on the target with it, and every write of the run checks
	// that no run with a higher epoch has claimed since (fence.go); Run then fails with
	// ErrSuperseded. 0 turns the fence off: the caller guarantees one run at a time.
	Epoch uint64
}

// Syncer replays one upstream's binlog into the target. Status may be called at any time,
// from any goroutine; Run runs once at a time.
type Syncer struct {
	cfg     Config
	log     *slog.Logger
	schemas schema.Source
	metrics *metrics
	running atomic.Bool

	totalEvents atomic.Int64
	bytesRead   atomic.Int64 // bytes of the binlog events read, for remaining_time
	mu          sync.Mutex
	st          statusState
	// retries are the target writes being retried (replay workers, the control connection),
	// for Status.
	retries retry.Board

	// abrupt (tests): when Run's context ends, stop at once, without the final flush, as a
	// crash would.
	abrupt bool
	// noAutoSafe (tests): no safe mode after an unclean stop, to prove the resume exact.
	noAutoSafe bool
}

// New validates cfg and returns a Syncer. Nothing is connected before Run.
func New(cfg Config) (*Syncer, error) {
	if cfg.Task == "" {
		return nil, errors.New("syncer: task name is empty")
	}
	if cfg.Source == "" {
		return nil, errors.New("syncer: source name is empty")
	}
	if cfg.Target == nil {
		return nil, errors.New("syncer: no target database")
	}
	if cfg.MetaSchema == "" {
		cfg.MetaSchema = DefaultMetaSchema
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = DefaultRetryFor
	}
	var err error
	if cfg.Collation, err = ddl.CollationMode(cfg.Collation); err != nil {
		return nil, fmt.Errorf("syncer: %w", err)
	}
	if cfg.BinlogType == "" {
		cfg.BinlogType = "remote"
	}
	switch cfg.ShardMode {
	case "", ShardPessimistic, ShardOptimistic:
	default:
		return nil, fmt.Errorf("syncer: shard mode %q must be %q, %q or empty", cfg.ShardMode, ShardPessimistic, ShardOptimistic)
	}
	if cfg.ShardMode != "" && (cfg.Coordinator == nil || cfg.Upstream == nil) {
		return nil, errors.New("syncer: shard mode needs a Coordinator and an Upstream connection")
	}
	if cfg.ShardMode == ShardPessimistic && cfg.OpenReader == nil {
		return nil, errors.New("syncer: pessimistic shard mode needs OpenReader to replay the rows it holds back")
	}
	if len(cfg.Task)+len("_syncer_checkpoint") > 64 {
		return nil, fmt.Errorf("syncer: task name %q is too long for the checkpoint table name (at most %d characters)", cfg.Task, 64-len("_syncer_checkpoint"))
	}
	s := &Syncer{cfg: cfg, log: cfg.Logger, schemas: cfg.Schemas}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.log = s.log.With("task", cfg.Task, "source", cfg.Source, "unit", "sync")
	if cfg.Tracker != nil {
		if cfg.Upstream == nil {
			return nil, errors.New("syncer: a Tracker needs an Upstream connection to read the tables it does not know")
		}
		s.schemas = cfg.Tracker.Source(cfg.Upstream)
	}
	if s.schemas == nil {
		if cfg.Upstream == nil {
			return nil, errors.New("syncer: give Schemas or an Upstream connection to read table definitions from")
		}
		s.schemas = schema.FromDB(cfg.Upstream)
	}
	s.metrics = newMetrics(newCollectors(cfg.Registerer), cfg.Task, cfg.Source, cfg.Worker, cfg.Workers)
	s.st.binlogType = cfg.BinlogType
	return s, nil
}

// match reports whether a table (table "" = a schema) is migrated.
func (s *Syncer) match(schemaName, table string) bool {
	if strings.EqualFold(schemaName, s.cfg.MetaSchema) {
		return false
	}
	if s.cfg.Rules == nil {
		return !rules.IsSystemSchema(schemaName)
	}
	return s.cfg.Rules.Match(schemaName, table)
}

// ResumeLocation is where the reader must start for this Syncer's task and source: the
// lowest location every replay worker has fully committed. It is the zero Location when there
// is no checkpoint yet (the caller then starts from the task's meta or the dump position).
// When the checkpoint was written reading another upstream server than Config.UpstreamID, the
// location is a GTID set alone, and the reader must be opened by GTID (moved.go).
func (s *Syncer) ResumeLocation(ctx context.Context) (binlog.Location, error) {
	st, err := loadState(ctx, s.cfg.Target, s.cfg.MetaSchema, s.cfg.Task, s.cfg.Source, false)
	if err != nil {
		if code := mysqlCode(err); code == 1146 || code == 1049 { // no table / no schema
			return binlog.Location{}, nil
		}
		return binlog.Location{}, fmt.Errorf("load checkpoint of task %q source %q: %w", s.cfg.Task, s.cfg.Source, err)
	}
	if !st.found() {
		return binlog.Location{}, nil
	}
	if from, moved := st.movedFrom(s.cfg.UpstreamID); moved {
		return st.moveResume(from, s.cfg.UpstreamID)
	}
	return st.resume(), nil
}

// targetSession prepares a target session: UTC for TIMESTAMP strings (the reader must hand
// TIMESTAMP values over as UTC strings), a permissive sql_mode that keeps zero dates and
// explicit zeros in AUTO_INCREMENT columns and backslash escapes (our literals use them), and
// no foreign key checks (rows of one table may be applied out of order relative to another).
var targetSession = session.Setup{Required: []string{
	"SET NAMES utf8mb4",
	"SET SESSION time_zone = '+00:00'",
	"SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'",
	"SET SESSION foreign_key_checks = 0",
}}

// statusState is the part of Status that Run updates.
type statusState struct {
	binlogType  string
	started     time.Time
	stopped     time.Time
	running     bool
	checkpoint  binlog.Location // flushed global checkpoint
	seen        binlog.Location // end of the last event read
	master      binlog.Location
	masterKnown bool
	clockOffset time.Duration // upstream clock - local clock
	offsetKnown bool
	pendingTS   int64 // upstream timestamp of the oldest transaction not yet flushed; 0 none
	// aheadAt is a master position the checkpoint had not reached when pollMaster saw it, at
	// aheadSince: the lag while the dispatcher has not read (or not flushed) what lies
	// before it, so has no timestamp for it.
	aheadAt    binlog.Location
	aheadSince time.Time
	samples    []tpsSample
	// shard merge
	shardGroups  []ShardGroup
	lockID       string
	blockingDDLs []string
	shardFirst   binlog.Location // the earliest held-back DDL; zero when none
}

type tpsSample struct {
	at     time.Time
	events int64
	bytes  int64 // bytes of the events read so far
}

// Status is the sync unit's sync_status.
type Status struct {
	TotalEvents int64 `json:"total_events"`
	TotalTPS    int64 `json:"total_tps"`
	RecentTPS   int64 `json:"recent_tps"`
	// MasterBinlog is "(file, pos)" as DM shows it; MasterLocation the same as a Location.
	MasterBinlog     string          `json:"master_binlog"`
	MasterBinlogGTID string          `json:"master_binlog_gtid"`
	MasterLocation   binlog.Location `json:"-"`
	// SyncerBinlog is the flushed checkpoint: everything before it is in the target.
	SyncerBinlog        string          `json:"syncer_binlog"`
	SyncerBinlogGTID    string          `json:"syncer_binlog_gtid"`
	SyncerLocation      binlog.Location `json:"-"`
	Synced              bool            `json:"synced"`
	SecondsBehindMaster int64           `json:"seconds_behind_master"`
	BinlogType          string          `json:"binlog_type"`
	// Shard merge (pessimistic): the lock this source waits on, its DDLs, and the groups with
	// held-back tables.
	UnresolvedDDLLockID string       `json:"-"`
	BlockingDDLs        []string     `json:"blocking_ddls"`
	UnresolvedGroups    []ShardGroup `json:"unresolved_groups"`
	// NeededFrom is the oldest binlog position the sync unit may still read: the checkpoint,
	// or an earlier held-back DDL whose rows will be replayed. Relay purge keeps it.
	NeededFrom binlog.Location `json:"-"`
	// Retrying is set while a transient target error has been retried for a second or more
	// (the target is down or restarting): since when, and the last error. Run stops with the
	// error if it lasts Config.RetryFor.
	Retrying *binlog.Retrying `json:"-"`
}

// Status reports progress. The master position comes from the Upstream connection when one
// was given (polled every second), else from the last event read.
func (s *Syncer) Status() Status {
	now := time.Now()
	total := s.totalEvents.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.st
	out := Status{TotalEvents: total, BinlogType: st.binlogType}
	end := now
	if !st.running && !st.stopped.IsZero() {
		end = st.stopped
	}
	if !st.started.IsZero() {
		if secs := end.Sub(st.started).Seconds(); secs > 0 {
			out.TotalTPS = int64(float64(total) / secs)
		}
	}
	if len(st.samples) > 0 {
		first := st.samples[0]
		if secs := end.Sub(first.at).Seconds(); secs >= 0.5 && st.running {
			out.RecentTPS = int64(float64(total-first.events) / secs)
		}
	}
	master := st.seen
	if st.masterKnown {
		master = st.master
	}
	out.MasterLocation, out.MasterBinlog, out.MasterBinlogGTID = master, master.String(), master.GTIDSet
	out.SyncerLocation, out.SyncerBinlog, out.SyncerBinlogGTID = st.checkpoint, st.checkpoint.String(), st.checkpoint.GTIDSet
	out.Synced = st.pendingTS == 0 && locEqual(st.checkpoint, master) && len(st.shardGroups) == 0 && !s.retries.Busy()
	out.UnresolvedDDLLockID = st.lockID
	out.BlockingDDLs = append([]string{}, st.blockingDDLs...)
	out.UnresolvedGroups = append([]ShardGroup{}, st.shardGroups...)
	out.NeededFrom = st.checkpoint
	if !st.shardFirst.IsZero() && compareLoc(st.shardFirst, st.checkpoint) < 0 {
		out.NeededFrom = st.shardFirst
	}
	out.SecondsBehindMaster = s.lagLocked(now)
	out.Retrying = s.retries.Current(now, s.cfg.RetryFor)
	return out
}

// lagLocked is the age of the oldest upstream event not yet applied: upstream now minus the
// timestamp of the oldest transaction not yet flushed, which the dispatcher publishes as soon
// as it reads it (before it may block on a worker or a retry). When no transaction is pending
// but the checkpoint is still behind a master position pollMaster saw, the events before it
// are at least as old as that sighting. 0 when nothing is pending. It does not depend on the
// dispatcher's loop, which is blocked while the target is down.
func (s *Syncer) lagLocked(now time.Time) int64 {
	st := &s.st
	if st.pendingTS != 0 {
		return max(now.Add(st.clockOffset).Unix()-st.pendingTS, 0)
	}
	if !st.aheadSince.IsZero() && compareLoc(st.checkpoint, st.aheadAt) < 0 {
		return max(int64(now.Sub(st.aheadSince)/time.Second), 0)
	}
	return 0
}

// notePending publishes the timestamp of a transaction the dispatcher began while nothing
// was pending, so that the lag counts it even if the dispatcher blocks before its next tick.
// A value already there is older (a flush that has not been written yet) and stays.
func (s *Syncer) notePending(ts int64) {
	s.mu.Lock()
	if s.st.pendingTS == 0 {
		s.st.pendingTS = ts
	}
	s.mu.Unlock()
	s.refreshLag(time.Now())
}

// noteMaster records the master position pollMaster read at now, and keeps the first sighting
// of a position the checkpoint has not reached until the checkpoint reaches it.
func (st *statusState) noteMaster(loc binlog.Location, now time.Time) {
	st.master, st.masterKnown = loc, true
	if !st.aheadSince.IsZero() && compareLoc(st.checkpoint, st.aheadAt) < 0 {
		return
	}
	st.aheadAt, st.aheadSince = binlog.Location{}, time.Time{}
	if compareLoc(st.checkpoint, loc) < 0 {
		st.aheadAt, st.aheadSince = loc, now
	}
}

// refreshLag sets the lag gauge from the status: run by the watcher (and after each flush),
// so that it keeps growing while the dispatcher is blocked.
func (s *Syncer) refreshLag(now time.Time) {
	s.mu.Lock()
	lag := s.lagLocked(now)
	s.mu.Unlock()
	s.metrics.lag.Set(float64(lag))
}

// watch keeps the parts of the status that age (the lag gauge, the TPS samples) current until
// ctx ends, independently of the dispatcher.
func (s *Syncer) watch(ctx context.Context) {
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.recordSample(now)
			s.refreshLag(now)
			s.observeLag(now)
		}
	}
}

// observeLag adds the lag to the replication_lag histogram and sets remaining_time: the
// bytes behind the master over the bytes read per second in the last samples. Only within
// the master's binlog file are the bytes behind known; while the syncer reads an older file
// the master's position is a lower bound of them.
func (s *Syncer) observeLag(now time.Time) {
	s.mu.Lock()
	lag := s.lagLocked(now)
	st := &s.st
	var behind int64
	if st.masterKnown && compareLoc(st.seen, st.master) < 0 {
		behind = int64(st.master.Pos)
		if st.seen.File == st.master.File {
			behind -= int64(st.seen.Pos)
		}
	}
	var rate float64
	if n := len(st.samples); n > 1 {
		first, last := st.samples[0], st.samples[n-1]
		if d := last.at.Sub(first.at).Seconds(); d > 0 {
			rate = float64(last.bytes-first.bytes) / d
		}
	}
	s.mu.Unlock()
	s.metrics.lagHist.Observe(float64(lag))
	switch {
	case behind <= 0:
		s.metrics.remaining.Set(0)
	case rate > 0:
		s.metrics.remaining.Set(float64(behind) / rate)
	default:
		// Behind and reading nothing: no estimate is honest but "not soon".
		s.metrics.remaining.Set(math.Inf(1))
	}
}

// locEqual compares GTID sets when both have one, else positions. The same GTID set at two
// positions means nothing but header events lie between them: the checkpoint of a run resumed
// by GTID on another server (a failover) stands at the new binlog's header events, and a
// master whose binlog rotated stands past a new file's; both are synced.
func locEqual(a, b binlog.Location) bool {
	if a.GTIDSet != "" && b.GTIDSet != "" {
		return a.GTIDSet == b.GTIDSet
	}
	return a.File != "" && a.File == b.File && a.Pos == b.Pos
}

func (s *Syncer) recordSample(now time.Time) {
	total, bytes := s.totalEvents.Load(), s.bytesRead.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.samples = append(s.st.samples, tpsSample{at: now, events: total, bytes: bytes})
	// keep ~10 s
	for len(s.st.samples) > 1 && now.Sub(s.st.samples[0].at) > 10*time.Second {
		s.st.samples = s.st.samples[1:]
	}
}
