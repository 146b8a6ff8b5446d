package upstream

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dm-oss/dm/integration"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testPKI is a throw-away CA with a server and a client certificate.
type testPKI struct {
	caPEM                       string
	serverCertPEM, serverKeyPEM string
	clientCertPEM, clientKeyPEM string
}

const testServerCN = "dm-test-server"

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return k
	}
	keyPEM := func(k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	serial := int64(1)
	issue := func(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) (*x509.Certificate, string) {
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		require.NoError(t, err)
		cert, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		return cert, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	caKey, serverKey, clientKey := key(), key(), key()
	ca, caPEM := issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "dm-test-ca"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil, &caKey.PublicKey, caKey)
	// No SAN on purpose: like MySQL's auto-generated certificates, it names
	// no host, and VERIFY_CA semantics must accept it.
	_, serverPEM := issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: testServerCN}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &serverKey.PublicKey, caKey)
	_, clientPEM := issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "dm-test-client"}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, &clientKey.PublicKey, caKey)
	return testPKI{
		caPEM:         caPEM,
		serverCertPEM: serverPEM, serverKeyPEM: keyPEM(serverKey),
		clientCertPEM: clientPEM, clientKeyPEM: keyPEM(clientKey),
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	m := integration.StartMariaDB(t, integration.MariaDBOptions{ExtraConfig: []string{
		"ssl_ca=" + write("ca.pem", pki.caPEM),
		"ssl_cert=" + write("server.pem", pki.serverCertPEM),
		"ssl_key=" + write("server-key.pem", pki.serverKeyPEM),
	}})
	m.CreateUser(t, "tlsuser", "tls-secret")
	m.Exec(t, "ALTER USER tlsuser@'%' REQUIRE X509")
	base := configFor(m, "tlsuser", "tls-secret")
	withTLS := base
	withTLS.SSLCA, withTLS.SSLCert, withTLS.SSLKey = pki.caPEM, pki.clientCertPEM, pki.clientKeyPEM

	t.Run("verified", func(t *testing.T) {
		for _, allowed := range [][]string{nil, {"other", testServerCN}} {
			c := withTLS
			c.CertAllowedCN = allowed
			db := mustOpen(t, c)
			var name, cipher string
			require.NoError(t, db.QueryRowContext(testCtx(t), "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher))
			assert.NotEmpty(t, cipher, "the connection is encrypted")
		}
	})
	t.Run("CN not allowed", func(t *testing.T) {
		c := withTLS
		c.CertAllowedCN = []string{"someone-else"}
		_, err := Open(testCtx(t), c)
		require.ErrorContains(t, err, "TLS handshake failed")
		assert.Contains(t, err.Error(), `common name "dm-test-server" is not in cert_allowed_cn ["someone-else"]`)
		assert.NotContains(t, err.Error(), c.Password)
	})
	t.Run("unknown CA", func(t *testing.T) {
		c := withTLS
		c.SSLCA = newTestPKI(t).caPEM
		_, err := Open(testCtx(t), c)
		require.ErrorContains(t, err, "TLS handshake failed")
		assert.Contains(t, err.Error(), "unknown authority")
		assert.NotContains(t, err.Error(), c.Password)
	})
	t.Run("no client certificate", func(t *testing.T) {
		c := withTLS
		c.SSLCert, c.SSLKey = "", ""
		_, err := Open(testCtx(t), c)
		require.ErrorContains(t, err, "access denied")
		assert.NotContains(t, err.Error(), c.Password)
	})
	t.Run("no TLS", func(t *testing.T) {
		_, err := Open(testCtx(t), base)
		require.ErrorContains(t, err, "access denied")
		assert.NotContains(t, err.Error(), base.Password)
	})
}
