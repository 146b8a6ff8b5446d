package security

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
)

// memberTLS builds the TLS configurations of a member from DM's ssl-ca, ssl-cert, ssl-key and
// cert-allowed-cn: both sides present the member's certificate and require the other's, signed
// by the CA and, when cert-allowed-cn is set, with a Common Name in that list. A peer without
// such a certificate fails the handshake.
func memberTLS(caPath, certPath, keyPath string, allowedCN []string) (server, client *tls.Config, err error) {
	if caPath == "" || certPath == "" || keyPath == "" {
		return nil, nil, errors.New("ssl-ca, ssl-cert and ssl-key go together: members prove who they are with a certificate signed by ssl-ca")
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("load ssl-cert/ssl-key: %w", err)
	}
	pool, err := readCAPool(caPath)
	if err != nil {
		return nil, nil, err
	}
	check := allowedCNCheck(allowedCN)
	server = &tls.Config{
		Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, VerifyConnection: check,
	}
	client = &tls.Config{
		Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		RootCAs: pool, VerifyConnection: check,
	}
	return server, client, nil
}

func readCAPool(caPath string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caPath)
	if err != nil {
		return nil, fmt.Errorf("read ssl-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ssl-ca %s holds no PEM certificate", caPath)
	}
	return pool, nil
}

// allowedCNCheck refuses a peer whose certificate's Common Name is not in allowed (DM's
// cert-allowed-cn); an empty list allows every certificate the CA signed. It runs after the
// chain was verified, on both ends of a connection.
func allowedCNCheck(allowed []string) func(tls.ConnectionState) error {
	allowed = slices.Clone(allowed)
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the peer presented no certificate")
		}
		if len(allowed) == 0 {
			return nil
		}
		if cn := cs.PeerCertificates[0].Subject.CommonName; !slices.Contains(allowed, cn) {
			return fmt.Errorf("certificate common name %q is not in cert-allowed-cn", cn)
		}
		return nil
	}
}

// ClientTLS is the TLS configuration of a client of the cluster (dmctl): it verifies the
// masters' certificates with the CA at caPath and presents its own certificate, which the
// masters require. Empty paths give nil (plain HTTP).
func ClientTLS(caPath, certPath, keyPath string) (*tls.Config, error) {
	if caPath == "" && certPath == "" && keyPath == "" {
		return nil, nil
	}
	if (certPath == "") != (keyPath == "") {
		return nil, errors.New("ssl-cert and ssl-key go together")
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caPath != "" {
		pool, err := readCAPool(caPath)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = pool
	}
	if certPath != "" {
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return nil, fmt.Errorf("load ssl-cert/ssl-key: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}
