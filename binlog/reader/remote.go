package reader

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dm-oss/dm/internal/backoff"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/binlog/upstream"
)

// RemoteConfig configures a reader that replicates straight from the upstream.
type RemoteConfig struct {
	Upstream upstream.Config
	// Flavor is "mysql" or "mariadb" (empty: "mysql").
	Flavor string
	// ServerID is the server_id the reader registers with. It must be non-zero and unique
	// among everything that replicates from the upstream (the relay and every other
	// reader): two replicas with one server_id kick each other off.
	ServerID uint32
	// Start is where to read from: File and Pos (File empty: the oldest binlog file; Pos
	// below 4: the head of the file), or, when UseGTID is set and Start.GTIDSet is not
	// empty, the first transaction that is not in GTIDSet.
	Start   binlog.Location
	UseGTID bool
}

// Remote reading parameters.
const (
	remoteHeartbeat = time.Second
	remoteReadLimit = 10 * time.Second
	// remoteRetries bounds the reconnection attempts (one a second) after the connection
	// breaks, e.g. while the upstream restarts.
	remoteRetries = 60
)

type remote struct {
	scfg     replication.BinlogSyncerConfig
	flavor   string
	syncer   *relay.Syncer
	streamer *replication.BinlogStreamer

	// Where the stream is, to reconnect after a break: file and the end of the last
	// event returned; resume, the last group boundary (with gset, the GTID set executed
	// there, when reading by GTID).
	file     string
	lastPos  uint32
	resume   binlog.Location
	gset     gmysql.GTIDSet
	pending  string // GTID of the open group
	tracker  relay.GroupTracker
	checksum bool
	// After a reconnect, events up to skipFile:skipPos were returned already.
	skipFile string
	skipPos  uint32

	// mu guards syncer against Close from another goroutine; done is closed by Close.
	mu        sync.Mutex
	done      chan struct{}
	closeOnce sync.Once
}

var errRemoteClosed = errors.New("remote binlog reader is closed")

// NewRemote connects to the upstream and starts a binlog dump at cfg.Start. A broken
// connection (an upstream restart, say) is re-established by Next itself, resuming at the
// last transaction boundary and dropping what it had returned already, for up to about a
// minute; Next then fails. The re-established stream starts again with a ROTATE and a
// FORMAT_DESCRIPTION, as a server's stream does.
func NewRemote(ctx context.Context, cfg RemoteConfig) (binlog.Reader, error) {
	if cfg.ServerID == 0 {
		return nil, errors.New("remote binlog reader: ServerID must be non-zero (and unique among the upstream's replicas)")
	}
	flavor := cfg.Flavor
	switch flavor {
	case "":
		flavor = binlog.FlavorMySQL
	case binlog.FlavorMySQL, binlog.FlavorMariaDB:
	default:
		return nil, fmt.Errorf("remote binlog reader: flavor %q: want %q or %q", flavor, binlog.FlavorMySQL, binlog.FlavorMariaDB)
	}
	if cfg.Upstream.Port <= 0 || cfg.Upstream.Port > 65535 {
		return nil, fmt.Errorf("remote binlog reader: upstream port %d is out of range", cfg.Upstream.Port)
	}
	tlsCfg, err := cfg.Upstream.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("remote binlog reader: %w", err)
	}
	r := &remote{
		flavor: flavor,
		scfg: replication.BinlogSyncerConfig{
			ServerID:                cfg.ServerID,
			Flavor:                  flavor,
			Host:                    cfg.Upstream.Host,
			Port:                    uint16(cfg.Upstream.Port),
			User:                    cfg.Upstream.User,
			Password:                cfg.Upstream.Password,
			TLSConfig:               tlsCfg,
			HeartbeatPeriod:         remoteHeartbeat,
			ReadTimeout:             remoteReadLimit,
			DisableRetrySync:        true, // Next reconnects (go-mysql's retry KILLs stale connection ids)
			VerifyChecksum:          true,
			TimestampStringLocation: time.UTC,
			Logger:                  relay.QuietLogger(nil),
		},
		resume: binlog.Location{File: cfg.Start.File, Pos: max(cfg.Start.Pos, 4)},
		done:   make(chan struct{}),
	}
	if cfg.UseGTID && cfg.Start.GTIDSet != "" {
		if r.gset, err = gmysql.ParseGTIDSet(flavor, cfg.Start.GTIDSet); err != nil {
			return nil, fmt.Errorf("remote binlog reader: start GTID set %q: %w", cfg.Start.GTIDSet, err)
		}
	}
	if err := r.connect(ctx); err != nil {
		return nil, fmt.Errorf("remote binlog reader: start binlog dump on %s:%d: %w", cfg.Upstream.Host, cfg.Upstream.Port, err)
	}
	return r, nil
}

