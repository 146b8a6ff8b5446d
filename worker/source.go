package worker

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/peer"
)

// boundSource is the source the masters bound to this worker, opened against its upstream.
// The units (relay, dump, load, sync) run against it.
type boundSource struct {
	mu     sync.Mutex
	name   string
	config []byte // as stored in the FSM, to notice changes
	db     *sql.DB
	err    string // why it could not be opened
}

// reconcileSource opens the newly bound source, or closes the one no longer bound.
func (s *Server) reconcileSource(ctx context.Context, bound *fsm.Source) {
	b := &s.source
	b.mu.Lock()
	defer b.mu.Unlock()
	name, config := "", []byte(nil)
	if bound != nil {
		name, config = bound.Name, bound.Config
	}
	if name == b.name && string(config) == string(b.config) && (b.db != nil || name == "") {
		return
	}
	if b.db != nil {
		b.db.Close()
		s.logger.Info("source closed", "source", b.name)
	}
	b.name, b.config, b.db, b.err = name, config, nil, ""
	if name == "" {
		return
	}
	db, err := s.openSource(ctx, config)
	if err != nil {
		b.err = err.Error()
		s.logger.Warn("cannot open the bound source", "source", name, "err", err)
		return
	}
	b.db = db
	s.logger.Info("source opened", "source", name)
}

func (s *Server) openSource(ctx context.Context, config []byte) (*sql.DB, error) {
	st, err := peer.DecodeStoredSource(config)
	if err != nil {
		return nil, err
	}
	cfg, err := st.UpstreamConfig(s.cipher)
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
func (s *Server) boundUpstream(name string) (upstream.Config, peer.StoredSource, error) {
	s.source.mu.Lock()
	cur, config := s.source.name, s.source.config
	s.source.mu.Unlock()
	if cur != name {
		return upstream.Config{}, peer.StoredSource{}, fmt.Errorf("source %q is not bound to this worker", name)
	}
	st, err := peer.DecodeStoredSource(config)
	if err != nil {
		return upstream.Config{}, peer.StoredSource{}, err
	}
	cfg, err := st.UpstreamConfig(s.cipher)
	if err != nil {
		return upstream.Config{}, peer.StoredSource{}, fmt.Errorf("source %q: %w", name, err)
	}
	return cfg, st, nil
}
