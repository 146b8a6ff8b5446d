package security

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// LoadTLS builds the server and client TLS configurations from DM's ssl-* keys. With no
// ssl-cert both are nil (plain HTTP).
func LoadTLS(caPath, certPath, keyPath string) (server, client *tls.Config, err error) {
	if certPath == "" {
		return nil, nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("load ssl-cert/ssl-key: %w", err)
	}
	server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if caPath != "" {
		pem, err := os.ReadFile(caPath)
		if err != nil {
			return nil, nil, fmt.Errorf("read ssl-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("ssl-ca %s holds no PEM certificate", caPath)
		}
		server.ClientCAs = pool
		server.ClientAuth = tls.VerifyClientCertIfGiven
		client.RootCAs = pool
	}
	return server, client, nil
}
