package worker

import (
	"context"
	"fmt"

	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/worker/settings"
)

// fetchKeys gets what a worker without secret-key-path needs from the masters once registered:
// the cluster key, which decrypts the secrets and, in TLS mode, keys the gossip. With
// secret-key-path it has both already.
func (s *Server) fetchKeys(ctx context.Context) error {
	_, err := s.secrets.Cipher()
	needGossip := s.members.GossipNeedsClusterKey()
	if err == nil && !needGossip {
		return nil
	}
	ck, err := s.client.ClusterKey(ctx)
	if err != nil {
		return fmt.Errorf("get the cluster key from the masters: %w", err)
	}
	if s.res.secretKey == nil {
		c, err := security.NewCipher(ck)
		if err != nil {
			return fmt.Errorf("the masters' cluster key: %w", err)
		}
		s.secrets.Set(c)
	}
	if needGossip {
		gk := security.GossipKeyFromClusterKey(ck)
		if !s.pool.HasKey(gk) {
			if err := s.pool.InstallKey(gk); err != nil {
				return err
			}
			s.logger.Info("gossip key installed from the cluster key")
		}
	}
	return nil
}

// upstreamConfig is how to reach a source, its secrets decrypted.
func (s *Server) upstreamConfig(spec fsm.SourceSpec) (upstream.Config, error) {
	c, err := s.secrets.Cipher()
	if err != nil {
		return upstream.Config{}, err
	}
	return settings.Upstream(spec, c)
}

// targetConfig is how to reach a task's target, its secrets decrypted.
func (s *Server) targetConfig(spec fsm.TargetSpec) (upstream.Config, error) {
	c, err := s.secrets.Cipher()
	if err != nil {
		return upstream.Config{}, err
	}
	return settings.Target(spec, c)
}
