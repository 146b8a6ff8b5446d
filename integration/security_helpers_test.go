package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/restapi/peer"
)

// Passwords of the secured environment's databases; no file or answer may hold them.
const (
	securedSourcePassword = "Src-Secured-Pa55-31"
	securedTargetPassword = "Tgt-Secured-Pa55-47"
)

// securedEnv is a secured 3-master 2-worker cluster with a source and a target MariaDB, and the
// means to call it as a member (legitimately) or as strangers.
type securedEnv struct {
	t        *testing.T
	tls      bool // TLS mode; otherwise secret-key mode
	c        *Cluster
	masters  []*Proc
	leader   *Proc
	follower *Proc
	src, dst *MariaDB
	pki      *PKI   // TLS mode
	secret   []byte // secret-key mode
	bound    string // the worker bound to the source

	mu     sync.Mutex
	bodies []string // every answer received, scanned for passwords at the end
}

// newSecuredEnv starts the databases and the cluster, secured by certificates (tlsMode) or by
// secret-key-path, and waits for a leader and both workers.
func newSecuredEnv(t *testing.T, tlsMode bool) *securedEnv {
	t.Helper()
	e := &securedEnv{t: t, tls: tlsMode, c: NewCluster(t)}
	done := make(chan struct{}, 2)
	go func() { e.src = StartMariaDB(t, MariaDBOptions{Binlog: true}); done <- struct{}{} }()
	go func() { e.dst = StartMariaDB(t, MariaDBOptions{}); done <- struct{}{} }()
	if tlsMode {
		e.pki = e.c.UseTLS("master1", "master2", "master3", "master4", "worker1", "worker2", "dmctl")
	} else {
		key, err := security.ReadSecretKey(e.c.UseSecretKey())
		require.NoError(t, err)
		e.secret = key
	}
	e.masters = e.c.StartMasters(3, MasterOptions{})
	e.c.StartWorker("worker1", 3)
	e.c.StartWorker("worker2", 3)
	<-done
	<-done
	require.NotNil(t, e.src)
	require.NotNil(t, e.dst)
	e.src.CreateUser(t, "dmsrc", securedSourcePassword, "REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.*")
	e.dst.CreateUser(t, "dmtarget", securedTargetPassword, "ALL PRIVILEGES ON *.*")
	e.waitLeader()
	Eventually(t, 20*time.Second, func() error {
		var l listResp[clusterWorker]
		if err := e.api(http.MethodGet, e.leader, "/api/v1/cluster/workers", nil, http.StatusOK).JSON(&l); err != nil {
			return err
		}
		for _, w := range l.Data {
			if w.BoundStage == "" || w.BoundStage == "offline" {
				return fmt.Errorf("worker %s is %q", w.Name, w.BoundStage)
			}
		}
		if len(l.Data) != 2 {
			return fmt.Errorf("%d workers registered", len(l.Data))
		}
		return nil
	})
	return e
}

// waitLeader finds the leader and a follower through every master's /status.
func (e *securedEnv) waitLeader() {
	e.t.Helper()
	Eventually(e.t, 20*time.Second, func() error {
		leaders := map[string]bool{}
		for _, m := range e.masters {
			var st struct {
				Leader string `json:"leader"`
			}
			resp, err := e.c.Call(context.Background(), http.MethodGet, m.APIAddr, "/status", nil)
			if err != nil {
				return err
			}
			if err := resp.JSON(&st); err != nil {
				return err
			}
			leaders[st.Leader] = true
		}
		if len(leaders) != 1 || leaders[""] {
			return fmt.Errorf("masters see leaders %v", leaders)
		}
		for _, m := range e.masters {
			if leaders[m.Name] {
				e.leader = m
			} else {
				e.follower = m
			}
		}
		return nil
	})
}

// record keeps an answer's body for the final scan.
func (e *securedEnv) record(resp Response) Response {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bodies = append(e.bodies, string(resp.Body))
	return resp
}

// api calls the OpenAPI of master p with the harness's credentials and wants status.
func (e *securedEnv) api(method string, p *Proc, path string, body any, status int) Response {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := e.c.Call(ctx, method, p.APIAddr, path, body)
	require.NoError(e.t, err, "%s %s", method, path)
	e.record(resp)
	require.Equal(e.t, status, resp.Status, "%s %s: %s", method, path, resp.Body)
	return resp
}

// caller makes one HTTP request and returns the answer, or the error of a refused connection.
type caller func(method, addr, path string, body any) (Response, error)

// member calls as the member name: with its own certificate (TLS mode), or signing with the
// cluster's secret under its name.
func (e *securedEnv) member(name string) caller {
	if e.tls {
		return e.tlsCaller(e.pki.ClientTLS(name), nil)
	}
	return e.signingCaller(e.signer(name))
}

// signer signs requests as the member name with the cluster's secret (secret-key mode).
func (e *securedEnv) signer(name string) *security.Members {
	m, err := security.NewMembers(security.MemberConfig{Name: name, SecretKey: e.secret})
	require.NoError(e.t, err)
	return m
}

func (e *securedEnv) tlsCaller(conf *tls.Config, sign *security.Members) caller {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = conf
	return e.httpCaller(&http.Client{Transport: tr, Timeout: 15 * time.Second}, "https", sign)
}

func (e *securedEnv) signingCaller(m *security.Members) caller {
	return e.httpCaller(&http.Client{Timeout: 15 * time.Second}, "http", m)
}

