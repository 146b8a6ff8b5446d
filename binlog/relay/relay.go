package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dm-oss/dm/internal/backoff"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/upstream"
)

// Config configures a Relay.
type Config struct {
	// Dir is the relay directory of one source: <relay_dir>/<source>. It is created if
	// missing.
	Dir      string
	Upstream upstream.Config
	// Flavor is "mysql" or "mariadb"; empty means what the upstream says it is.
	Flavor string
	// ServerID is the server_id the relay registers with on the upstream. It must be
	// non-zero and unique among everything that replicates from that upstream.
	ServerID uint32
	// EnableGTID lets Start.GTIDSet choose where a new relay begins.
	EnableGTID bool
	// Start is where to begin when Dir has no relay meta yet; once there is one, the meta
	// wins. The relay always copies whole files, so it begins at the head of the file
	// that holds Start: Start.File; or, with EnableGTID and Start.GTIDSet, the file the
	// upstream serves that GTID set from; or, when Start is empty, the oldest binlog file
	// the upstream still has (SHOW BINARY LOGS), so that nothing is missed.
	Start binlog.Location
	// Hub, when set, wakes the relay readers of this process that were given the same Hub
	// whenever the relay writes to Dir; without it they notice at their next poll.
	Hub *Hub
	// Registerer receives the dm_relay_* metrics (labelled source_id=<base name of Dir>);
	// nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Timing of the relay.
const (
	heartbeatPeriod = time.Second
	// readTimeout detects a silent upstream (heartbeats stop).
	readTimeout = 10 * time.Second
	// Under load the relay commits at least this often (and per commitBytes).
	commitInterval = 100 * time.Millisecond
	commitBytes    = 8 << 20
	masterPoll     = 5 * time.Second
	retryMin       = 500 * time.Millisecond
	retryMax       = 30 * time.Second
)

// Relay copies one upstream's binlog into Config.Dir. See the package documentation for the
// file formats and the durability protocol.
type Relay struct {
	cfg    Config
	log    *slog.Logger
	m      *metrics
	hubKey string // Dir as Config.Hub knows it

	running atomic.Bool

	mu        sync.Mutex
	committed Meta // the last durable meta
	hasMeta   bool
	master    binlog.Location // last seen upstream position
	hasMaster bool
	lastErr   string
}

// Status is what a relay reports (DM's relay status).
type Status struct {
	// MasterBinlog is the upstream's current position, "(file, pos)"; empty when the
	// upstream cannot be reached and was never seen.
	MasterBinlog     string
	MasterBinlogGTID string
	// RelayBinlog is the durable relay position, "(file, pos)".
	RelayBinlog     string
	RelayBinlogGTID string
	RelayDir        string
	// CatchUp: the relay holds everything the upstream has written.
	CatchUp bool
	// Running: Run is active.
	Running bool
	// LastError is the error that ended the last relay session, if the relay has not made
	// progress since.
	LastError string
}

// New checks cfg and prepares the relay directory. It does not connect to the upstream.
func New(cfg Config) (*Relay, error) {
	if cfg.Dir == "" {
		return nil, errors.New("relay: Dir is empty")
	}
	if cfg.ServerID == 0 {
		return nil, errors.New("relay: ServerID must be non-zero (and unique among the upstream's replicas)")
	}
	switch cfg.Flavor {
	case "", binlog.FlavorMySQL, binlog.FlavorMariaDB:
	default:
		return nil, fmt.Errorf("relay: flavor %q: want %q or %q", cfg.Flavor, binlog.FlavorMySQL, binlog.FlavorMariaDB)
	}
	if cfg.Start.File != "" {
		if err := validFileName(cfg.Start.File); err != nil {
			return nil, fmt.Errorf("relay: start: %w", err)
		}
	}
	// The relay holds the upstream's rows: 0600 files in a 0700 directory, also when an
	// earlier version made it 0755.
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	if err := os.Chmod(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	r := &Relay{
		cfg:    cfg,
		log:    log.With("component", "relay", "relay_dir", cfg.Dir),
		m:      newMetrics(cfg.Registerer, cfg.Dir),
		hubKey: hubKey(cfg.Dir),
	}
	meta, ok, err := ReadMeta(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	if ok {
		r.committed, r.hasMeta = meta, true
		r.m.setRelay(meta.File, meta.Pos)
	}
	r.m.updateSpace(cfg.Dir)
	return r, nil
}

// changed tells the readers sharing the relay's Hub that Dir holds more.
func (r *Relay) changed() { r.cfg.Hub.wake(r.hubKey) }

// fatalError marks errors that retrying cannot fix.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func fatal(err error) error {
	if err == nil {
		return nil
	}
	var fe *fatalError
	if errors.As(err, &fe) {
		return err
	}
	return &fatalError{err}
}

// classify marks upstream errors that will not go away by themselves as fatal.
func classify(err error) error {
	var myErr *gmysql.MyError
	if errors.As(err, &myErr) {
		switch myErr.Code {
		case gmysql.ER_MASTER_FATAL_ERROR_READING_BINLOG: // purged file, bad position, ...
			return fatal(fmt.Errorf("the upstream cannot serve the binlog the relay needs: %w", err))
		case gmysql.ER_ACCESS_DENIED_ERROR, gmysql.ER_SPECIFIC_ACCESS_DENIED_ERROR:
			return fatal(err)
		case 4052: // ER_SLAVE_SAME_ID: another replica registered with our server_id
			return fatal(fmt.Errorf("another replica uses this relay's server_id: give each relay and each reader its own: %w", err))
		}
	}
	var drvErr *mysql.MySQLError
	if errors.As(err, &drvErr) && (drvErr.Number == 1045 || drvErr.Number == 1227) {
		return fatal(err)
	}
	return err
}

// Run pulls the upstream's binlog into the relay directory until ctx ends (it then returns
// nil; Pause is cancelling ctx and Resume is calling Run again) or a non-retryable error
// happens (another server behind the address, a relay file damaged, a purged upstream
// binlog, access denied, ...). Connection losses and upstream restarts are retried with
// backoff, each time resuming from the durable meta.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("relay: Run is already active for this relay")
	}
	defer r.running.Store(false)
	unlock, err := flock(r.cfg.Dir, lockFileName, false)
	if err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			err = fmt.Errorf("relay: another relay is running in %s", r.cfg.Dir)
		} else {
			err = fmt.Errorf("relay: lock %s: %w", r.cfg.Dir, err)
		}
		r.setErr(err)
		r.m.exitWithError.WithLabelValues("false").Inc()
		return err
	}
	defer unlock()

	wait := backoff.Backoff{First: retryMin, Max: retryMax}
	for {
		progressed, err := r.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("the binlog stream ended")
		}
		var fe *fatalError
		if errors.As(err, &fe) {
			r.m.exitWithError.WithLabelValues("false").Inc()
			err = fmt.Errorf("relay %s: %w", r.cfg.Dir, err)
			r.setErr(err)
			r.log.Error("relay stopped", "error", err)
			return err
		}
		r.m.exitWithError.WithLabelValues("true").Inc()
		r.setErr(err)
		if progressed {
			wait.Reset()
		}
		r.log.Warn("relay session ended; retrying", "error", err, "retry_in", wait.Next())
		if wait.Wait(ctx) != nil {
			return nil
		}
	}
}

