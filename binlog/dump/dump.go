package dump

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/durable"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
)

// Defaults for Config's zero values.
const (
	DefaultThreads   = 4
	DefaultChunkRows = 100_000
	// chunkMaxBytes cuts a data file even before ChunkRows rows, so that one
	// chunk stays one moderate target transaction (TiDB limits a
	// transaction's size).
	chunkMaxBytes = 64 << 20
	// statementBytes is the size at which a multi-row INSERT is closed; a
	// single larger row makes a statement of its own.
	statementBytes = 1 << 20
	// maxWalkBoundaries bounds the boundary queries for a key that is not a
	// single integer column.
	maxWalkBoundaries = 10_000
	// The dump holds a copy of the upstream's data: only the worker's user may read it.
	dirPerm  = 0o700
	filePerm = 0o600
)

// Config is one dump.
type Config struct {
	Upstream upstream.Config
	// Flavor is binlog.FlavorMySQL or binlog.FlavorMariaDB; empty: asked
	// from the server.
	Flavor string
	// Dir is the dump directory. Run creates it (0700) or empties it of an
	// earlier dump's files first.
	Dir string
	// Threads is export_threads: snapshot connections reading in parallel.
	Threads int
	// Consistency is auto, none, flush, snapshot or lock (empty: auto).
	Consistency string
	// Rules chooses the tables (Match); nil dumps every user table. The dump
	// keeps source names: routing happens at load.
	Rules *rules.Rules
	// ChunkRows is the number of rows per data file.
	ChunkRows int
	// Counters, when set, follow the dump while it runs (for a status page).
	Counters *Counters
	Logger   *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Threads <= 0 {
		c.Threads = DefaultThreads
	}
	if c.ChunkRows <= 0 {
		c.ChunkRows = DefaultChunkRows
	}
	if c.Consistency == "" {
		c.Consistency = ConsistencyAuto
	}
	c.Consistency = strings.ToLower(c.Consistency)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Counters == nil {
		c.Counters = &Counters{}
	}
	return c
}

// maxTableSetRetries bounds how often a dump starts over because DDL changed the dumped tables
// while the snapshot was being taken.
const maxTableSetRetries = 5

// errTablesChanged says the tables seen before the snapshot are not those at its position.
var errTablesChanged = errors.New("tables changed while the snapshot was taken")

// Run dumps the tables cfg.Rules selects into cfg.Dir and returns the
// metadata it wrote last. On error the directory holds no metadata file.
func Run(ctx context.Context, cfg Config) (Metadata, error) {
	for attempt := 1; ; attempt++ {
		meta, err := runOnce(ctx, cfg)
		if !errors.Is(err, errTablesChanged) || attempt == maxTableSetRetries {
			return meta, err
		}
		cfg.withDefaults().Logger.Warn("tables were created, dropped or altered while the dump took its snapshot; dumping again", "attempt", attempt)
	}
}

func runOnce(ctx context.Context, cfg Config) (Metadata, error) {
	cfg = cfg.withDefaults()
	if cfg.Dir == "" {
		return Metadata{}, errors.New("dump: no directory given")
	}
	switch cfg.Consistency {
	case ConsistencyAuto, ConsistencyNone, ConsistencyFlush, ConsistencySnapshot, ConsistencyLock:
	default:
		return Metadata{}, fmt.Errorf("dump: unknown consistency %q: use auto, none, flush, snapshot or lock", cfg.Consistency)
	}
	meta := Metadata{ID: newID(), Started: time.Now().UTC()}
	if err := prepareDir(cfg.Dir); err != nil {
		return Metadata{}, fmt.Errorf("dump: prepare %s: %w", cfg.Dir, err)
	}
	db, err := upstream.Open(ctx, cfg.Upstream)
	if err != nil {
		return Metadata{}, fmt.Errorf("dump: %w", err)
	}
	defer db.Close()
	flavor := cfg.Flavor
	if flavor == "" {
		if flavor, err = detectFlavor(ctx, db); err != nil {
			return Metadata{}, fmt.Errorf("dump: %w", err)
		}
	}
	meta.Flavor = flavor

	metaConn, err := newConn(ctx, db, flavor)
	if err != nil {
		return Metadata{}, fmt.Errorf("dump: %w", err)
	}
	defer releaseConn(metaConn)
	schemas, tables, err := discover(ctx, db, metaConn, cfg.Rules)
	if err != nil {
		return Metadata{}, fmt.Errorf("dump: %w", err)
	}
	if meta.DefaultCollations, err = defaultCollations(ctx, metaConn); err != nil {
		return Metadata{}, fmt.Errorf("dump: %w", err)
	}
	cfg.Counters.start(tables)
	names := newFileNames()
	for i := range schemas {
		if err := writeSchemaCreate(ctx, metaConn, cfg.Dir, names, &schemas[i]); err != nil {
			return Metadata{}, fmt.Errorf("dump: %w", err)
		}
	}
	var jobs []*rangeJob
	for _, t := range tables {
		t.base = names.base(escapeName(t.schema) + "." + escapeName(t.table))
		if err := t.writeSchemaFile(cfg.Dir); err != nil {
			return Metadata{}, fmt.Errorf("dump: %w", err)
		}
		tj, err := planRanges(ctx, metaConn, t, cfg.ChunkRows, cfg.Threads)
		if err != nil {
			return Metadata{}, fmt.Errorf("dump: plan chunks of %s: %w", t.quoted, err)
		}
		jobs = append(jobs, tj...)
	}
	for _, j := range jobs {
		j.t.pendingRanges.Add(1)
	}
	// Largest ranges first, so that the threads finish together.
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].est > jobs[j].est })

	snapCfg := cfg
	snapCfg.Threads = max(1, min(cfg.Threads, len(jobs)))
	snap, err := takeSnapshot(ctx, db, snapCfg, flavor, tables)
	if err != nil {
		return Metadata{}, fmt.Errorf("dump: consistency %s: %w", cfg.Consistency, err)
	}
	defer snap.release()
	// The table list and definitions were read before the snapshot's position was fixed: a
	// table created (or altered) in between would be missing from the dump while its DDL lies
	// before the position where sync starts. Read them again and start over if they moved.
	if _, after, err := discover(ctx, db, metaConn, cfg.Rules); err != nil {
		return Metadata{}, fmt.Errorf("dump: %w", err)
	} else if !sameTables(tables, after) {
		return Metadata{}, fmt.Errorf("dump: %w", errTablesChanged)
	}
	meta.Location, meta.Consistency, meta.Threads = snap.loc, snap.mode, len(snap.conns)
	cfg.Logger.Info("dump snapshot taken", "consistency", snap.mode, "connections", len(snap.conns),
		"location", snap.loc.String(), "gtid", snap.loc.GTIDSet, "tables", len(tables), "ranges", len(jobs))

	if err := runJobs(ctx, snap.conns, jobs, cfg); err != nil {
		return Metadata{}, fmt.Errorf("dump: %w", err)
	}
	snap.release()

	meta.Schemas = schemas
	for _, t := range tables {
		meta.Tables = append(meta.Tables, t.finish())
	}
	meta.Completed = time.Now().UTC()
	meta.Finished = true
	if err := writeMetadata(cfg.Dir, meta); err != nil {
		return Metadata{}, fmt.Errorf("dump: write metadata: %w", err)
	}
	cfg.Logger.Info("dump finished", "rows", meta.TotalRows(), "bytes", meta.TotalBytes(),
		"took", meta.Completed.Sub(meta.Started).Round(time.Millisecond))
	return meta, nil
}

