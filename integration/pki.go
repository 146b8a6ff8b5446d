package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// PKI is a test certificate authority: DM's ssl-ca, and certificates for 127.0.0.1 it signs.
type PKI struct {
	t      testing.TB
	dir    string
	CAPath string
	// Pool holds the CA certificate, for clients that verify the servers.
	Pool *x509.CertPool

	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	mu     sync.Mutex
	serial int64
}

// NewPKI creates a CA named name whose files go into dir.
func NewPKI(t testing.TB, dir, name string) *PKI {
	t.Helper()
	key := newECKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("integration: CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("integration: CA certificate: %v", err)
	}
	p := &PKI{t: t, dir: dir, caCert: cert, caKey: key, serial: 1, Pool: x509.NewCertPool()}
	p.Pool.AddCert(cert)
	p.CAPath = p.write(name+"-ca.pem", "CERTIFICATE", der)
	return p
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("integration: key: %v", err)
	}
	return key
}

func (p *PKI) write(name, typ string, der []byte) string {
	p.t.Helper()
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		p.t.Fatalf("integration: %v", err)
	}
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatalf("integration: %v", err)
	}
	return path
}

// Issue signs a certificate with Common Name cn for 127.0.0.1 (server and client use) and
// returns the paths of the certificate and of its key.
func (p *PKI) Issue(cn string) (certPath, keyPath string) {
	p.t.Helper()
	p.mu.Lock()
	p.serial++
	serial := p.serial
	p.mu.Unlock()
	key := newECKey(p.t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		p.t.Fatalf("integration: certificate %s: %v", cn, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		p.t.Fatalf("integration: key %s: %v", cn, err)
	}
	name := p.caCert.Subject.CommonName + "-" + cn
	return p.write(name+".pem", "CERTIFICATE", der), p.write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
}

// ClientTLS is a client configuration that trusts this CA and presents a certificate it signed
// for cn; cn "" presents none.
func (p *PKI) ClientTLS(cn string) *tls.Config {
	p.t.Helper()
	conf := &tls.Config{RootCAs: p.Pool, MinVersion: tls.VersionTLS12}
	if cn != "" {
		certPath, keyPath := p.Issue(cn)
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			p.t.Fatalf("integration: %v", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf
}