func (r *Relay) setErr(err error) {
	r.mu.Lock()
	r.lastErr = err.Error()
	r.mu.Unlock()
}

// Status reports the relay and upstream positions. It asks the upstream for its current
// position (within ctx, at most a few seconds).
func (r *Relay) Status(ctx context.Context) Status {
	st := Status{RelayDir: r.cfg.Dir, Running: r.running.Load()}
	r.mu.Lock()
	meta, hasMeta := r.committed, r.hasMeta
	st.LastError = r.lastErr
	r.mu.Unlock()
	// The file is the truth (the copy in memory follows it a moment later).
	if m, ok, err := ReadMeta(r.cfg.Dir); err == nil && ok {
		meta, hasMeta = m, true
	}
	if hasMeta {
		st.RelayBinlog = meta.Location().String()
		st.RelayBinlogGTID = meta.GTIDSet
	}
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	cfg := r.cfg.Upstream
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 3*time.Second {
		cfg.ConnectTimeout = 3 * time.Second
	}
	if db, err := upstream.Open(qctx, cfg); err == nil {
		if info, err := upstream.Inspect(qctx, db); err == nil && info.BinlogFile != "" {
			r.setMaster(binlog.Location{File: info.BinlogFile, Pos: info.BinlogPos, GTIDSet: info.GTIDExecuted})
		}
		db.Close()
	}
	r.mu.Lock()
	master, hasMaster := r.master, r.hasMaster
	r.mu.Unlock()
	if hasMaster {
		st.MasterBinlog = master.String()
		st.MasterBinlogGTID = master.GTIDSet
		st.CatchUp = hasMeta && meta.File == master.File && meta.Pos == master.Pos
	}
	return st
}

