package security

import (
	"crypto/tls"
	"fmt"
	"time"
)

// Mode says how the members of a cluster prove who they are.
type Mode int

const (
	// ModeOpen: neither secret-key-path nor ssl-* is set; whoever reaches a port is treated as
	// a member. dm starts, and warns.
	ModeOpen Mode = iota
	// ModeSecretKey: secret-key-path only. Internal HTTP requests carry an HMAC signature, the
	// Raft port speaks TLS with a key pair derived from the secret, gossip is encrypted with a
	// key derived from it.
	ModeSecretKey
	// ModeTLS: ssl-ca, ssl-cert and ssl-key (and cert-allowed-cn). Every port requires a
	// certificate from the CA (with an allowed CN); the Raft port too. Gossip is encrypted with
	// a key derived from secret-key-path when it is set, otherwise from the cluster key kept in
	// the Raft state. With secret-key-path, internal requests are also signed.
	ModeTLS
)

func (m Mode) String() string {
	switch m {
	case ModeSecretKey:
		return "secret-key"
	case ModeTLS:
		return "tls"
	}
	return "open"
}

// MemberConfig is what a master or worker knows to authenticate itself and its peers: DM's
// secret-key-path (read) and ssl-* keys.
type MemberConfig struct {
	// Name is this member's name, sent with its requests.
	Name string
	// SecretKey is the key of secret-key-path (32 bytes), nil when not set.
	SecretKey []byte
	// SSLCA, SSLCert and SSLKey are paths to PEM files; all or none.
	SSLCA, SSLCert, SSLKey string
	// CertAllowedCN limits the certificates accepted to these Common Names (DM's
	// cert-allowed-cn); empty accepts every certificate the CA signed.
	CertAllowedCN []string
	// Clock is the time source of signatures; nil means time.Now.
	Clock func() time.Time
}

// Members is the one authentication layer of a dm process: how it proves itself to other
// members and checks them, on every port. HTTP ports use ServerTLS/ClientTLS and
// Sign/Authenticate, the Raft port PeerTLS, gossip GossipKey. It is safe for concurrent use.
type Members struct {
	name string
	mode Mode

	httpKey   []byte // HMAC key of internal requests; nil without secret-key-path
	gossipKey []byte // nil without secret-key-path

	serverTLS, clientTLS   *tls.Config // HTTP ports; nil without ssl-*
	peerServer, peerClient *tls.Config // the Raft port; nil in open mode

	replay *nonceCache
	now    func() time.Time
}

// NewMembers checks the configuration and prepares the keys and TLS configurations.
func NewMembers(cfg MemberConfig) (*Members, error) {
	m := &Members{name: cfg.Name, now: cfg.Clock, replay: newNonceCache(maxNonces)}
	if m.now == nil {
		m.now = time.Now
	}
	if cfg.SecretKey != nil {
		if len(cfg.SecretKey) != KeySize {
			return nil, fmt.Errorf("secret key must be %d bytes, got %d", KeySize, len(cfg.SecretKey))
		}
		m.mode = ModeSecretKey
		m.httpKey = deriveKey(cfg.SecretKey, purposeHTTP)
		m.gossipKey = deriveKey(cfg.SecretKey, purposeGossip)
		var err error
		if m.peerServer, m.peerClient, err = secretTLS(cfg.SecretKey); err != nil {
			return nil, err
		}
	}
	if cfg.SSLCA != "" || cfg.SSLCert != "" || cfg.SSLKey != "" {
		var err error
		if m.serverTLS, m.clientTLS, err = memberTLS(cfg.SSLCA, cfg.SSLCert, cfg.SSLKey, cfg.CertAllowedCN); err != nil {
			return nil, err
		}
		m.mode = ModeTLS
		m.peerServer, m.peerClient = m.serverTLS, m.clientTLS
	}
	return m, nil
}

// Name is this member's name.
func (m *Members) Name() string { return m.name }

// Mode is how members authenticate.
func (m *Members) Mode() Mode { return m.mode }

// OpenWarning is the start-up warning of an open cluster, "" when the cluster is secured.
func (m *Members) OpenWarning() string {
	if m.mode != ModeOpen {
		return ""
	}
	return "the cluster is OPEN: neither secret-key-path nor ssl-ca/ssl-cert/ssl-key is set, so anyone who can reach " +
		"this process's ports can act as a member (join, register, read the desired state with the sources' encrypted " +
		"passwords and the key to decrypt them); set secret-key-path (the same file on every master and worker) or " +
		"DM's TLS keys, see the README's \"Deploying securely\""
}

// ServerTLS is the TLS configuration of this process's HTTP port, nil for plain HTTP.
func (m *Members) ServerTLS() *tls.Config { return m.serverTLS }

// ClientTLS is the TLS configuration for calling other members' HTTP ports, nil for plain HTTP.
func (m *Members) ClientTLS() *tls.Config { return m.clientTLS }

// Scheme is the scheme of the members' HTTP ports: https in TLS mode, http otherwise.
func (m *Members) Scheme() string {
	if m.serverTLS != nil {
		return "https"
	}
	return "http"
}

// PeerTLS is the TLS configuration of the Raft port (listening and dialling), both nil in open
// mode: the CA's in TLS mode, the secret's in secret-key mode.
func (m *Members) PeerTLS() (server, client *tls.Config) { return m.peerServer, m.peerClient }

// GossipKey is the gossip encryption key derived from secret-key-path, nil without it. In TLS
// mode without it, gossip is keyed by GossipKeyFromClusterKey once the cluster key is known.
func (m *Members) GossipKey() []byte { return m.gossipKey }

// GossipNeedsClusterKey reports whether gossip waits for the cluster key: TLS mode without
// secret-key-path. Until then the process gossips with nobody.
func (m *Members) GossipNeedsClusterKey() bool { return m.mode == ModeTLS && m.gossipKey == nil }
