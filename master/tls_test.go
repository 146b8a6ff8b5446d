package master

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/integration"
)

// TestMasterServesMutualTLS: with DM's ssl-* keys the API is HTTPS only and requires a client
// certificate from the CA whose Common Name is in cert-allowed-cn.
func TestMasterServesMutualTLS(t *testing.T) {
	dir := t.TempDir()
	pki := integration.NewPKI(t, dir, "dm-test")
	cert, key := pki.Issue("tls1")
	ports := integration.FreePorts(t, 2)
	cfg := DefaultConfig()
	cfg.Name = "tls1"
	cfg.MasterAddr = "127.0.0.1:" + strconv.Itoa(ports[0])
	cfg.PeerURLs = "http://127.0.0.1:" + strconv.Itoa(ports[1])
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.OpenAPI = true
	cfg.SSLCA, cfg.SSLCert, cfg.SSLKey = pki.CAPath, cert, key
	cfg.CertAllowedCN = []string{"tls1", "dmctl"}
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, s.Start(ctx))
	t.Cleanup(func() {
		cancel()
		require.NoError(t, s.Stop())
	})

	get := func(conf *tls.Config) (int, error) {
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
		resp, err := client.Get("https://" + cfg.MasterAddr + "/api/v1/cluster/masters")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	require.Eventually(t, func() bool {
		status, err := get(pki.ClientTLS("dmctl"))
		return err == nil && status == http.StatusOK
	}, 15*time.Second, 50*time.Millisecond)

	_, err = get(pki.ClientTLS(""))
	require.Error(t, err, "no client certificate")
	_, err = get(pki.ClientTLS("intruder"))
	require.Error(t, err, "a certificate from the CA whose CN is not in cert-allowed-cn")
	other := integration.NewPKI(t, filepath.Join(dir, "other"), "other-ca")
	foreign := other.ClientTLS("dmctl")
	foreign.RootCAs = pki.Pool
	_, err = get(foreign)
	require.Error(t, err, "a certificate from another CA")

	// Plain HTTP is not answered with data.
	resp, err := http.Get("http://" + cfg.MasterAddr + "/api/v1/cluster/masters")
	if err == nil {
		defer resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a plain request to a TLS port gets Go's 400")
	}
}