func (r *Relay) setMaster(loc binlog.Location) {
	r.mu.Lock()
	r.master, r.hasMaster = loc, true
	r.mu.Unlock()
	r.m.setMaster(loc.File, loc.Pos)
}

// session is one connection to the upstream: recover the directory, pull, write, commit.
// progressed reports whether it committed anything new.
func (r *Relay) session(ctx context.Context) (progressed bool, err error) {
	db, info, scfg, err := r.connect(ctx)
	if err != nil {
		return false, err
	}
	defer db.Close()
	s, err := r.openStream(ctx, db, info, scfg)
	if err != nil {
		return false, err
	}
	defer func() { s.w.close() }()

	syncer := NewSyncer(scfg)
	defer syncer.Close()
	streamer, err := syncer.StartSync(gmysql.Position{Name: s.meta.File, Pos: s.meta.Pos})
	if err != nil {
		r.m.readErrors.Inc()
		return false, classify(fmt.Errorf("start binlog dump at %s: %w", s.meta.Location(), err))
	}
	r.log.Info("relay session started", "from", s.meta.Location().String(), "gtid", s.meta.GTIDSet,
		"upstream_server_id", info.ServerID, "flavor", s.flavor)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := readEvents(sctx, streamer, r.m.readDuration)
	go r.pollMaster(sctx, db)
	return s.pump(ctx, events)
}

// connect opens the upstream and checks it can be relayed; scfg is the binlog syncer's
// configuration for it.
func (r *Relay) connect(ctx context.Context) (*sql.DB, upstream.Info, replication.BinlogSyncerConfig, error) {
	var scfg replication.BinlogSyncerConfig
	db, err := upstream.Open(ctx, r.cfg.Upstream)
	if err != nil {
		r.m.readErrors.Inc()
		return nil, upstream.Info{}, scfg, classify(err)
	}
	fail := func(err error) (*sql.DB, upstream.Info, replication.BinlogSyncerConfig, error) {
		db.Close()
		return nil, upstream.Info{}, scfg, err
	}
	info, err := upstream.Inspect(ctx, db)
	if err != nil {
		r.m.readErrors.Inc()
		return fail(classify(fmt.Errorf("upstream %s:%d: %w", r.cfg.Upstream.Host, r.cfg.Upstream.Port, err)))
	}
	flavor := string(info.Flavor)
	if r.cfg.Flavor != "" && r.cfg.Flavor != flavor {
		return fail(fatal(fmt.Errorf("the relay is configured for flavor %s but the upstream is %s (%s)", r.cfg.Flavor, flavor, info.Version)))
	}
	if !info.LogBin {
		return fail(fatal(errors.New("the upstream has binary logging off (log_bin): there is no binlog to relay")))
	}
	if info.BinlogFile != "" {
		r.setMaster(binlog.Location{File: info.BinlogFile, Pos: info.BinlogPos, GTIDSet: info.GTIDExecuted})
	}
	tlsCfg, err := r.cfg.Upstream.TLSConfig()
	if err != nil {
		return fail(fatal(err))
	}
	scfg = r.syncerConfig(flavor)
	scfg.TLSConfig = tlsCfg
	return db, info, scfg, nil
}

