package relay

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dm-oss/dm/binlog/upstream"
)

// UpstreamTLS builds the client TLS configuration for a replication connection from the
// PEM contents of an upstream.Config, with the same rules as upstream.Open: the server's
// chain is verified against SSLCA (system roots when empty) but not its host name, and
// CertAllowedCN pins the server certificate's Common Name. It returns nil when the config
// has no TLS. (It mirrors upstream's unexported builder, which go-mysql's BinlogSyncer
// cannot reach.)
func UpstreamTLS(c upstream.Config) (*tls.Config, error) {
	if c.SSLCA == "" && c.SSLCert == "" && c.SSLKey == "" {
		if len(c.CertAllowedCN) > 0 {
			return nil, errors.New("cert_allowed_cn is set but no TLS content is given: add ssl_ca (and ssl_cert/ssl_key if the server requires a client certificate)")
		}
		return nil, nil
	}
	var roots *x509.CertPool
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
		// The chain is verified in VerifyConnection, the host name is not (see above).
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
				return fmt.Errorf("the server certificate's common name %q is not in cert_allowed_cn %q", leaf.Subject.CommonName, allowed)
			}
			return nil
		},
	}, nil
}

func pemHint(s string) string {
	if !strings.Contains(s, "-----BEGIN") {
		return ": give the PEM contents (-----BEGIN ...), not a file path"
	}
	return ""
}
