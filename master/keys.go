package master

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
)

// The keys of a master's secrets. With secret-key-path, secrets are encrypted with its key;
// without it, with the cluster key: random bytes the first leader proposes (SetClusterKey), kept
// in the Raft state, handed by the masters only to authenticated members (GET
// peer.PathClusterKey). A master also decrypts with the other key it knows and with the
// built-in key of builds before clusters had keys (security.LegacyKey), and as the leader
// re-encrypts whatever such a key sealed (rekeySecrets), so that an upgraded cluster leaves them
// behind. In TLS mode without secret-key-path, gossip is keyed by the cluster key too.

// keyState is the cluster key this master's cipher and gossip were last set up with.
type keyState struct {
	mu         sync.Mutex
	clusterKey []byte
	ready      bool // the cipher is set
}

// refreshKeys sets the cipher and the gossip key up from the keys this master knows now; it
// does nothing when they have not changed.
func (s *Server) refreshKeys() {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	ck := s.state.ClusterKey()
	if s.keys.ready && bytes.Equal(ck, s.keys.clusterKey) {
		return
	}
	primary, older := s.res.secretKey, [][]byte{}
	switch {
	case primary == nil && ck == nil:
		return // a new cluster whose leader has not proposed the cluster key yet
	case primary == nil:
		primary = ck
	case ck != nil:
		older = append(older, ck) // the cluster ran without secret-key-path before
	}
	c, err := security.NewCipher(primary, append(older, security.LegacyKey())...)
	if err != nil {
		s.logger.Error("set up the cipher of the cluster's secrets", "err", err)
		return
	}
	s.secrets.Set(c)
	s.keys.clusterKey, s.keys.ready = ck, true
	if s.members.GossipNeedsClusterKey() && ck != nil {
		if err := s.pool.InstallKey(security.GossipKeyFromClusterKey(ck)); err != nil {
			s.logger.Error("install the gossip key", "err", err)
			return
		}
		s.logger.Info("gossip key installed from the cluster key")
	}
}

// keyLoop follows the FSM for the cluster key.
func (s *Server) keyLoop(ctx context.Context) {
	for {
		watch := s.state.Watch()
		s.refreshKeys()
		select {
		case <-ctx.Done():
			return
		case <-watch:
		}
	}
}

// cipher is the cipher of the cluster's secrets. A leader of a cluster without secret-key-path
// that has no cluster key yet (it was elected a moment ago) proposes it first.
func (s *Server) cipher(ctx context.Context) (*security.Cipher, error) {
	if c, err := s.secrets.Cipher(); err == nil {
		return c, nil
	}
	if err := s.ensureClusterKey(ctx); err != nil {
		return nil, err
	}
	return s.secrets.Cipher()
}

// ensureClusterKey proposes a fresh cluster key when the cluster has none and no
// secret-key-path (leader only; elsewhere it fails with ErrNoLeader).
func (s *Server) ensureClusterKey(ctx context.Context) error {
	if s.res.secretKey != nil || s.state.ClusterKey() != nil {
		return nil
	}
	s.keys.mu.Lock()
	if s.state.ClusterKey() == nil {
		key, err := security.NewKey()
		if err != nil {
			s.keys.mu.Unlock()
			return err
		}
		if _, err := s.apply(ctx, fsm.SetClusterKey{Key: key}); err != nil && s.state.ClusterKey() == nil {
			s.keys.mu.Unlock()
			return fmt.Errorf("generate the cluster key: %w", err)
		}
		s.logger.Info("cluster key generated (secret-key-path is not set)")
	}
	s.keys.mu.Unlock()
	s.refreshKeys()
	return nil
}

// leaderKeys is the leader's key work on taking office: the cluster key exists, and no secret
// is left under a key other than the current one.
func (s *Server) leaderKeys(ctx context.Context) error {
	c, err := s.cipher(ctx)
	if err != nil {
		return err
	}
	cmd, err := s.rekeyCommand(c)
	if err != nil {
		return err
	}
	if len(cmd.Sources) == 0 && len(cmd.Tasks) == 0 {
		return nil
	}
	if _, err := s.apply(ctx, cmd); err != nil {
		return fmt.Errorf("re-encrypt secrets: %w", err)
	}
	s.logger.Info("secrets re-encrypted with the cluster's current key", "sources", len(cmd.Sources), "tasks", len(cmd.Tasks))
	return nil
}