// openStream recovers the relay directory and opens its writer where the meta says.
func (r *Relay) openStream(ctx context.Context, db *sql.DB, info upstream.Info, scfg replication.BinlogSyncerConfig) (*stream, error) {
	flavor := string(info.Flavor)
	meta, fresh, err := r.recoverDir(ctx, db, info, scfg)
	if err != nil {
		return nil, err
	}
	if !fresh {
		r.mu.Lock()
		r.committed, r.hasMeta = meta, true
		r.mu.Unlock()
		r.m.setRelay(meta.File, meta.Pos)
	}
	r.changed()
	gset, err := gmysql.ParseGTIDSet(flavor, meta.GTIDSet)
	if err != nil {
		return nil, fatal(fmt.Errorf("relay meta GTID set %q: %w", meta.GTIDSet, err))
	}
	w, err := openWriter(r.cfg.Dir, meta.File, meta.Pos)
	if err != nil {
		r.m.writeErrors.Inc()
		return nil, fatal(err)
	}
	return &stream{r: r, w: w, flavor: flavor, gset: gset, meta: meta, lastCommit: time.Now()}, nil
}

// streamItem is one event read from the upstream, or the error that ended the reading.
type streamItem struct {
	ev  *replication.BinlogEvent
	err error
}

// readEvents reads the streamer's events in a goroutine, until an error or ctx ends.
func readEvents(ctx context.Context, streamer *replication.BinlogStreamer, wait prometheus.Observer) <-chan streamItem {
	events := make(chan streamItem, 256)
	go func() {
		for {
			began := time.Now()
			ev, err := streamer.GetEvent(ctx)
			wait.Observe(time.Since(began).Seconds())
			select {
			case events <- streamItem{ev, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return events
}

// pump writes the events to the relay log, committing at transaction boundaries, until a
// read error or ctx ends; progressed says something was committed.
func (s *stream) pump(ctx context.Context, events <-chan streamItem) (bool, error) {
	r := s.r
	for {
		var it streamItem
		select {
		case it = <-events:
		default:
			// Nothing buffered: the relay has caught up with what the upstream sent.
			if err := s.w.flush(r.m); err != nil {
				return s.progressed, fatal(err)
			}
			if s.tracker.AtBoundary() {
				if err := s.commitSession(); err != nil {
					return s.progressed, err
				}
			}
			r.changed()
			select {
			case it = <-events:
			case <-ctx.Done():
				return s.stop(nil)
			}
		}
		if it.err != nil {
			if ctx.Err() != nil {
				return s.stop(nil)
			}
			r.m.readErrors.Inc()
			return s.stop(classify(fmt.Errorf("read binlog from upstream after %s:%d: %w", s.w.name, s.w.size, it.err)))
		}
		began := time.Now()
		if err := s.handle(it.ev); err != nil {
			return s.progressed, err
		}
		r.m.transformCost.Observe(time.Since(began).Seconds())
		if s.tracker.AtBoundary() && (s.w.name != s.meta.File || s.w.size-s.meta.Pos >= commitBytes || time.Since(s.lastCommit) >= commitInterval) {
			if err := s.commitSession(); err != nil {
				return s.progressed, err
			}
		}
	}
}

// commitSession commits up to the last boundary and notes the progress.
func (s *stream) commitSession() error {
	ok, err := s.commit()
	if err != nil {
		return err
	}
	if ok {
		s.progressed = true
		s.lastCommit = time.Now()
		s.r.mu.Lock()
		s.r.lastErr = ""
		s.r.mu.Unlock()
	}
	return nil
}

// stop ends the session on a read error or a cancelled ctx: everything up to the last
// boundary becomes durable; a partial group is left for the next session to discard.
func (s *stream) stop(err error) (bool, error) {
	if s.tracker.AtBoundary() {
		if cerr := s.commitSession(); cerr != nil {
			return s.progressed, cerr
		}
	} else if ferr := s.w.flush(s.r.m); ferr != nil {
		return s.progressed, fatal(ferr)
	}
	return s.progressed, err
}

// pollMaster refreshes the upstream position and the disk space metrics.
func (r *Relay) pollMaster(ctx context.Context, db *sql.DB) {
	t := time.NewTicker(masterPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		info, err := upstream.Inspect(qctx, db)
		cancel()
		if err == nil && info.BinlogFile != "" {
			r.setMaster(binlog.Location{File: info.BinlogFile, Pos: info.BinlogPos, GTIDSet: info.GTIDExecuted})
		}
		r.m.updateSpace(r.cfg.Dir)
	}
}

func (r *Relay) syncerConfig(flavor string) replication.BinlogSyncerConfig {
	c := replication.BinlogSyncerConfig{
		ServerID:         r.cfg.ServerID,
		Flavor:           flavor,
		Host:             r.cfg.Upstream.Host,
		Port:             uint16(r.cfg.Upstream.Port),
		User:             r.cfg.Upstream.User,
		Password:         r.cfg.Upstream.Password,
		RawModeEnabled:   true,
		HeartbeatPeriod:  heartbeatPeriod,
		ReadTimeout:      readTimeout,
		DisableRetrySync: true, // the relay reconnects itself, from its durable meta
		VerifyChecksum:   true,
		EventCacheCount:  1024,
		Logger:           QuietLogger(r.log),
	}
	if flavor == binlog.FlavorMariaDB {
		// Without it MariaDB leaves out ANNOTATE_ROWS events, and the relay file would not
		// be a copy of the upstream's.
		c.DumpCommandFlag = replication.BINLOG_SEND_ANNOTATE_ROWS_EVENT
	}
	return c
}

// recoverDir makes the directory consistent with its meta and returns the meta to resume
// from. For a new relay (fresh) it creates the first relay file and the index, but not the
// meta: that comes with the first commit, so that a relay that never got anything (a
// wrong start file, say) decides its start again next time.
func (r *Relay) recoverDir(ctx context.Context, db *sql.DB, info upstream.Info, scfg replication.BinlogSyncerConfig) (_ Meta, fresh bool, _ error) {
	dir := r.cfg.Dir
	meta, ok, err := ReadMeta(dir)
	if err != nil {
		r.m.dataCorruption.Inc()
		return Meta{}, false, fatal(err)
	}
	if ok {
		if err := checkIdentity(meta, info); err != nil {
			return Meta{}, false, fatal(err)
		}
	} else {
		file, err := r.startFile(ctx, db, scfg)
		if err != nil {
			return Meta{}, false, err
		}
		meta = Meta{File: file, Pos: 4, Flavor: string(info.Flavor), ServerID: info.ServerID, ServerUUID: info.ServerUUID}
	}

	unlock, err := lockIndex(dir)
	if err != nil {
		return Meta{}, false, fatal(err)
	}
	defer unlock()
	names, err := ReadIndex(dir)
	if err != nil {
		return Meta{}, false, fatal(err)
	}
	if !ok {
		// Files of a relay that died before its first commit.
		for _, n := range names {
			if validFileName(n) == nil {
				os.Remove(filepath.Join(dir, n))
			}
		}
		names = nil
	}
	path := filepath.Join(dir, meta.File)
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if meta.Pos != 4 {
			r.m.dataCorruption.Inc()
			return Meta{}, false, fatal(fmt.Errorf("relay file %s is missing but the meta says the relay holds it up to %d: the relay log is damaged; remove %s to start over", path, meta.Pos, dir))
		}
		if err := createRelayFile(path); err != nil {
			r.m.writeErrors.Inc()
			return Meta{}, false, fatal(err)
		}
	case err != nil:
		return Meta{}, false, fatal(err)
	case st.Size() < int64(meta.Pos):
		r.m.dataCorruption.Inc()
		return Meta{}, false, fatal(fmt.Errorf("relay file %s has %d bytes but the meta says the relay holds it up to %d: the relay log is damaged; remove %s to start over", path, st.Size(), meta.Pos, dir))
	case st.Size() > int64(meta.Pos):
		r.log.Info("discarding the uncommitted tail of the relay file", "file", meta.File, "size", st.Size(), "meta_pos", meta.Pos)
		if err := truncateFile(path, int64(meta.Pos)); err != nil {
			r.m.writeErrors.Inc()
			return Meta{}, false, fatal(err)
		}
	}
	if err := checkMagic(path); err != nil {
		r.m.dataCorruption.Inc()
		return Meta{}, false, fatal(err)
	}
	// Relay files after the meta's hold nothing committed.
	newNames := names
	found := false
	for i, n := range names {
		if n == meta.File {
			for _, later := range names[i+1:] {
				r.log.Info("removing an uncommitted relay file", "file", later)
				if validFileName(later) == nil {
					if err := os.Remove(filepath.Join(dir, later)); err != nil && !errors.Is(err, os.ErrNotExist) {
						return Meta{}, false, fatal(err)
					}
				}
			}
			newNames = names[:i+1]
			found = true
			break
		}
	}
	if !found {
		newNames = append(newNames, meta.File)
	}
	if !found || len(newNames) != len(names) {
		if err := writeIndex(dir, newNames); err != nil {
			r.m.writeErrors.Inc()
			return Meta{}, false, fatal(err)
		}
	}
	return meta, !ok, nil
}

func checkIdentity(meta Meta, info upstream.Info) error {
	if meta.Flavor != "" && meta.Flavor != string(info.Flavor) ||
		meta.ServerID != info.ServerID ||
		meta.ServerUUID != "" && info.ServerUUID != "" && meta.ServerUUID != info.ServerUUID {
		return fmt.Errorf("the relay log in this directory comes from another server (%s server_id %d%s) than the upstream now reached (%s server_id %d%s): "+
			"its binlog positions would not match; point this relay at a new directory (or remove this one) to relay the new server",
			meta.Flavor, meta.ServerID, uuidNote(meta.ServerUUID), info.Flavor, info.ServerID, uuidNote(info.ServerUUID))
	}
	return nil
}

func uuidNote(u string) string {
	if u == "" {
		return ""
	}
	return " server_uuid " + u
}

// startFile decides which upstream file a new relay begins with.
func (r *Relay) startFile(ctx context.Context, db *sql.DB, scfg replication.BinlogSyncerConfig) (string, error) {
	start := r.cfg.Start
	switch {
	case start.File != "":
		if start.Pos > 4 {
			r.log.Info("a new relay copies whole files: starting at the head of the start file", "file", start.File, "start_pos", start.Pos)
		}
		return start.File, nil
	case r.cfg.EnableGTID && start.GTIDSet != "":
		return r.locateGTID(ctx, scfg, start.GTIDSet)
	}
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return "", classify(fmt.Errorf("SHOW BINARY LOGS: %w", err))
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var first string
	if rows.Next() {
		dest := make([]any, len(cols))
		dest[0] = &first
		for i := 1; i < len(cols); i++ {
			dest[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(dest...); err != nil {
			return "", err
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if first == "" {
		return "", fatal(errors.New("SHOW BINARY LOGS lists no file: is binary logging on?"))
	}
	if err := validFileName(first); err != nil {
		return "", fatal(err)
	}
	return first, nil
}

// locateGTID asks the upstream which file it would serve the GTID set from: the first
// ROTATE of a GTID-based dump names it.
func (r *Relay) locateGTID(ctx context.Context, scfg replication.BinlogSyncerConfig, gtid string) (string, error) {
	set, err := gmysql.ParseGTIDSet(scfg.Flavor, gtid)
	if err != nil {
		return "", fatal(fmt.Errorf("start GTID set %q: %w", gtid, err))
	}
	scfg.HeartbeatPeriod = 0
	syncer := NewSyncer(scfg)
	defer syncer.Close()
	streamer, err := syncer.StartSyncGTID(set)
	if err != nil {
		return "", classify(fmt.Errorf("locate GTID set %s on the upstream: %w", gtid, err))
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		ev, err := streamer.GetEvent(lctx)
		if err != nil {
			return "", classify(fmt.Errorf("locate GTID set %s on the upstream: %w", gtid, err))
		}
		if rot, ok := ev.Event.(*replication.RotateEvent); ok {
			name := string(rot.NextLogName)
			if err := validFileName(name); err != nil {
				return "", fatal(err)
			}
			r.log.Info("the start GTID set is in upstream file", "gtid", gtid, "file", name)
			return name, nil
		}
	}
}

// QuietLogger returns a logger that passes everything go-mysql logs at Debug level:
// go-mysql reports each connect, rotate and broken connection at Info or Error level,
// which the relay and the readers report themselves.
func QuietLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return slog.New(demoteHandler{l.Handler()})
}

type demoteHandler struct{ h slog.Handler }

func (d demoteHandler) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.h.Enabled(ctx, slog.LevelDebug)
}

func (d demoteHandler) Handle(ctx context.Context, rec slog.Record) error {
	rec.Level = slog.LevelDebug
	return d.h.Handle(ctx, rec)
}

func (d demoteHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteHandler{d.h.WithAttrs(attrs)}
}

func (d demoteHandler) WithGroup(name string) slog.Handler { return demoteHandler{d.h.WithGroup(name)} }
