package fsm

import (
	"encoding/json"
	"slices"
)

// ClusterKeySize is the size of the cluster key.
const ClusterKeySize = 32

// SetClusterKey records the cluster key: random bytes a leader generates at bootstrap, with
// which a cluster without secret-key-path encrypts its secrets. It is set once. The FSM keeps it
// as given (the masters hand it only to authenticated members).
type SetClusterKey struct {
	Key []byte `json:"key"`
}

// RekeySecrets replaces the encrypted secrets of sources and tasks by the same secrets under
// another key: the leader re-encrypts what an older key sealed. Nothing else changes, and a
// secret that is set stays set.
type RekeySecrets struct {
	Sources []SourceSecrets `json:"sources,omitempty"`
	Tasks   []TaskSecrets   `json:"tasks,omitempty"`
}

// SourceSecrets are a source's encrypted secrets: its password and its TLS private key.
type SourceSecrets struct {
	Name        string `json:"name"`
	PasswordEnc string `json:"password_enc,omitempty"`
	SSLKeyEnc   string `json:"ssl_key_enc,omitempty"`
}

// TaskSecrets are a task's encrypted secrets: its target's password and TLS private key, and
// its copy as created (TaskSpec.API), which holds them too.
type TaskSecrets struct {
	Name        string          `json:"name"`
	PasswordEnc string          `json:"password_enc,omitempty"`
	SSLKeyEnc   string          `json:"ssl_key_enc,omitempty"`
	API         json.RawMessage `json:"api,omitempty"`
}

func (SetClusterKey) CommandType() CommandType { return TypeSetClusterKey }
func (RekeySecrets) CommandType() CommandType  { return TypeRekeySecrets }

func applySetClusterKey(s *state, c *SetClusterKey) *Error {
	if len(c.Key) != ClusterKeySize {
		return invalidf("the cluster key must be %d bytes, got %d", ClusterKeySize, len(c.Key))
	}
	if s.clusterKey != nil {
		return invalidf("the cluster key is already set")
	}
	s.clusterKey = slices.Clone(c.Key)
	return nil
}

func applyRekeySecrets(s *state, c *RekeySecrets) *Error {
	if err := s.checkRekey(c); err != nil {
		return err
	}
	for _, sec := range c.Sources {
		src := s.sources[sec.Name]
		src.Spec = src.Spec.clone()
		src.Spec.PasswordEnc = sec.PasswordEnc
		if src.Spec.Security != nil {
			src.Spec.Security.SSLKeyEnc = sec.SSLKeyEnc
		}
		s.sources[sec.Name] = src
	}
	for _, sec := range c.Tasks {
		t := s.tasks[sec.Name]
		spec := t.Spec.clone()
		spec.Target.PasswordEnc = sec.PasswordEnc
		if spec.Target.Security != nil {
			spec.Target.Security.SSLKeyEnc = sec.SSLKeyEnc
		}
		if len(spec.API) > 0 {
			spec.API = slices.Clone(sec.API)
		}
		t.Spec = spec
	}
	return nil
}

// checkRekey validates a RekeySecrets before any change: every name exists once, and every
// secret is replaced by a secret (set stays set, unset stays unset).
func (s *state) checkRekey(c *RekeySecrets) *Error {
	seen := map[string]bool{}
	for _, sec := range c.Sources {
		src, ok := s.sources[sec.Name]
		if !ok {
			return errorf(CodeSourceNotExist, "source %q does not exist", sec.Name)
		}
		if seen["source "+sec.Name] {
			return invalidf("source %q is listed twice", sec.Name)
		}
		seen["source "+sec.Name] = true
		key := ""
		if src.Spec.Security != nil {
			key = src.Spec.Security.SSLKeyEnc
		}
		if err := sameSecrets("source", sec.Name, src.Spec.PasswordEnc, sec.PasswordEnc, key, sec.SSLKeyEnc); err != nil {
			return err
		}
	}
	for _, sec := range c.Tasks {
		t, ok := s.tasks[sec.Name]
		if !ok {
			return errorf(CodeTaskNotExist, "task %q does not exist", sec.Name)
		}
		if seen["task "+sec.Name] {
			return invalidf("task %q is listed twice", sec.Name)
		}
		seen["task "+sec.Name] = true
		key := ""
		if t.Spec.Target.Security != nil {
			key = t.Spec.Target.Security.SSLKeyEnc
		}
		if err := sameSecrets("task", sec.Name, t.Spec.Target.PasswordEnc, sec.PasswordEnc, key, sec.SSLKeyEnc); err != nil {
			return err
		}
		if (len(t.Spec.API) > 0) != (len(sec.API) > 0) {
			return invalidf("the secrets of task %q must come with its copy as created exactly when it has one", sec.Name)
		}
	}
	return nil
}

func sameSecrets(kind, name, oldPwd, newPwd, oldKey, newKey string) *Error {
	if (oldPwd == "") != (newPwd == "") || (oldKey == "") != (newKey == "") {
		return invalidf("re-encrypting the secrets of %s %q must replace each secret it has, and add none", kind, name)
	}
	return nil
}
