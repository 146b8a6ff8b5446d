package security

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// secretTLS builds the TLS configurations of the Raft port of a cluster secured by
// secret-key-path only: every member derives the same Ed25519 key pair from the secret and
// presents a self-signed certificate for it; each end accepts exactly that public key. The
// handshake thus proves that the peer holds the secret (without sending it), and the stream
// that follows is encrypted. This is TLS with a pre-shared key, built from what Go's TLS
// offers.
func secretTLS(secret []byte) (server, client *tls.Config, err error) {
	priv := ed25519.NewKeyFromSeed(deriveKey(secret, purposePeerTLS))
	pub := priv.Public().(ed25519.PublicKey)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "dm member"},
		NotBefore:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, nil, fmt.Errorf("member certificate: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
	verify := pinnedKey(pub)
	server = &tls.Config{
		Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAnyClientCert, VerifyPeerCertificate: verify,
	}
	client = &tls.Config{
		Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13,
		// The certificate is self-signed: VerifyPeerCertificate checks the one key it may carry.
		InsecureSkipVerify: true, VerifyPeerCertificate: verify,
	}
	return server, client, nil
}

// pinnedKey accepts a peer whose leaf certificate carries exactly the public key want. The TLS
// handshake has already proved that the peer holds the matching private key.
func pinnedKey(want ed25519.PublicKey) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("the peer presented no certificate")
		}
		leaf, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return fmt.Errorf("peer certificate: %w", err)
		}
		got, ok := leaf.PublicKey.(ed25519.PublicKey)
		if !ok || !bytes.Equal(got, want) {
			return errors.New("the peer does not hold the cluster's secret key")
		}
		return nil
	}
}
