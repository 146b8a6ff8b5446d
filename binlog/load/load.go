package load

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dm-oss/dm/binlog/internal/fence"

	"github.com/dm-oss/dm/internal/backoff"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/internal/retry"
	"github.com/dm-oss/dm/binlog/internal/session"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
)

// Defaults for Config's zero values.
const (
	DefaultThreads     = 16 // DM's import_threads
	DefaultMetaSchema  = "dm_meta"
	DefaultOnDuplicate = OnDuplicateReplace
	DefaultRetryFor    = 5 * time.Minute
	// purgeBatch is the rows one statement deletes when a table without key
	// is emptied.
	purgeBatch = 10_000
)

// on_duplicate values.
const (
	OnDuplicateOverwrite = "overwrite" // = replace
	OnDuplicateReplace   = "replace"
	OnDuplicateIgnore    = "ignore"
	OnDuplicateError     = "error"
)

// Config is one load of a finished dump into the target.
type Config struct {
	// Dir holds a finished dump (dump.Run's Dir).
	Dir string
	// Target is the target database (upstream.Open opens one); the caller closes it.
	Target *sql.DB
	// Threads is import_threads: chunks loaded in parallel.
	Threads int
	// OnDuplicate decides what happens to a row whose key the target already
	// has (and that this task did not write): overwrite/replace → REPLACE,
	// ignore → INSERT IGNORE, error → INSERT (the load fails). Empty: replace.
	OnDuplicate string
	// MetaSchema holds the checkpoint table <Task>_loader_checkpoint.
	MetaSchema string
	Task       string
	// Source names the upstream: several sources of a task share the
	// checkpoint table.
	Source string
	// Rules routes source tables to target tables; nil keeps the names.
	Rules *rules.Rules
	// Collation is collation_compatible: ddl.CollationStrict (default) or ddl.CollationLoose.
	Collation string
	Logger    *slog.Logger
	// Redumped says the files come from a new dump while the target may
	// hold this task's rows from an earlier, unfinished load of an older
	// dump. The loader recognises such rows by the dump ID in the
	// checkpoints and removes them first in any case; Redumped only says
	// that this is expected (otherwise it is logged as a warning).
	Redumped bool
	// RetryFor is how long a transient target error (the target is down or restarting, a
	// lost connection, a deadlock) is retried without progress before Run gives up; default
	// five minutes.
	RetryFor time.Duration
	// Worker names the process for the worker label of the dm_loader_* series.
	Worker string
	// Registerer receives the dm_loader_* series; nil registers nothing.
	Registerer prometheus.Registerer
	// Epoch (optional) is this load's binding epoch (see the sync unit's Config.Epoch): each
	// attempt claims the (task, source) on the target with it in <MetaSchema>.<Task>_loader_owner,
	// every chunk's transaction checks it first, and Run fails with ErrSuperseded once a load
	// with a higher epoch has claimed. 0 turns the fence off.
	Epoch uint64
}

// ErrSuperseded is returned (wrapped) by Run when another load of the (task, source) claimed it
// with a higher epoch (the same error as the sync unit's).
var ErrSuperseded = fence.ErrSuperseded

// Progress is how much of the dump is in the target.
type Progress struct {
	FinishedBytes, TotalBytes int64
	// Retrying is set while Run has been retrying a transient target error for a second or
	// more: since when, and the last error.
	Retrying *binlog.Retrying
}

// Loader loads one dump directory.
type Loader struct {
	cfg      Config
	meta     dump.Metadata
	verb     string
	finished atomic.Int64
	retries  retry.Board
	m        *metrics
	fence    *fence.Fence // nil without Config.Epoch
}

