package security_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/integration"
	"github.com/dm-oss/dm/internal/security"
)

// handshake runs a TLS handshake between a server and a client configuration and returns the
// errors of both ends.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, server)
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			done <- err
			return
		}
		// The client's certificate is checked once the client has finished (TLS 1.3): read.
		_, err = tc.Read(make([]byte, 1))
		done <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		_, err = c.Write([]byte{1})
		if err == nil {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Read(make([]byte, 1)) // the server's alert, if it refused us
			if ne, ok := err.(net.Error); errors.Is(err, io.EOF) || ok && ne.Timeout() {
				err = nil // the server read our byte and hung up: accepted
			}
		}
		c.Close()
	}
	return <-done, err
}

func members(t *testing.T, cfg security.MemberConfig) *security.Members {
	t.Helper()
	m, err := security.NewMembers(cfg)
	require.NoError(t, err)
	return m
}

// TestMemberCertificates: in TLS mode both ends require a certificate from the CA whose CN is
// in cert-allowed-cn; anything else fails the handshake.
func TestMemberCertificates(t *testing.T) {
	dir := t.TempDir()
	pki := integration.NewPKI(t, dir, "dm-ca")
	member := func(cn string, allowed ...string) *security.Members {
		cert, key := pki.Issue(cn)
		return members(t, security.MemberConfig{Name: cn, SSLCA: pki.CAPath, SSLCert: cert, SSLKey: key, CertAllowedCN: allowed})
	}
	m1 := member("m1", "m1", "w1")
	w1 := member("w1", "m1", "w1")
	require.Equal(t, security.ModeTLS, m1.Mode())
	require.Equal(t, "https", m1.Scheme())
	require.True(t, m1.GossipNeedsClusterKey())
	srv, cli := m1.PeerTLS()
	require.Same(t, m1.ServerTLS(), srv, "the Raft port checks the same certificates")
	require.Same(t, m1.ClientTLS(), cli)

	serverErr, clientErr := handshake(t, m1.ServerTLS(), w1.ClientTLS())
	require.NoError(t, serverErr)
	require.NoError(t, clientErr)

	stranger := member("intruder") // signed by the CA, CN not allowed
	serverErr, _ = handshake(t, m1.ServerTLS(), stranger.ClientTLS())
	require.ErrorContains(t, serverErr, "cert-allowed-cn")
	_, clientErr = handshake(t, stranger.ServerTLS(), m1.ClientTLS())
	require.ErrorContains(t, clientErr, "cert-allowed-cn", "a member does not talk to a server whose CN is not allowed either")

	other := integration.NewPKI(t, filepath.Join(dir, "other"), "other-ca")
	foreign := other.ClientTLS("w1")
	foreign.RootCAs = pki.Pool
	serverErr, _ = handshake(t, m1.ServerTLS(), foreign)
	require.Error(t, serverErr, "a certificate from another CA")
	serverErr, _ = handshake(t, m1.ServerTLS(), pki.ClientTLS(""))
	require.Error(t, serverErr, "no certificate")

	// With secret-key-path too: the certificates still guard every port, requests are also signed,
	// and gossip is keyed by the secret from the start.
	cert, key := pki.Issue("m2")
	both := members(t, security.MemberConfig{Name: "m2", SSLCA: pki.CAPath, SSLCert: cert, SSLKey: key, SecretKey: bytes.Repeat([]byte{8}, 32)})
	require.Equal(t, security.ModeTLS, both.Mode())
	require.False(t, both.GossipNeedsClusterKey())
	require.Len(t, both.GossipKey(), security.KeySize)
	srv, _ = both.PeerTLS()
	require.Same(t, both.ServerTLS(), srv, "the Raft port checks the CA's certificates")
	signed := httptest.NewRequest(http.MethodGet, "/internal/v1/status", nil)
	require.NoError(t, both.Sign(signed, nil))
	require.NotEmpty(t, signed.Header.Get(security.HeaderSignature))

	_, err := security.NewMembers(security.MemberConfig{Name: "x", SSLCert: "c.pem", SSLKey: "k.pem"})
	require.ErrorContains(t, err, "ssl-ca", "ssl-ca is required: members check each other with it")

	// Through HTTP: Authenticate reads the CN of the verified certificate.
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := m1.Authenticate(r)
		require.NoError(t, err)
		_, _ = w.Write([]byte(id.CN))
	}))
	ts.TLS = m1.ServerTLS()
	ts.StartTLS()
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: w1.ClientTLS()}}
	resp, err := client.Get(ts.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	require.Equal(t, "w1", b.String())
}

// TestSecretKeyPeerTLS: in secret-key mode the Raft port's TLS accepts exactly the holders of
// the same secret.
func TestSecretKeyPeerTLS(t *testing.T) {
	key := bytes.Repeat([]byte{5}, 32)
	a := members(t, security.MemberConfig{Name: "m1", SecretKey: key})
	b := members(t, security.MemberConfig{Name: "m2", SecretKey: key})
	c := members(t, security.MemberConfig{Name: "m3", SecretKey: bytes.Repeat([]byte{6}, 32)})
	aSrv, _ := a.PeerTLS()
	_, bCli := b.PeerTLS()
	cSrv, cCli := c.PeerTLS()
	serverErr, clientErr := handshake(t, aSrv, bCli)
	require.NoError(t, serverErr)
	require.NoError(t, clientErr)
	stranger := cCli.Clone()
	stranger.VerifyPeerCertificate = nil // it would refuse a's certificate first
	serverErr, _ = handshake(t, aSrv, stranger)
	require.ErrorContains(t, serverErr, "secret key")
	_, clientErr = handshake(t, cSrv, bCli)
	require.ErrorContains(t, clientErr, "secret key", "a member does not talk to a server without the secret")
	serverErr, _ = handshake(t, aSrv, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a stranger
	require.Error(t, serverErr, "no certificate at all")
	require.Nil(t, a.ServerTLS(), "the HTTP ports stay plain in secret-key mode")
}
