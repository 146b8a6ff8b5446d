package worker

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
)

// boundSource is the source the masters bound to this worker, opened against its upstream.
// The units (relay, dump, load, sync) run against it.
type boundSource struct {
	mu   sync.Mutex
	name string
	spec fsm.SourceSpec // as stored in the FSM, to notice changes
	db   *sql.DB
	err  string // why it could not be opened
}

// reconcileSource opens the newly bound source, or closes the one no longer bound.
func (s *Server) reconcileSource(ctx context.Context, bound *fsm.Source) {
	b := &s.source
	b.mu.Lock()
	defer b.mu.Unlock()
	name, spec := "", fsm.SourceSpec{}
	if bound != nil {
		name, spec = bound.Name, bound.Spec
	}
	if name == b.name && reflect.DeepEqual(spec, b.spec) && (b.db != nil || name == "") {
		return
	}
	if b.db != nil {
		b.db.Close()
		s.logger.Info("source closed", "source", b.name)
	}
	b.name, b.spec, b.db, b.err = name, spec, nil, ""
	if name == "" {
		return
	}
	db, err := s.openSource(ctx, spec)
	if err != nil {
		b.err = err.Error()
		s.logger.Warn("cannot open the bound source", "source", name, "err", err)
		return
	}
	b.db = db
	s.logger.Info("source opened", "source", name)
}

func (s *Server) openSource(ctx context.Context, st fsm.SourceSpec) (*sql.DB, error) {
	cfg, err := s.upstreamConfig(st)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	db, err := upstream.Open(cctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open upstream %s:%d: %w", st.Host, st.Port, err)
	}
	return db, nil
}

// sourceState reports the bound source's name and error for status.
func (s *Server) sourceState() (name, errMsg string) {
	s.source.mu.Lock()
	defer s.source.mu.Unlock()
	return s.source.name, s.source.err
}

func (s *Server) closeSource() {
	s.source.mu.Lock()
	defer s.source.mu.Unlock()
	if s.source.db != nil {
		s.source.db.Close()
		s.source.db = nil
	}
}

// boundUpstream returns the connection settings of the bound source, which must be name.
func (s *Server) boundUpstream(name string) (upstream.Config, fsm.SourceSpec, error) {
	s.source.mu.Lock()
	cur, st := s.source.name, s.source.spec
	s.source.mu.Unlock()
	if cur != name {
		return upstream.Config{}, fsm.SourceSpec{}, fmt.Errorf("source %q is not bound to this worker", name)
	}
	cfg, err := s.upstreamConfig(st)
	if err != nil {
		return upstream.Config{}, fsm.SourceSpec{}, fmt.Errorf("source %q: %w", name, err)
	}
	return cfg, st, nil
}

// binlogServer identifies the server whose binlog the subtask reads (the relay log's, or the
// upstream's), for the sync checkpoint: after a failover to a replica it tells the syncer that
// the checkpoint's positions are another server's.
func binlogServer(ctx context.Context, up *sql.DB, relayDir string, relayed bool) (string, error) {
	if relayed {
		if m, ok, err := relay.ReadMeta(relayDir); err == nil && ok {
			return serverIdentity(m.Flavor, m.ServerID, m.ServerUUID), nil
		}
	}
	info, err := upstream.Inspect(ctx, up)
	if err != nil {
		return "", fmt.Errorf("upstream: %w", err)
	}
	return serverIdentity(string(info.Flavor), info.ServerID, info.ServerUUID), nil
}

func serverIdentity(flavor string, serverID uint32, uuid string) string {
	id := fmt.Sprintf("%s:%d", flavor, serverID)
	if uuid != "" {
		id += ":" + uuid
	}
	return id
}

// startHere returns where a sync that starts at loc, a position taken on the upstream (by the
// dump), starts on the server up reaches: loc itself when it is a place in this server's binlog,
// else its GTID set alone (the source failed over to a replica while the subtask dumped or
// loaded), which the reader then opens by GTID. MariaDB tells (BINLOG_GTID_POS); on MySQL the
// position is kept.
func startHere(ctx context.Context, up *sql.DB, flavor string, loc binlog.Location) (binlog.Location, error) {
	if flavor != binlog.FlavorMariaDB || loc.File == "" || loc.GTIDSet == "" {
		return loc, nil
	}
	var here sql.NullString
	if err := up.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", loc.File, loc.Pos).Scan(&here); err != nil {
		return binlog.Location{}, fmt.Errorf("upstream: where %s is: %w", loc, err)
	}
	if here.Valid && here.String == loc.GTIDSet {
		return loc, nil
	}
	return binlog.Location{GTIDSet: loc.GTIDSet}, nil
}
