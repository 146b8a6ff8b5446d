// Package syncer is the sync unit: it replays an upstream's binlog (a binlog.Reader, remote or
// from a relay log) into a MySQL, MariaDB or TiDB target, continuously, with parallel replay
// workers, and resumes after any stop without losing or re-applying a committed change.
//
// # Roles
//
// A Run is split by role, each in files of its own:
//
//   - run.go, setup.go: the Run's wiring (reader goroutine, replay workers, status watcher,
//     upstream poll) and its start: the checkpoint read, resumePlan (a pure function of the
//     checkpoint rows), the tracker and shard state restored.
//   - dispatch.go, position.go, table.go: the event loop and causality dispatch: positions and
//     transactions, rows decoded by the tableDecoder, jobs hashed to the replay workers,
//     conflicts and barriers.
//   - replay.go, applier.go, sqlapplier.go: the replay workers hand batches to an Applier (the
//     default writes SQL statements and the checkpoint in one target transaction).
//   - flush.go, checkpoint.go, control.go: the global checkpoint, written through the control
//     connection (one retrying connection for checkpoint, DDL and the shard lock).
//   - apply_ddl.go, ddl_rewrite.go, onlineddl.go, shard*.go, tracker.go: DDL — the tracker,
//     filtering and rendering (ddlRewriter, on binlog/ddl), online DDL (onlineDDL) and shard
//     merging (shardMerge, which reaches the event loop only through shardHost); the handlers
//     decide what to apply and the event loop applies it.
//   - eventops.go: an operator's operations on single events (Config.EventOps, DM's `binlog
//     skip|replace`): the event loop asks at each DDL and ROWS event, and applies a skip or a
//     replace in place of the event; EventError names the event a failure stops at.
//   - stream.go: Stream, the same decoding handed to a Handler of one's own, without replay.
//
// # Positions and transactions
//
// Every event has an end location: the file named by the last ROTATE, the event header's
// LogPos, and the GTID set, updated at each transaction's GTID event. A transaction is a GTID
// (or BEGIN) event up to its XID (or COMMIT), or a standalone DDL. A transaction is identified
// by its start location (where its GTID event starts; the GTID set there excludes it), which is
// also a valid place to open a reader: by position, or by GTID set.
//
// # Dispatch
//
// The dispatcher reads events (in a goroutine of their own, so parsing overlaps dispatching),
// decodes row events with the table's definition (schema.Source: by TABLE_MAP column names when
// the upstream logs them with binlog_row_metadata=FULL, else by position; a table gone
// upstream falls back to the TABLE_MAP metadata or to the target's definition, where DDL is
// applied in binlog order), applies the block-allow list, routing and binlog_filter_rule
// (rules.Rules), and turns each row change into a job for one of Workers queues:
//
//   - A row's identity key is its primary key, else its first NOT NULL unique key. The job
//     goes to FNV-1a(target table, key) mod Workers, so every change of one key is applied by
//     one worker, in binlog order. The hash is stable across runs: that is what makes the
//     resume exact (below). Tables with neither key go to one fixed worker per target table.
//   - An UPDATE whose identity key moves to another worker's key becomes a DELETE on the old
//     key's worker and an INSERT on the new key's worker.
//   - Conflicts across keys (another unique key of the row, NOT NULL or not, that a different
//     worker touched since the last flush): the dispatcher first waits until every worker has
//     committed what it holds (a barrier), as DM's causality does. Text keys are folded for
//     case/accent-insensitive collations and trailing spaces are dropped, so that values the
//     target sees as equal collide; folding more than the collation costs a flush, never
//     correctness.
//
// # Workers
//
// Each worker takes up to Batch jobs (committing early when its queue is empty or the
// dispatcher asks for a flush) and hands them to the Applier, which applies them in ONE target
// transaction together with the worker's progress row in the checkpoint table (the default
// Applier; Config.Applier may wrap or replace it). Within the transaction the changes are grouped by
// target table (each table's order kept), consecutive INSERTs of a table become one multi-row
// INSERT, consecutive DELETEs by key one DELETE ... WHERE key IN (...), and each UPDATE is an
// UPDATE ... WHERE key. Keyless tables use a NULL-safe full-row WHERE ... LIMIT 1. Values are
// written as literals (hex for binary data, charset introducers for non-UTF-8 text, exact
// decimals unquoted), on sessions with time_zone '+00:00', sql_mode 'NO_AUTO_VALUE_ON_ZERO'
// and foreign_key_checks=0.
//
// # Checkpoints and exact resume
//
// The checkpoint table is <MetaSchema>.<task>_syncer_checkpoint in the target, one row per
// (task_name, source_name, worker_id); worker_id -1 is the global row. A worker's row holds
// (binlog_name, binlog_pos) = the start location of the transaction of the last job it
// committed and txn_rows = how many of that transaction's jobs for this worker it has
// committed: every job it owns of an earlier transaction is committed too, because it gets
// them in order. Jobs of one source transaction split across workers commit at different
// times; that is fine, because on restart each worker skips exactly its own:
//
//   - The global row is written after a barrier (every second while events flow, when the
//     stream goes idle, around DDL and on a graceful stop): everything before it is applied.
//   - A worker's effective progress is its row raised to the global one. The reader must
//     start at the lowest effective progress (LoadCheckpoint, ResumeLocation).
//   - A job is dropped when its worker's effective progress covers it: its transaction starts
//     before that progress, or at it with an index (among that transaction's jobs for this
//     worker) below txn_rows. With the same worker count the hashing, and so the numbering,
//     is the same as in the previous run: the replay is exact, also for keyless tables.
//   - Batches lost with their connection are retried only after a locking read of the
//     worker's progress row shows the COMMIT did not land (the same read at start-up waits
//     for commits still in flight on the previous run's connections).
//
// Where exactness cannot be had, safe mode (INSERT→REPLACE, UPDATE→DELETE+REPLACE, keyed
// tables only) covers the replay up to the highest progress: after an unclean stop (some
// worker's progress beyond the global row: a target without transactions could have kept half
// a batch), when the worker count changed (the old rows are then only used for the lowest
// complete point, and reset), and up to Config.SafeModeUntil. Keyless tables cannot be made
// idempotent; with a changed worker count their replay window may duplicate rows.
//
// Every row also records the upstream server whose binlog its position is in
// (Config.UpstreamID). After a failover to a replica, positions mean nothing: a checkpoint of
// another server is resumed by GTID set, as exactly (moved.go).
//
// # DDL
//
// A QUERY event that is not transaction control is read by the DDL layer (binlog/ddl, on the
// TiDB parser, with MariaDB's forms rewritten for it): CREATE/ALTER/DROP/TRUNCATE/RENAME
// TABLE, CREATE/DROP INDEX, CREATE/DROP/ALTER DATABASE are replicated; other statements
// (views, routines, triggers, grants, temporary tables) are not. The tracker follows every
// statement; the filters (Match, SkipDDL with ignore_event, and ignore_sql against the text as
// written and as restored) decide; the DDL layer renders it for the target: every table name
// routed and schema-qualified (REFERENCES and LIKE too), IF NOT EXISTS / IF EXISTS on
// CREATE/DROP as DM does, and with Config.Collation strict the character sets and collations
// the upstream resolved. A CREATE TABLE into a database the target lacks creates the
// database first. Then: barrier, global row at the DDL's start marked "DDL in flight", the
// DDL, global row past it. A DDL is not transactional: after a stop between running it and
// the checkpoint, the re-run of that one DDL tolerates "already exists"/"doesn't
// exist"/"duplicate column" errors (so does a retry after a lost connection); a DDL whose first
// statement the target rejected at once loses its "in flight" mark, so that a re-run meets
// the same error instead of taking it for a sign the DDL ran. A DDL on a table
// the definition source cannot describe any more needs binlog_row_metadata=FULL.
//
// # Online DDL
//
// With Config.OnlineDDL (enhance_online_schema_change), the helper tables of gh-ost and
// pt-osc are not replicated: ghost tables (^_(.+)_(gho|new)$) and trash tables
// (^_(.+)_(ghc|del|old)$) get no rows (they are copies of the real table's rows) and no DDL
// on the target (the tracker still follows it). An ALTER TABLE (or CREATE/DROP INDEX) on a
// ghost table is recorded, re-targeted at the real table, in <MetaSchema>.<task>_onlineddl
// (per task, source and real table, a JSON list with the binlog position of each statement,
// so that re-reading it after a restart does not record it twice). The RENAME TABLE that
// moves the ghost table onto the real name (the cut-over) is replaced by the recorded
// statements, routed like any DDL, and the record is cleared; the pairs of the RENAME that
// involve helper tables (or move the real table away) are skipped, pairs of ordinary tables
// applied. pt-osc's retried names (__t_new for t when _t_new is taken) are recognised at the
// cut-over. DROP TABLE of helper
// tables is skipped (a dropped ghost table also clears its record: the migration was
// abandoned). The tracker sees the RENAME itself, so the real name ends with the altered
// definition. See onlineddl.go.
//
// # Shard merge
//
// With Config.ShardMode, DDLs of shard tables routed into one target table are coordinated
// (shard.go): pessimistic mode holds each shard table back at its DDL until the group in the
// source and then every source (Config.Coordinator) has sent it, runs it once, and replays
// the held-back rows from the binlog (Config.OpenReader); optimistic mode merges compatible
// DDLs into the target at once and stops on conflicting ones.
//
// # Schema tracker
//
// With Config.Tracker, table definitions come from the tracker (binlog/tracker) instead of
// Config.Schemas: every QUERY event that is not transaction control is executed on it, also
// the DDL the filters keep from the target (the upstream changed anyway), so that rows are
// decoded with the definition current at their position. Tables it cannot follow are re-read
// from the live upstream (SHOW CREATE TABLE), with a warning. Its state is stored in the
// global checkpoint row (tracker_state), by the statement that moves the global checkpoint,
// and always describes the tables at that position (around a DDL: before it with the "in
// flight" row, after it with the next); Run restores it before decoding any event. On the
// first start the tracker is used as given (seeded by the caller from the dump or from the
// upstream at the start position); tables it does not know are read from the LIVE upstream
// when first needed, as DM seeds its tracker from the upstream. SaveTracker and LoadTracker
// store and read the state while the sync unit is stopped.
//
// # What the reader must deliver
//
// go-mysql events with ParseTime=false (DATETIME/TIMESTAMP/DATE/TIME as strings),
// TimestampStringLocation=UTC (TIMESTAMP strings in UTC; the target session runs in UTC),
// UseDecimal=false (DECIMAL as exact strings), FULL row images, and a ROTATE naming the file
// before the first event (reader.NewRemote does all this). Integers arrive signed unless the
// TABLE_MAP says otherwise; unsigned columns are converted by their definition. ENUM and SET
// arrive as index and bit mask and are written as their member names; BIT as integers; BLOB
// as bytes; MariaDB JSON is text.
//
// # Errors
//
// Transient target errors (lost connection, killed connection, server restart, deadlock, lock
// wait timeout, TiDB's retryable codes) are retried with exponential backoff for
// Config.RetryFor. Others (duplicate key, a DDL the target rejects, a row or DDL the sync unit
// cannot decode or render) stop Run with an *EventError naming the binlog event (file and start
// position, as SHOW BINLOG EVENTS lists it, and its transaction's GTID) and the statement that
// failed; Run again resumes from the checkpoint. A batch the target rejects is applied again one
// event at a time (each with the worker's progress through it) to find the ROWS event it
// rejects. An operation on that event (Config.EventOps) skips it or runs other statements
// instead: see eventops.go for how each stays exactly-once across stops. While a batch, a checkpoint write or a DDL is retried, Status.Retrying says
// since when and the last error (once it has lasted a second), and Status is not synced.
//
// # Status and metrics
//
// Status is DM's sync_status: events and TPS, the flushed checkpoint (syncer_binlog), the
// upstream's position (SHOW MASTER STATUS and @@gtid_binlog_pos / @@gtid_executed every
// second on Config.Upstream, else the last event read), synced, and the lag: the upstream's
// clock (its offset measured once with UNIX_TIMESTAMP) minus the timestamp of the oldest
// transaction not yet flushed, which the dispatcher publishes as soon as it reads it; when the
// checkpoint is behind a master position but the dispatcher has not read what lies before it
// (it is blocked retrying the checkpoint), the time since that position was first polled. 0
// only when nothing is pending. A watcher refreshes the lag gauge and the TPS samples every
// 200 ms, so both keep moving while the dispatcher is blocked by a target that is down. Metrics (namespace dm, subsystem syncer):
// finished_jobs_total{type,task,queueNo,source_id,worker,target_schema,target_table} (at most
// 256 table label pairs per sync unit, the rest as "_other"), replication_lag_gauge,
// binlog_pos and binlog_file{node="master"|"syncer"}, queue_size{queue_id}, txn_duration_time,
// exit_with_error_count, and in shard mode shard_lock_resolving (1 while waiting on a lock) and
// unsynced_table_number{table=<target>} (shard tables of a group that have not sent its DDL).
//
// The package never imports master/, worker/, restapi/ or fsm/.
package syncer