// New checks cfg and reads the dump's metadata.
func New(cfg Config) (*Loader, error) {
	if cfg.Threads <= 0 {
		cfg.Threads = DefaultThreads
	}
	if cfg.MetaSchema == "" {
		cfg.MetaSchema = DefaultMetaSchema
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = DefaultRetryFor
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Task == "" {
		return nil, errors.New("load: no task name")
	}
	if cfg.Target == nil {
		return nil, errors.New("load: no target database")
	}
	var err error
	if cfg.Collation, err = ddl.CollationMode(cfg.Collation); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if n := len(cfg.Task + CheckpointTableSuffix); n > 64 {
		return nil, fmt.Errorf("load: task name %q is too long: the checkpoint table name %s%s would have %d characters, more than 64", cfg.Task, cfg.Task, CheckpointTableSuffix, n)
	}
	l := &Loader{cfg: cfg, fence: fence.New(ownerTable(cfg.MetaSchema, cfg.Task), cfg.Task, cfg.Source, cfg.Epoch)}
	switch strings.ToLower(cfg.OnDuplicate) {
	case "", OnDuplicateReplace, OnDuplicateOverwrite:
		l.verb = "REPLACE"
	case OnDuplicateIgnore:
		l.verb = "INSERT IGNORE"
	case OnDuplicateError:
		l.verb = "INSERT"
	default:
		return nil, fmt.Errorf("load: unknown on_duplicate %q: use overwrite, replace, ignore or error", cfg.OnDuplicate)
	}
	meta, ok, err := dump.ReadMetadata(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if !ok || !meta.Finished {
		return nil, fmt.Errorf("load: %s holds no finished dump", cfg.Dir)
	}
	l.meta = meta
	l.m = newMetrics(cfg.Registerer, cfg)
	chunks := 0
	for _, t := range meta.Tables {
		chunks += len(t.Chunks)
	}
	l.m.dataFiles.Set(float64(chunks))
	l.m.tables.Set(float64(len(meta.Tables)))
	return l, nil
}

// Progress is safe to call while Run runs.
func (l *Loader) Progress() Progress {
	return Progress{FinishedBytes: l.finished.Load(), TotalBytes: l.meta.TotalBytes(),
		Retrying: l.retries.Current(time.Now(), l.cfg.RetryFor)}
}

// Metadata is the dump being loaded.
func (l *Loader) Metadata() dump.Metadata { return l.meta }

// loadSession makes the target session match the dump's rendering: UTF-8,
// UTC for TIMESTAMP values, backslash escapes on, explicit zeros kept in
// AUTO_INCREMENT columns, a non-strict mode that takes what the source held
// (zero dates), and foreign keys unchecked because tables load in any
// order. unique_checks stays on: on_duplicate depends on it.
var loadSession = session.Setup{
	Required: []string{
		"SET NAMES utf8mb4",
		"SET SESSION time_zone = '+00:00'",
		"SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'",
		"SET SESSION foreign_key_checks = 0",
		"SET SESSION unique_checks = 1",
	},
	Optional: []string{
		"SET SESSION max_statement_time = 0",  // MariaDB
		"SET SESSION max_execution_time = 0",  // MySQL
		"SET SESSION net_read_timeout = 3600", // long statements
	},
}

func newLoadConn(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	c, err := session.Open(ctx, db, loadSession)
	if err != nil {
		return nil, fmt.Errorf("connect to target: %w", err)
	}
	return c, nil
}

func (l *Loader) route(schema, table string) rules.TableRef {
	if l.cfg.Rules == nil {
		return rules.TableRef{Schema: schema, Table: table}
	}
	return l.cfg.Rules.Route(schema, table)
}

// Run loads every chunk that the checkpoints do not record as loaded. It can
// be run again after a crash or a cancel and then skips the finished chunks.
// So it does itself after a transient target error: it waits (50 ms,
// doubling up to 5 s) and loads again from the checkpoints, until an attempt
// succeeds, fails for good, or RetryFor passes without a chunk committed;
// Progress reports the retry meanwhile.
func (l *Loader) Run(ctx context.Context) error {
	defer l.retries.Clear()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go l.watchRemaining(wctx, 2*time.Second)
	wait := backoff.Backoff{First: 50 * time.Millisecond, Max: 5 * time.Second}
	var streak time.Time // the first failure since the last committed chunk
	committed := int64(-1)
	for {
		err := l.attempt(ctx)
		if err == nil || ctx.Err() != nil || !binlog.IsTransient(err) {
			return err
		}
		now := time.Now()
		if done := l.finished.Load(); done != committed {
			// Chunks were committed since the last failure: a new outage.
			committed, streak = done, now
			wait.Reset()
		}
		if now.Sub(streak) > l.cfg.RetryFor {
			return fmt.Errorf("gave up after retrying for %v: %w", l.cfg.RetryFor, err)
		}
		l.retries.Failed(retryKey, err)
		l.cfg.Logger.Warn("transient target error, loading again from the checkpoints", "task", l.cfg.Task,
			"source", l.cfg.Source, "error", err, "backoff", wait.Next())
		if err := wait.Wait(ctx); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
}

// retryKey is the Loader's one entry on its retry board: Run retries as a whole.
const retryKey = "load"

// attempt is one pass of Run over the chunks not loaded yet.
func (l *Loader) attempt(ctx context.Context) error {
	start := time.Now()
	cfg := l.cfg
	db := cfg.Target
	db.SetMaxIdleConns(cfg.Threads + 2)
	ctl, err := newLoadConn(ctx, db)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer session.Discard(ctl)

	if err := createCheckpointTable(ctx, ctl, cfg.MetaSchema, cfg.Task); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if err := l.claim(ctx, ctl); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	cps, err := readCheckpoints(ctx, ctl, cfg.MetaSchema, cfg.Task, cfg.Source)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	// The target answers again: Progress stops reporting a retry (Run still counts the
	// outage until a chunk commits).
	l.retries.Done(retryKey)
	if s, ok := cps[summaryFile]; ok && s.dumpID == l.meta.ID && s.done {
		l.finished.Store(l.meta.TotalBytes())
		cfg.Logger.Info("load already finished", "task", cfg.Task, "source", cfg.Source, "dump", l.meta.ID)
		return nil
	}

	// Rows of an older dump: remove them before loading this one.
	var stale []cpRow
	for file, r := range cps {
		if file != summaryFile && r.dumpID != l.meta.ID {
			stale = append(stale, r)
		}
	}
	if len(stale) > 0 {
		if !cfg.Redumped {
			cfg.Logger.Warn("the target holds rows of an older dump of this task; removing them before loading the new dump",
				"task", cfg.Task, "source", cfg.Source, "chunks", len(stale))
		}
		if err := l.purge(ctx, db, stale); err != nil {
			return fmt.Errorf("load: remove the rows of the earlier dump: %w", err)
		}
	}

	if err := l.fence.InTxn(ctx, ctl, fence.Control, func() error {
		_, err := ctl.ExecContext(ctx, "REPLACE INTO "+checkpointTable(cfg.MetaSchema, cfg.Task)+
			" (cp_source, cp_file, cp_dump_id, cp_done, cp_binlog_name, cp_binlog_pos, cp_binlog_gtid, cp_byte_count, cp_row_count)"+
			" VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?)",
			cfg.Source, summaryFile, l.meta.ID, l.meta.Location.File, l.meta.Location.Pos, l.meta.Location.GTIDSet,
			l.meta.TotalBytes(), l.meta.TotalRows())
		return err
	}); err != nil {
		return fmt.Errorf("load: write checkpoint: %w", err)
	}

	if err := l.fence.CheckNow(ctx, ctl, fence.Control); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if err := l.createTables(ctx, ctl); err != nil {
		return fmt.Errorf("load: %w", err)
	}

	jobs, doneBytes := l.chunkJobs(ctx, ctl, cps)
	l.finished.Store(doneBytes)
	cfg.Logger.Info("load started", "task", cfg.Task, "source", cfg.Source, "dump", l.meta.ID,
		"chunks", len(jobs), "skipped_bytes", doneBytes, "total_bytes", l.meta.TotalBytes())
	if err := runPool(ctx, db, l.fence, cfg.Threads, jobs); err != nil {
		return fmt.Errorf("load: %w", err)
	}

	if err := l.fence.InTxn(ctx, ctl, fence.Control, func() error {
		_, err := ctl.ExecContext(ctx, "UPDATE "+checkpointTable(cfg.MetaSchema, cfg.Task)+
			" SET cp_done = 1 WHERE cp_source = ? AND cp_file = ? AND cp_dump_id = ?", cfg.Source, summaryFile, l.meta.ID)
		return err
	}); err != nil {
		return fmt.Errorf("load: write checkpoint: %w", err)
	}
	cfg.Logger.Info("load finished", "task", cfg.Task, "source", cfg.Source, "rows", l.meta.TotalRows(),
		"bytes", l.meta.TotalBytes(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// chunkJobs is a job per chunk the checkpoints do not show loaded from this dump, and the bytes
// of those they do. At most tableWriters chunks of one target table load at a time (no limit on
// TiDB); the chunks of different tables are interleaved so that the workers find other tables'
// chunks meanwhile.
func (l *Loader) chunkJobs(ctx context.Context, ctl *sql.Conn, cps map[string]cpRow) ([]func(context.Context, poolConn) error, int64) {
	writers := tableWriters
	if isTiDB(ctx, ctl) {
		writers = l.cfg.Threads
	}
	sems := map[rules.TableRef]chan struct{}{}
	var perTable [][]func(context.Context, poolConn) error
	var doneBytes int64
	for i := range l.meta.Tables {
		t := &l.meta.Tables[i]
		tgt := l.route(t.Schema, t.Table)
		j := &tableLoad{l: l, t: t, tgt: tgt,
			srcPrefix: []byte(t.InsertPrefix()),
			tgtPrefix: []byte(l.verb + " INTO " + upstream.QuoteName(tgt.Schema) + "." + upstream.QuoteName(tgt.Table) +
				" (" + t.ColumnList() + ") VALUES "),
		}
		sem := sems[tgt]
		if sem == nil {
			sem = make(chan struct{}, writers)
			sems[tgt] = sem
		}
		var tjobs []func(context.Context, poolConn) error
		for k := range t.Chunks {
			c := &t.Chunks[k]
			if r, ok := cps[c.File]; ok && r.dumpID == l.meta.ID {
				doneBytes += c.Bytes
				continue
			}
			tjobs = append(tjobs, func(ctx context.Context, conn poolConn) error {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
				defer func() { <-sem }()
				return j.loadChunk(ctx, conn, c)
			})
		}
		perTable = append(perTable, tjobs)
	}
	return interleave(perTable), doneBytes
}

// tableWriters bounds the chunks of one target table that load at once on
// MySQL and MariaDB: more writers into one B-tree only add contention (on a
// 2-core MariaDB, 8 writers cost the server about a quarter more CPU than 2
// to 3 for the same rows).
const tableWriters = 4

// isTiDB reports whether the target is TiDB, which spreads one table's
// writes over its storage nodes and so takes every thread.
func isTiDB(ctx context.Context, c *sql.Conn) bool {
	var v string
	return c.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v) == nil && strings.Contains(strings.ToLower(v), "tidb")
}

// interleave takes the first job of every list, then the second, and so
// on.
func interleave[T any](lists [][]T) []T {
	var out []T
	for i := 0; ; i++ {
		n := len(out)
		for _, l := range lists {
			if i < len(l) {
				out = append(out, l[i])
			}
		}
		if len(out) == n {
			return out
		}
	}
}

// poolConn is a pool worker's target session and its fence slot.
type poolConn struct {
	*sql.Conn
	slot int
}

// runPool runs the jobs on n workers, each with its own target session, registered with the
// fence (nil: none) under the worker's slot. The first error cancels the rest.
func runPool(ctx context.Context, db *sql.DB, f *fence.Fence, n int, jobs []func(context.Context, poolConn) error) error {
	if len(jobs) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	queue := make(chan func(context.Context, poolConn) error)
	var wg sync.WaitGroup
	for slot := range min(n, len(jobs)) {
		wg.Go(func() {
			conn, err := newLoadConn(ctx, db)
			if err != nil {
				cancel(err)
				return
			}
			defer session.Discard(conn)
			if err := f.Register(ctx, conn, slot); err != nil {
				cancel(err)
				return
			}
			for job := range queue {
				if err := job(ctx, poolConn{conn, slot}); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	return context.Cause(ctx)
}

// createTables creates the target schemas (every one the dump found, also those without a
// table yet) and tables under their routed names. Several source tables may route to one
// target table: the first one's definition creates it, once, IF NOT EXISTS. The definitions
// go through the DDL layer as the sync unit's do: for the target's flavour (MariaDB's JSON
// columns become JSON on TiDB and MySQL) and, in strict collation mode, with every character
// set and collation the upstream resolved made explicit.
func (l *Loader) createTables(ctx context.Context, c *sql.Conn) error {
	var version string
	if err := c.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return fmt.Errorf("inspect target: %w", err)
	}
	render := ddl.Render{Flavor: string(upstream.FlavorOf(version)), Collation: l.cfg.Collation,
		Charsets: dumpCharsets{l.meta}, IfExists: true,
		RouteTable: func(n ddl.TableName) ddl.TableName {
			t := l.route(n.Schema, n.Table)
			return ddl.TableName{Schema: t.Schema, Table: t.Table}
		}}
	schemasDone := map[string]bool{}
	for _, s := range l.meta.Schemas {
		target := s.Name
		if l.cfg.Rules != nil {
			target = l.cfg.Rules.RouteSchema(s.Name)
		}
		if schemasDone[target] {
			continue
		}
		schemasDone[target] = true
		if err := l.createSchema(ctx, c, target, s); err != nil {
			return err
		}
	}
	tablesDone := map[rules.TableRef]bool{}
	for _, t := range l.meta.Tables {
		tgt := l.route(t.Schema, t.Table)
		if tablesDone[tgt] {
			continue
		}
		tablesDone[tgt] = true
		if err := l.createTable(ctx, c, t, render); err != nil {
			return err
		}
	}
	return nil
}

// createTable creates one table from its schema file.
func (l *Loader) createTable(ctx context.Context, c *sql.Conn, t dump.TableMeta, render ddl.Render) error {
	b, err := os.ReadFile(filepath.Join(l.cfg.Dir, t.SchemaFile))
	if err != nil {
		return fmt.Errorf("read the schema of %s.%s: %w", t.Schema, t.Table, err)
	}
	text := strings.TrimSuffix(strings.TrimSpace(string(b)), ";")
	if prefix := t.CreateTablePrefix(); !strings.HasPrefix(text, prefix) {
		return fmt.Errorf("schema file %s does not begin with %q", t.SchemaFile, prefix)
	}
	st := ddl.Parse(text, t.Schema)
	if st.Kind != rules.EventCreateTable || len(st.Tables) != 1 {
		return fmt.Errorf("schema file %s: not a CREATE TABLE statement", t.SchemaFile)
	}
	stmts, err := st.Render(ctx, render)
	if err != nil {
		return fmt.Errorf("schema file %s: %w", t.SchemaFile, err)
	}
	for _, stmt := range stmts {
		if _, err := c.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create table %s: %s: %w", st.Tables[0], stmt, err)
		}
	}
	return nil
}

// createSchema creates a target schema with the upstream's character set and collation. A
// collation the target lacks fails the load in strict mode; in loose mode the target's
// defaults are taken, with a warning.
func (l *Loader) createSchema(ctx context.Context, c *sql.Conn, name string, src dump.SchemaMeta) error {
	q := "CREATE DATABASE IF NOT EXISTS " + upstream.QuoteName(name)
	if src.Charset != "" {
		opts := " DEFAULT CHARACTER SET " + src.Charset
		if src.Collation != "" {
			opts += " COLLATE " + src.Collation
		}
		_, err := c.ExecContext(ctx, q+opts)
		if err == nil {
			return nil
		}
		if l.cfg.Collation != ddl.CollationLoose {
			return fmt.Errorf("create schema %s%s (collation_compatible strict): %w", upstream.QuoteName(name), opts, err)
		}
		l.cfg.Logger.Warn("the target refused the upstream's character set or collation; the schema takes the target's defaults (collation_compatible loose)",
			"schema", name, "options", opts, "error", err)
	}
	if _, err := c.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create schema %s: %w", upstream.QuoteName(name), err)
	}
	return nil
}

// dumpCharsets answers the DDL layer from the dump's metadata.
type dumpCharsets struct{ meta dump.Metadata }

func (d dumpCharsets) DatabaseDefault(_ context.Context, db string) (string, string, error) {
	for _, s := range d.meta.Schemas {
		if s.Name == db {
			return strings.ToLower(s.Charset), strings.ToLower(s.Collation), nil
		}
	}
	return "", "", nil
}

func (d dumpCharsets) TableDefault(ctx context.Context, db, _ string) (string, string, error) {
	return d.DatabaseDefault(ctx, db)
}

func (d dumpCharsets) DefaultCollation(_ context.Context, cs string) (string, error) {
	if co, ok := d.meta.DefaultCollations[strings.ToLower(cs)]; ok {
		return co, nil
	}
	return ddl.MariaDBDefaultCollation(cs), nil // a dump written before the map existed
}

// tableLoad is what the chunks of one table share.
type tableLoad struct {
	l                    *Loader
	t                    *dump.TableMeta
	tgt                  rules.TableRef
	srcPrefix, tgtPrefix []byte
}

// loadChunk inserts the chunk's rows and records its checkpoint in one
// target transaction.
func (j *tableLoad) loadChunk(ctx context.Context, conn poolConn, c *dump.Chunk) (err error) {
	l := j.l
	f, err := os.Open(filepath.Join(l.cfg.Dir, c.File))
	if err != nil {
		return fmt.Errorf("open chunk: %w", err)
	}
	defer f.Close()
	var added int64
	defer func() {
		if err != nil {
			l.finished.Add(-added)
		}
	}()
	began := time.Now()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		l.m.refused(ctx)
		return fmt.Errorf("load %s: begin: %w", c.File, err)
	}
	l.m.stmt[stmtBegin].Observe(time.Since(began).Seconds())
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err := l.fence.Check(ctx, tx, conn.slot); err != nil {
		return fmt.Errorf("load %s: %w", c.File, err)
	}
	r := bufio.NewReaderSize(f, 4<<20)
	var long, stmt []byte
	for {
		line, rerr := r.ReadSlice('\n')
		if errors.Is(rerr, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(rerr, bufio.ErrBufferFull) {
				line, rerr = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return fmt.Errorf("read chunk %s: %w", c.File, rerr)
		}
		if len(line) > 0 {
			body := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte(";"))
			if !bytes.HasPrefix(body, j.srcPrefix) {
				return fmt.Errorf("chunk %s: a statement does not begin with %q: the file is corrupt or from another dump", c.File, j.srcPrefix)
			}
			stmt = append(append(stmt[:0], j.tgtPrefix...), body[len(j.srcPrefix):]...)
			at := time.Now()
			if _, err := tx.ExecContext(ctx, string(stmt)); err != nil {
				l.m.refused(ctx)
				return j.insertError(c, err)
			}
			took := time.Since(at).Seconds()
			l.m.query.Observe(took)
			l.m.stmt[stmtInsert].Observe(took)
			added += int64(len(line))
			l.finished.Add(int64(len(line)))
		}
		if rerr != nil {
			break
		}
	}
	if _, err := tx.ExecContext(ctx, "REPLACE INTO "+checkpointTable(l.cfg.MetaSchema, l.cfg.Task)+
		" (cp_source, cp_file, cp_dump_id, cp_src_schema, cp_src_table, cp_tgt_schema, cp_tgt_table,"+
		" cp_key_cols, cp_key_min, cp_key_max, cp_row_count, cp_byte_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		l.cfg.Source, c.File, l.meta.ID, j.t.Schema, j.t.Table, j.tgt.Schema, j.tgt.Table,
		jsonOrNull(j.t.KeyColumns), jsonOrNull(c.MinKey), jsonOrNull(c.MaxKey), c.Rows, c.Bytes); err != nil {
		return fmt.Errorf("load %s: write checkpoint: %w", c.File, err)
	}
	at := time.Now()
	if err := tx.Commit(); err != nil {
		l.m.refused(ctx)
		return fmt.Errorf("load %s: commit: %w", c.File, err)
	}
	l.m.stmt[stmtCommit].Observe(time.Since(at).Seconds())
	l.m.txnDuration(j.tgt.Schema, j.tgt.Table).Observe(time.Since(began).Seconds())
	l.finished.Add(c.Bytes - added)
	added = c.Bytes
	return nil
}

func (j *tableLoad) insertError(c *dump.Chunk, err error) error {
	tgt := upstream.QuoteName(j.tgt.Schema) + "." + upstream.QuoteName(j.tgt.Table)
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) && myErr.Number == 1062 {
		return fmt.Errorf("load %s into %s: duplicate key with on_duplicate=error: the target already holds a row with this key that this task did not write; use on_duplicate=replace to overwrite such rows or ignore to keep them: %w", c.File, tgt, err)
	}
	return fmt.Errorf("load %s into %s: %w", c.File, tgt, err)
}

// purge removes what loads of older dumps wrote, as their checkpoints
// record it: for a table with a key, the rows within each loaded chunk's
// [min key, max key], one transaction per chunk together with its
// checkpoint; a table without key is emptied. Each step is idempotent, so
// a crash in between is repaired by the next run.
func (l *Loader) purge(ctx context.Context, db *sql.DB, stale []cpRow) error {
	sort.Slice(stale, func(i, j int) bool { return stale[i].file < stale[j].file })
	cpTable := checkpointTable(l.cfg.MetaSchema, l.cfg.Task)
	keyless := map[rules.TableRef][]string{}
	var jobs []func(context.Context, poolConn) error
	for _, r := range stale {
		tgt := rules.TableRef{Schema: r.tgtSchema, Table: r.tgtTable}
		if len(r.keyCols) == 0 || len(r.keyMin) != len(r.keyCols) || len(r.keyMax) != len(r.keyCols) {
			keyless[tgt] = append(keyless[tgt], r.file)
			continue
		}
		jobs = append(jobs, func(ctx context.Context, c poolConn) error {
			tx, err := c.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if err := l.fence.Check(ctx, tx, c.slot); err != nil {
				return err
			}
			q := "DELETE FROM " + upstream.QuoteName(tgt.Schema) + "." + upstream.QuoteName(tgt.Table) +
				" WHERE " + dump.KeyRange(r.keyCols, r.keyMin, r.keyMax)
			if _, err := tx.ExecContext(ctx, q); err != nil && !isMissingTable(err) {
				return fmt.Errorf("remove the rows of chunk %s: %w", r.file, err)
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+cpTable+" WHERE cp_source = ? AND cp_file = ?", l.cfg.Source, r.file); err != nil {
				return err
			}
			return tx.Commit()
		})
	}
	for tgt, files := range keyless {
		jobs = append(jobs, func(ctx context.Context, c poolConn) error {
			name := upstream.QuoteName(tgt.Schema) + "." + upstream.QuoteName(tgt.Table)
			l.cfg.Logger.Warn("emptying a table without key that an earlier dump had begun to load", "table", name)
			if err := l.fence.CheckNow(ctx, c.Conn, c.slot); err != nil {
				return err
			}
			for {
				res, err := c.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s LIMIT %d", name, purgeBatch))
				if isMissingTable(err) {
					break
				}
				if err != nil {
					return fmt.Errorf("empty %s: %w", name, err)
				}
				if n, err := res.RowsAffected(); err != nil || n == 0 {
					break
				}
			}
			for _, f := range files {
				if _, err := c.ExecContext(ctx, "DELETE FROM "+cpTable+" WHERE cp_source = ? AND cp_file = ?", l.cfg.Source, f); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return runPool(ctx, db, l.fence, l.cfg.Threads, jobs)
}