// sameTables reports whether two discoveries found the same tables with the same definitions.
func sameTables(a, b []*tableState) bool {
	if len(a) != len(b) {
		return false
	}
	defs := make(map[string]string, len(a))
	for _, t := range a {
		defs[t.quoted] = autoIncrementOption.ReplaceAllString(t.create, "")
	}
	for _, t := range b {
		if def, ok := defs[t.quoted]; !ok || def != autoIncrementOption.ReplaceAllString(t.create, "") {
			return false
		}
	}
	return true
}

// autoIncrementOption is the table option SHOW CREATE TABLE prints with the next counter value,
// which moves with every insert and says nothing about the table's definition.
var autoIncrementOption = regexp.MustCompile(` AUTO_INCREMENT=[0-9]+`)

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// prepareDir creates dir (private to the user) and removes what an earlier
// dump left: the metadata first, so that the directory never looks like a
// finished dump of files it no longer has.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	if err := os.Chmod(dir, dirPerm); err != nil {
		return err
	}
	for _, name := range []string{MetadataFile, MetadataFile + ".tmp"} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".sql") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return durable.SyncDir(dir)
}

func detectFlavor(ctx context.Context, db *sql.DB) (string, error) {
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return "", fmt.Errorf("read upstream version: %w", err)
	}
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return binlog.FlavorMariaDB, nil
	}
	return binlog.FlavorMySQL, nil
}

// runJobs dumps the ranges with one worker per snapshot connection. The
// first error stops the others.
func runJobs(ctx context.Context, conns []*sql.Conn, jobs []*rangeJob, cfg Config) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	queue := make(chan *rangeJob)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			for j := range queue {
				if err := j.dump(ctx, c, cfg); err != nil {
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
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// fileNames hands out file-system-safe, unique base names.
type fileNames struct{ used map[string]bool }

func newFileNames() *fileNames { return &fileNames{used: map[string]bool{}} }

// escapeName makes a name file-system safe: bytes outside [A-Za-z0-9_-]
// become %XX, so "." only ever separates names in a file name.
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// base cuts an escaped name to a length every file system takes and makes
// it unique, also when compared case-insensitively.
func (n *fileNames) base(s string) string {
	if len(s) > 120 {
		s = s[:120]
	}
	cand := s
	for i := 2; n.used[strings.ToLower(cand)]; i++ {
		cand = fmt.Sprintf("%s~%d", s, i)
	}
	n.used[strings.ToLower(cand)] = true
	return cand
}

// writeSchemaCreate writes the schema's CREATE DATABASE statement.
func writeSchemaCreate(ctx context.Context, c *sql.Conn, dir string, names *fileNames, s *SchemaMeta) error {
	var name, create string
	if err := c.QueryRowContext(ctx, "SHOW CREATE DATABASE "+upstream.QuoteName(s.Name)).Scan(&name, &create); err != nil {
		return fmt.Errorf("SHOW CREATE DATABASE %s: %w", upstream.QuoteName(s.Name), err)
	}
	s.File = names.base(escapeName(s.Name)) + "-schema-create.sql"
	return writeFileSync(filepath.Join(dir, s.File), []byte(create+";\n"))
}

func writeFileSync(path string, b []byte) error {
	f, err := createFile(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// createFile creates (or truncates) a dump file readable by the user only.
func createFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, filePerm)
}