// rekeyCommand re-encrypts with c the secrets of the sources and tasks that c's current key did
// not seal. A secret that no key opens is left alone (and reported): nothing can be done here.
func (s *Server) rekeyCommand(c *security.Cipher) (fsm.RekeySecrets, error) {
	var cmd fsm.RekeySecrets
	for _, src := range s.state.Sources() {
		key := ""
		if src.Spec.Security != nil {
			key = src.Spec.Security.SSLKeyEnc
		}
		if c.Current(src.Spec.PasswordEnc) && c.Current(key) {
			continue
		}
		pwd, err1 := reencrypt(c, src.Spec.PasswordEnc)
		sslKey, err2 := reencrypt(c, key)
		if err1 != nil || err2 != nil {
			s.logger.Error("a secret of the source cannot be decrypted with any key this master has", "source", src.Name)
			continue
		}
		cmd.Sources = append(cmd.Sources, fsm.SourceSecrets{Name: src.Name, PasswordEnc: pwd, SSLKeyEnc: sslKey})
	}
	for _, t := range s.state.Tasks() {
		sec, ok, err := s.rekeyTask(c, t)
		if err != nil {
			return cmd, err
		}
		if ok {
			cmd.Tasks = append(cmd.Tasks, sec)
		}
	}
	return cmd, nil
}

// rekeyTask re-encrypts the secrets of a task's target and its copy as created.
func (s *Server) rekeyTask(c *security.Cipher, t fsm.Task) (fsm.TaskSecrets, bool, error) {
	tg := t.Spec.Target
	key := ""
	if tg.Security != nil {
		key = tg.Security.SSLKeyEnc
	}
	if c.Current(tg.PasswordEnc) && c.Current(key) {
		return fsm.TaskSecrets{}, false, nil
	}
	pwd, err1 := reencrypt(c, tg.PasswordEnc)
	sslKey, err2 := reencrypt(c, key)
	if err1 != nil || err2 != nil {
		s.logger.Error("a secret of the task's target cannot be decrypted with any key this master has", "task", t.Name)
		return fsm.TaskSecrets{}, false, nil
	}
	sec := fsm.TaskSecrets{Name: t.Name, PasswordEnc: pwd, SSLKeyEnc: sslKey}
	if len(t.Spec.API) > 0 {
		var created restapi.Task
		if err := json.Unmarshal(t.Spec.API, &created); err != nil {
			return sec, false, fmt.Errorf("task %q as created: %w", t.Name, err)
		}
		created.TargetConfig.Password = pwd
		if created.TargetConfig.Security != nil {
			created.TargetConfig.Security.SslKeyContent = sslKey
		}
		api, err := json.Marshal(created)
		if err != nil {
			return sec, false, fmt.Errorf("encode task %q: %w", t.Name, err)
		}
		sec.API = api
	}
	return sec, true, nil
}

// reencrypt decrypts enc with any key of c and encrypts it with c's current key.
func reencrypt(c *security.Cipher, enc string) (string, error) {
	if c.Current(enc) {
		return enc, nil
	}
	plain, err := c.Decrypt(enc)
	if err != nil {
		return "", err
	}
	return c.Encrypt(plain)
}

// handleClusterKey hands the cluster key to a member (RequireMember has authenticated it).
func (s *Server) handleClusterKey(w http.ResponseWriter, r *http.Request) {
	ck := s.state.ClusterKey()
	if ck == nil {
		restapi.WriteError(w, restapi.Errorf(http.StatusServiceUnavailable, fsm.CodeNoLeader,
			"the cluster has no cluster key yet (it is generated by the first leader of a cluster without secret-key-path)"))
		return
	}
	restapi.WriteJSON(w, http.StatusOK, peer.ClusterKeyResponse{Key: ck})
}
