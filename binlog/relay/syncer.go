package relay

import (
	"context"
	"errors"
	"net"
	"sync/atomic"

	"github.com/go-mysql-org/go-mysql/replication"
)

// Syncer is a go-mysql BinlogSyncer made safe to close after an upstream restart.
//
// BinlogSyncer.Close kills the replication connection with "KILL <id>" sent over a new
// connection. After the upstream restarted, that connection id belongs to the new server
// instance's numbering and may be anyone's connection (another relay, a reader, an
// application). Syncer's Close refuses that new connection, so nothing is killed; closing
// the socket ends the upstream's dump thread at its next write (heartbeats come every
// second). Use it with DisableRetrySync: go-mysql's own reconnect sends the same KILL.
type Syncer struct {
	*replication.BinlogSyncer
	closing atomic.Bool
}

var errSyncerClosing = errors.New("binlog syncer is closing: no new connection")

// NewSyncer wraps replication.NewBinlogSyncer; cfg.Dialer, if set, is replaced.
func NewSyncer(cfg replication.BinlogSyncerConfig) *Syncer {
	s := &Syncer{}
	d := &net.Dialer{}
	cfg.Dialer = func(ctx context.Context, network, address string) (net.Conn, error) {
		if s.closing.Load() {
			return nil, errSyncerClosing
		}
		return d.DialContext(ctx, network, address)
	}
	s.BinlogSyncer = replication.NewBinlogSyncer(cfg)
	return s
}

// Close closes the replication connection without killing anything on the upstream.
func (s *Syncer) Close() {
	s.closing.Store(true)
	s.BinlogSyncer.Close()
}
