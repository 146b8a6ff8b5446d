package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DefaultConnectTimeout is used when Config.ConnectTimeout is 0.
const DefaultConnectTimeout = 5 * time.Second

// Config is how to reach an upstream MySQL/MariaDB.
type Config struct {
	Host     string
	Port     int
	User     string
	Password string
	// TLS: PEM *contents* (not paths), as DM's OpenAPI carries them. All
	// empty = no TLS. With TLS the server's certificate chain is verified
	// against SSLCA (the system roots when SSLCA is empty) but its host name
	// is not, like MySQL's --ssl-mode=VERIFY_CA: servers are often reached by
	// IP address with certificates that name no host. CertAllowedCN, when
	// set, pins the server certificate's Common Name. SSLCert and SSLKey are
	// the client certificate, given together or not at all.
	SSLCA, SSLCert, SSLKey string
	CertAllowedCN          []string
	ConnectTimeout         time.Duration // 0 = 5s
}

func (c Config) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

func (c Config) timeout() time.Duration {
	if c.ConnectTimeout > 0 {
		return c.ConnectTimeout
	}
	return DefaultConnectTimeout
}

// Open returns a pool for the upstream, pinged within ctx and
// Config.ConnectTimeout. Errors say what failed (bad configuration or TLS
// contents, unreachable host:port, access denied, TLS handshake) and wrap
// the driver's error. They never contain the password.
func Open(ctx context.Context, c Config) (*sql.DB, error) {
	if c.Host == "" {
		return nil, errors.New("upstream host is empty")
	}
	if c.Port <= 0 || c.Port > 65535 {
		return nil, fmt.Errorf("upstream port %d is out of range: give the server's TCP port (1-65535, usually 3306)", c.Port)
	}
	if c.User == "" {
		return nil, fmt.Errorf("upstream %s: user is empty", c.addr())
	}
	tlsCfg, err := c.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", c.addr(), err)
	}

	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = c.addr()
	cfg.User = c.User
	cfg.Passwd = c.Password
	cfg.Timeout = c.timeout()
	cfg.TLS = tlsCfg
	// The Connector API keeps the TLS config out of the driver's global
	// registry, and no DSN (which would hold the password) is ever built.
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: %w", c.addr(), err)
	}
	db := sql.OpenDB(connector)

	pingCtx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, c.connectError(ctx, err)
	}
	return db, nil
}

// connectError explains a failed first connection.
func (c Config) connectError(parent context.Context, err error) error {
	prefix := fmt.Sprintf("connect to upstream %s as user %q", c.addr(), c.User)
	var myErr *mysql.MySQLError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &myErr):
		switch myErr.Number {
		case 1045: // ER_ACCESS_DENIED_ERROR
			return fmt.Errorf("%s: access denied: check the user name and password, and that this user may connect from dm's host: %w", prefix, err)
		case 1130: // ER_HOST_NOT_PRIVILEGED
			return fmt.Errorf("%s: the server does not let this client host connect: create the user for dm's host (e.g. 'user'@'%%'): %w", prefix, err)
		case 1129: // ER_HOST_IS_BLOCKED
			return fmt.Errorf("%s: the server blocked dm's host after too many connection errors: run FLUSH HOSTS on the upstream: %w", prefix, err)
		case 1040: // ER_CON_COUNT_ERROR
			return fmt.Errorf("%s: the server has too many connections: raise max_connections or close idle clients: %w", prefix, err)
		}
		return fmt.Errorf("%s: %w", prefix, err)
	case isTLSError(err):
		hint := "check ssl_ca, ssl_cert, ssl_key and cert_allowed_cn"
		if errors.Is(err, mysql.ErrNoTLS) {
			hint = "the server has no TLS configured: configure ssl_cert/ssl_key on the server or remove the security settings"
		}
		return fmt.Errorf("%s: TLS handshake failed: %s: %w", prefix, hint, err)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("%s: cannot resolve host %q: %w", prefix, c.Host, err)
	case parent.Err() != nil:
		return fmt.Errorf("%s: gave up: %w", prefix, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: no answer within %v: the host or port may be wrong, or a firewall drops the packets, or the server is overloaded: %w", prefix, c.timeout(), err)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("%s: cannot reach %s: is the server running and listening on that address and port? %w", prefix, c.addr(), err)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func isTLSError(err error) bool {
	var (
		recordErr  tls.RecordHeaderError
		alertErr   tls.AlertError
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		invalidErr x509.CertificateInvalidError
		hostErr    x509.HostnameError
		cnErr      *cnNotAllowedError
	)
	return errors.Is(err, mysql.ErrNoTLS) || errors.As(err, &recordErr) || errors.As(err, &alertErr) ||
		errors.As(err, &verifyErr) || errors.As(err, &unknownCA) || errors.As(err, &invalidErr) ||
		errors.As(err, &hostErr) || errors.As(err, &cnErr)
}

// cnNotAllowedError: the server certificate's CN is not in CertAllowedCN.
type cnNotAllowedError struct {
	cn      string
	allowed []string
}

func (e *cnNotAllowedError) Error() string {
	return fmt.Sprintf("the server certificate's common name %q is not in cert_allowed_cn %q", e.cn, e.allowed)
}

// TLSConfig builds the client TLS configuration from PEM contents, or nil
// when no TLS is configured. Errors name the field and never quote contents.
// Binlog readers use it too, so every connection to an upstream checks TLS alike.
func (c Config) TLSConfig() (*tls.Config, error) {
	if c.SSLCA == "" && c.SSLCert == "" && c.SSLKey == "" {
		if len(c.CertAllowedCN) > 0 {
			return nil, errors.New("cert_allowed_cn is set but no TLS content is given: add ssl_ca (and ssl_cert/ssl_key if the server requires a client certificate)")
		}
		return nil, nil
	}
	var roots *x509.CertPool // nil: the system roots
	if c.SSLCA != "" {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(c.SSLCA)) {
			return nil, fmt.Errorf("ssl_ca holds no PEM certificate%s", pemHint(c.SSLCA))
		}
	}
	var certs []tls.Certificate
	switch {
	case c.SSLCert != "" && c.SSLKey != "":
		cert, err := tls.X509KeyPair([]byte(c.SSLCert), []byte(c.SSLKey))
		if err != nil {
			return nil, fmt.Errorf("ssl_cert/ssl_key are not a valid PEM certificate and matching private key (%v)%s", err, pemHint(c.SSLCert+c.SSLKey))
		}
		certs = []tls.Certificate{cert}
	case c.SSLCert != "":
		return nil, errors.New("ssl_cert is given without ssl_key: give both (the client certificate and its private key) or neither")
	case c.SSLKey != "":
		return nil, errors.New("ssl_key is given without ssl_cert: give both (the client certificate and its private key) or neither")
	}
	allowed := slices.Clone(c.CertAllowedCN)
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: certs,
		// Verification happens in VerifyConnection: the chain, but not the
		// host name (see Config).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, cert := range cs.PeerCertificates[1:] {
				inter.AddCert(cert)
			}
			leaf := cs.PeerCertificates[0]
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
				return err
			}
			if len(allowed) > 0 && !slices.Contains(allowed, leaf.Subject.CommonName) {
				return &cnNotAllowedError{cn: leaf.Subject.CommonName, allowed: allowed}
			}
			return nil
		},
	}, nil
}

// pemHint adds advice when the field looks like a file path instead of
// contents. It never quotes the field.
func pemHint(s string) string {
	if !strings.Contains(s, "-----BEGIN") {
		return ": give the PEM contents (-----BEGIN ...), not a file path"
	}
	return ""
}