// connect starts a dump at r.resume (or r.gset).
func (r *remote) connect(ctx context.Context) error {
	syncer := relay.NewSyncer(r.scfg)
	type result struct {
		s   *replication.BinlogStreamer
		err error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		if r.gset != nil {
			res.s, res.err = syncer.StartSyncGTID(r.gset.Clone())
		} else {
			res.s, res.err = syncer.StartSync(gmysql.Position{Name: r.resume.File, Pos: r.resume.Pos})
		}
		done <- res
	}()
	select {
	case res := <-done:
		if res.err != nil {
			syncer.Close()
			return res.err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.isClosed() {
			syncer.Close()
			return errRemoteClosed
		}
		r.syncer, r.streamer = syncer, res.s
		return nil
	case <-ctx.Done():
		go func() {
			<-done
			syncer.Close()
		}()
		return ctx.Err()
	case <-r.done:
		go func() {
			<-done
			syncer.Close()
		}()
		return errRemoteClosed
	}
}

func (r *remote) isClosed() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Next returns the next event; heartbeats are consumed silently.
func (r *remote) Next(ctx context.Context) (*replication.BinlogEvent, error) {
	retries := 0
	for {
		if r.isClosed() {
			return nil, errRemoteClosed
		}
		if r.streamer == nil {
			if err := r.connect(ctx); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if retries++; retries > remoteRetries || permanent(err) {
					return nil, fmt.Errorf("remote binlog reader: reconnect at %s: %w", r.resume, err)
				}
				if err := backoff.Sleep(ctx, time.Second); err != nil {
					return nil, err
				}
				continue
			}
		}
		ev, err := r.streamer.GetEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if r.isClosed() {
				return nil, errRemoteClosed
			}
			if permanent(err) || retries >= remoteRetries {
				return nil, fmt.Errorf("remote binlog reader: %w", err)
			}
			// Resume at the last boundary; drop what was returned already.
			r.mu.Lock()
			if r.syncer != nil {
				r.syncer.Close()
			}
			r.syncer, r.streamer = nil, nil
			r.mu.Unlock()
			r.skipFile, r.skipPos = r.file, r.lastPos
			r.tracker.Reset()
			r.pending = ""
			retries++
			continue
		}
		retries = 0
		if r.track(ev) {
			return ev, nil
		}
	}
}

// track updates the position bookkeeping with ev and reports whether to return it.
func (r *remote) track(ev *replication.BinlogEvent) bool {
	h := ev.Header
	artificial := h.Flags&replication.LOG_EVENT_ARTIFICIAL_F != 0 || h.LogPos == 0
	switch h.EventType {
	case replication.HEARTBEAT_EVENT, replication.HEARTBEAT_LOG_EVENT_V2:
		return false
	case replication.ROTATE_EVENT:
		if rot, ok := ev.Event.(*replication.RotateEvent); ok && artificial {
			r.file = string(rot.NextLogName)
			if r.tracker.AtBoundary() {
				r.resume = binlog.Location{File: r.file, Pos: max(uint32(rot.Position), 4)}
			}
		}
	case replication.FORMAT_DESCRIPTION_EVENT:
		if fde, ok := ev.Event.(*replication.FormatDescriptionEvent); ok {
			r.checksum = fde.ChecksumAlgorithm == replication.BINLOG_CHECKSUM_ALG_CRC32
		}
	}
	if artificial {
		return true
	}
	body := ev.RawData[replication.EventHeaderSize:]
	if r.checksum && h.EventType != replication.FORMAT_DESCRIPTION_EVENT && len(body) >= 4 {
		body = body[:len(body)-4]
	}
	begin, end := r.tracker.Observe(h.EventType, body)
	if begin {
		r.pending = ""
		switch e := ev.Event.(type) {
		case *replication.MariadbGTIDEvent:
			r.pending = e.GTID.String()
		case *replication.GTIDEvent:
			if set, err := e.GTIDNext(); err == nil {
				r.pending = set.String()
			}
		case *replication.GtidTaggedLogEvent:
			if set, err := e.GTIDNext(); err == nil {
				r.pending = set.String()
			}
		}
	}
	if end && r.gset != nil && r.pending != "" {
		r.gset.Update(r.pending)
		r.pending = ""
	}
	if r.tracker.AtBoundary() {
		r.resume = binlog.Location{File: r.file, Pos: h.LogPos}
	}
	dup := r.skipFile != "" && r.file == r.skipFile && h.LogPos <= r.skipPos
	if !dup {
		r.skipFile = ""
	}
	r.lastPos = h.LogPos
	return !dup
}

// permanent reports errors that reconnecting does not fix.
func permanent(err error) bool {
	var myErr *gmysql.MyError
	if errors.As(err, &myErr) {
		switch myErr.Code {
		case gmysql.ER_MASTER_FATAL_ERROR_READING_BINLOG, gmysql.ER_ACCESS_DENIED_ERROR, 4052:
			return true
		}
	}
	return false
}

// Close ends the replication connection. It may be called while Next waits in another
// goroutine; that Next then fails.
func (r *remote) Close() error {
	r.closeOnce.Do(func() { close(r.done) })
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.syncer != nil {
		r.syncer.Close()
		r.syncer = nil
	}
	return nil
}