// httpCaller sends a JSON request, signed by sign when set, and records the answer.
func (e *securedEnv) httpCaller(client *http.Client, scheme string, sign *security.Members) caller {
	var signFn func(*http.Request, []byte) error
	if sign != nil {
		signFn = sign.Sign
	}
	return func(method, addr, path string, body any) (Response, error) {
		resp, err := doSigned(context.Background(), client, scheme, method, addr, path, body, signFn)
		if err != nil {
			return Response{}, err
		}
		return e.record(resp), nil
	}
}

// strangers are the callers without a member's credentials, by what they lack.
func (e *securedEnv) strangers() map[string]caller {
	if e.tls {
		other := NewPKI(e.t, filepath.Join(e.t.TempDir(), "other"), "other-ca")
		foreign := other.ClientTLS("worker1") // a member's name, signed by another CA
		foreign.RootCAs = e.pki.Pool
		return map[string]caller{
			"no certificate":              e.tlsCaller(e.pki.ClientTLS(""), nil),
			"a CN not in cert-allowed-cn": e.tlsCaller(e.pki.ClientTLS("intruder"), nil),
			"a certificate of another CA": e.tlsCaller(foreign, nil),
		}
	}
	otherKey, err := security.NewMembers(security.MemberConfig{Name: "worker1", SecretKey: bytes.Repeat([]byte{0x42}, 32)})
	require.NoError(e.t, err)
	stale, err := security.NewMembers(security.MemberConfig{Name: "worker1", SecretKey: e.secret,
		Clock: func() time.Time { return time.Now().Add(-10 * time.Minute) }})
	require.NoError(e.t, err)
	return map[string]caller{
		"no signature":       e.httpCaller(&http.Client{Timeout: 15 * time.Second}, "http", nil),
		"another secret key": e.signingCaller(otherKey),
		"a stale signature":  e.signingCaller(stale),
	}
}

// clusterState is what an intruder must not change: masters, workers, sources, tasks, leader.
func (e *securedEnv) clusterState() string {
	e.t.Helper()
	var parts []string
	for _, path := range []string{"/api/v1/cluster/masters", "/api/v1/cluster/workers", "/api/v1/sources", "/api/v1/tasks"} {
		parts = append(parts, string(e.api(http.MethodGet, e.leader, path, nil, http.StatusOK).Body))
	}
	var st struct {
		Leader string `json:"leader"`
	}
	require.NoError(e.t, e.api(http.MethodGet, e.follower, "/status", nil, http.StatusOK).JSON(&st))
	return fmt.Sprintf("%v leader=%s", parts, st.Leader)
}

// requireNoPlaintext scans every file of the cluster (data directories, relay logs, dumps,
// logs, configurations) and every answer received for the databases' passwords.
func (e *securedEnv) requireNoPlaintext() {
	e.t.Helper()
	files, relay, dump := 0, 0, 0
	err := filepath.WalkDir(e.c.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if strings.Contains(path, string(filepath.Separator)+"relay"+string(filepath.Separator)) {
			relay++
		}
		if strings.Contains(path, "dumped_data") {
			dump++
		}
		for _, pwd := range []string{securedSourcePassword, securedTargetPassword} {
			if bytes.Contains(data, []byte(pwd)) {
				return fmt.Errorf("%s holds a password in clear", path)
			}
		}
		return nil
	})
	require.NoError(e.t, err)
	require.Positive(e.t, relay, "relay log files were scanned")
	require.Positive(e.t, dump, "dump files were scanned")
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.bodies {
		require.NotContains(e.t, b, securedSourcePassword)
		require.NotContains(e.t, b, securedTargetPassword)
	}
	e.t.Logf("no password in clear in %d files (%d of the relay log, %d of the dump) and %d answers", files, relay, dump, len(e.bodies))
}

// gossipSeeds are the masters' gossip addresses, as a member learns them (once every master
// is recorded).
func (e *securedEnv) gossipSeeds() []string {
	e.t.Helper()
	var seeds []string
	Eventually(e.t, 20*time.Second, func() error {
		resp, err := e.member("worker1")(http.MethodGet, e.follower.APIAddr, peer.PathDesiredPrefix+"worker1/desired?wait=0s", nil)
		if err != nil {
			return err
		}
		if resp.Status != http.StatusOK {
			return fmt.Errorf("HTTP %d: %s", resp.Status, resp.Body)
		}
		var st peer.DesiredState
		if err := resp.JSON(&st); err != nil {
			return err
		}
		if len(st.GossipSeeds) != 3 {
			return fmt.Errorf("gossip seeds %v", st.GossipSeeds)
		}
		seeds = st.GossipSeeds
		return nil
	})
	sort.Strings(seeds)
	return seeds
}

// dmctl runs dmctl against master p with the harness's credentials (a certificate for "dmctl"
// in TLS mode) and returns its output.
func (e *securedEnv) dmctl(p *Proc, args ...string) string {
	e.t.Helper()
	full := []string{"--master-addr", p.APIAddr}
	if e.tls {
		cert, key := e.pki.Issue("dmctl")
		full = append(full, "--ssl-ca", e.pki.CAPath, "--ssl-cert", cert, "--ssl-key", key)
	}
	out, err := exec.Command(filepath.Join(e.c.bin, "dmctl"), append(full, args...)...).CombinedOutput()
	require.NoError(e.t, err, "dmctl %v: %s", args, out)
	e.record(Response{Body: out})
	return string(out)
}
