package peer

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/internal/security"
)

// StoredSource is a source's configuration as kept (opaque to the FSM) in fsm.Source.Config
// and read by the worker bound to it. Secrets are encrypted with the cluster's Cipher.
type StoredSource struct {
	Host          string          `json:"host"`
	Port          int             `json:"port"`
	User          string          `json:"user"`
	PasswordEnc   string          `json:"password_enc,omitempty"`
	EnableGTID    bool            `json:"enable_gtid"`
	Security      *StoredSecurity `json:"security,omitempty"`
	Purge         Purge           `json:"purge"`
	Flavor        string          `json:"flavor,omitempty"`
	ServerID      uint32          `json:"server_id,omitempty"`
	CaseSensitive bool            `json:"case_sensitive,omitempty"`
}

// StoredSecurity is the TLS material for reaching the upstream. Certificates are public; the
// private key is encrypted like a password.
type StoredSecurity struct {
	SSLCA         string   `json:"ssl_ca,omitempty"`
	SSLCert       string   `json:"ssl_cert,omitempty"`
	SSLKeyEnc     string   `json:"ssl_key_enc,omitempty"`
	CertAllowedCN []string `json:"cert_allowed_cn,omitempty"`
}

// Purge is the relay-log purge policy (DM's defaults: every 3600 s, never by age, keep 15 GB free).
type Purge struct {
	Interval    int64 `json:"interval"`
	Expires     int64 `json:"expires"`
	RemainSpace int64 `json:"remain_space"`
}

// DefaultPurge returns DM's purge defaults.
func DefaultPurge() Purge { return Purge{Interval: 3600, Expires: 0, RemainSpace: 15} }

// Encode serialises the stored source.
func (s StoredSource) Encode() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode source config: %w", err)
	}
	return b, nil
}

// DecodeStoredSource parses fsm.Source.Config.
func DecodeStoredSource(b []byte) (StoredSource, error) {
	var s StoredSource
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("decode source config: %w", err)
	}
	return s, nil
}

// UpstreamConfig turns the stored source into connection settings, decrypting its secrets.
func (s StoredSource) UpstreamConfig(c *security.Cipher) (upstream.Config, error) {
	pwd, err := c.Decrypt(s.PasswordEnc)
	if err != nil {
		return upstream.Config{}, fmt.Errorf("password: %w", err)
	}
	cfg := upstream.Config{Host: s.Host, Port: s.Port, User: s.User, Password: pwd, ConnectTimeout: 5 * time.Second}
	if sec := s.Security; sec != nil {
		key, err := c.Decrypt(sec.SSLKeyEnc)
		if err != nil {
			return upstream.Config{}, fmt.Errorf("TLS key: %w", err)
		}
		cfg.SSLCA, cfg.SSLCert, cfg.SSLKey, cfg.CertAllowedCN = sec.SSLCA, sec.SSLCert, key, sec.CertAllowedCN
	}
	return cfg, nil
}
