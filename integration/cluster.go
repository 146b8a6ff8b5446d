package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BinDir returns the directory holding dm-master, dm-worker and dmctl: $DM_BIN_DIR when set
// (make test builds into bin/ and sets it), otherwise a fresh build into a temporary directory,
// done once per test process.
func BinDir(t testing.TB) string {
	t.Helper()
	dir, err := binaries()
	if err != nil {
		t.Fatalf("integration: %v", err)
	}
	return dir
}

var binaries = sync.OnceValues(func() (string, error) {
	if dir := os.Getenv("DM_BIN_DIR"); dir != "" {
		for _, b := range []string{"dm-master", "dm-worker"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return "", fmt.Errorf("DM_BIN_DIR=%s has no %s (run make build): %w", dir, b, err)
			}
		}
		return dir, nil
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	dir, err := os.MkdirTemp("", "dm-bin-")
	if err != nil {
		return "", fmt.Errorf("temp bin dir: %w", err)
	}
	for _, b := range []string{"dm-master", "dm-worker", "dmctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b), "./cmd/"+b)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %w\n%s", b, err, out)
		}
	}
	return dir, nil
})

// Proc is one dm-master or dm-worker process started by the harness.
type Proc struct {
	Name    string
	Role    string // "master" or "worker"
	APIAddr string // host:port of its HTTP server
	PeerURL string // masters: Raft URL
	DataDir string
	Config  string // path of its TOML file
	LogPath string

	t    testing.TB
	bin  string
	args []string
	// prefix runs the binary through another command (Cluster.Placement).
	prefix []string
	// client and scheme reach its HTTP port with the harness's credentials.
	client *http.Client
	scheme string

	mu  sync.Mutex
	cmd *exec.Cmd
	// exited is closed when the current run's process has been reaped.
	exited chan struct{}
}

// Cluster is a set of dm processes (on 127.0.0.1 unless placed elsewhere: Place), stopped when
// the test ends.
type Cluster struct {
	t   testing.TB
	bin string
	dir string

	mu      sync.Mutex
	Masters []*Proc
	Workers []*Proc
	// secretKeyPath, when set, goes into every config written afterwards.
	secretKeyPath string
	// pki, when set, gives every process started afterwards DM's ssl-* keys with a certificate
	// of its own (CN: its name), and allowedCN as cert-allowed-cn.
	pki       *PKI
	allowedCN []string
	// client and scheme are the harness's own way in: with a certificate in TLS mode.
	client *http.Client
	scheme string
	// placement, when set, says where each process started afterwards runs (Place).
	placement func(name string) (host string, prefix []string)
	// relayRoot, when set, holds the relay-dir of every worker started afterwards
	// (<relayRoot>/<worker name>) instead of its data-dir (UseRelayRoot).
	relayRoot string
}

// UseRelayRoot puts the relay-dir of every worker started afterwards under root, one
// directory per worker: a file system of their own for the relay logs (a small tmpfs, say).
func (c *Cluster) UseRelayRoot(root string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.relayRoot = root
}

// Place makes every process started afterwards run where place says: the address its servers
// bind and advertise instead of 127.0.0.1, and a command prefix to start it with (such as `ip
// netns exec <ns>`, which runs it in a network namespace and execs, so signals still reach it).
func (c *Cluster) Place(place func(name string) (host string, prefix []string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.placement = place
}

// where is the host and command prefix of the named process (127.0.0.1 and none by default).
func (c *Cluster) where(name string) (string, []string) {
	c.mu.Lock()
	place := c.placement
	c.mu.Unlock()
	if place == nil {
		return "127.0.0.1", nil
	}
	return place(name)
}

// UseSecretKey writes a fresh AES-256 key file and configures every master and worker started
// afterwards with it (DM's secret-key-path). It returns the file's path.
func (c *Cluster) UseSecretKey() string {
	c.t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		c.t.Fatalf("integration: %v", err)
	}
	path := filepath.Join(c.dir, "secret.key")
	c.writeFile(path, hex.EncodeToString(key)+"\n")
	c.mu.Lock()
	c.secretKeyPath = path
	c.mu.Unlock()
	return path
}

// HarnessCN is the Common Name of the harness's own certificate in TLS mode.
const HarnessCN = "dm-harness"

// UseTLS creates a CA and gives every master and worker started afterwards DM's ssl-ca, ssl-cert
// and ssl-key, with a certificate of its own whose Common Name is its name, and allowedCN as
// cert-allowed-cn (the harness's HarnessCN is added; none: every certificate of the CA). The
// harness's calls (Call, WaitListening) present a certificate for HarnessCN. It returns the CA,
// which issues more certificates.
func (c *Cluster) UseTLS(allowedCN ...string) *PKI {
	c.t.Helper()
	pki := NewPKI(c.t, filepath.Join(c.dir, "pki"), "dm-test-ca")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = pki.ClientTLS(HarnessCN)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pki = pki
	if len(allowedCN) > 0 {
		c.allowedCN = append(append([]string(nil), allowedCN...), HarnessCN)
	}
	c.client, c.scheme = &http.Client{Transport: tr}, "https"
	return pki
}

// commonLines are config lines every process gets: the secret key, and its TLS keys.
func (c *Cluster) commonLines(name string) []string {
	c.mu.Lock()
	pki, allowed, key := c.pki, c.allowedCN, c.secretKeyPath
	c.mu.Unlock()
	var lines []string
	if key != "" {
		lines = append(lines, fmt.Sprintf("secret-key-path = %q", key))
	}
	if pki != nil {
		cert, certKey := pki.Issue(name)
		lines = append(lines, fmt.Sprintf("ssl-ca = %q", pki.CAPath), fmt.Sprintf("ssl-cert = %q", cert), fmt.Sprintf("ssl-key = %q", certKey))
		if len(allowed) > 0 {
			quoted := make([]string, len(allowed))
			for i, cn := range allowed {
				quoted[i] = strconv.Quote(cn)
			}
			lines = append(lines, "cert-allowed-cn = ["+strings.Join(quoted, ", ")+"]")
		}
	}
	return lines
}

// Call sends one request to a process of the cluster with the harness's credentials (its
// certificate in TLS mode) and reads the whole answer.
func (c *Cluster) Call(ctx context.Context, method, addr, path string, body any) (Response, error) {
	c.mu.Lock()
	client, scheme := c.client, c.scheme
	c.mu.Unlock()
	return do(ctx, client, scheme, method, addr, path, body)
}

// NewCluster prepares an empty cluster; add masters and workers to it.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: BinDir(t), dir: t.TempDir(), client: http.DefaultClient, scheme: "http"}
	t.Cleanup(func() {
		c.mu.Lock()
		procs := append(append([]*Proc(nil), c.Workers...), c.Masters...)
		c.mu.Unlock()
		for _, p := range procs {
			p.Kill()
		}
		if t.Failed() {
			for _, p := range procs {
				lines := 60
				if n, err := strconv.Atoi(os.Getenv("DM_TEST_LOG_LINES")); err == nil && n > 0 {
					lines = n
				}
				t.Logf("---- tail of %s %s log (%s) ----\n%s", p.Role, p.Name, p.LogPath, logTail(p.LogPath, lines))
			}
		}
	})
	return c
}

// MasterOptions shapes the TOML file of a master.
type MasterOptions struct {
	// Join, when set, joins these API addresses instead of bootstrapping.
	Join []string
	// ExperimentalOpenAPI uses DM v5.3's `[experimental] openapi = true` spelling.
	ExperimentalOpenAPI bool
	// NoOpenAPI leaves the OpenAPI off.
	NoOpenAPI bool
	// Extra lines appended to the TOML file (e.g. DM keys dm does not use).
	Extra []string
}

// StartMasters starts n masters bootstrapping one Raft group with DM-style config files
// (initial-cluster), and returns once every process listens.
func (c *Cluster) StartMasters(n int, opts MasterOptions) []*Proc {
	c.t.Helper()
	ports := FreePorts(c.t, 2*n)
	var procs []*Proc
	var initial []string
	c.mu.Lock()
	base := len(c.Masters)
	c.mu.Unlock()
	for i := range n {
		name := fmt.Sprintf("master%d", base+i+1)
		p := c.newMaster(name, ports[2*i], ports[2*i+1])
		initial = append(initial, name+"="+p.PeerURL)
		procs = append(procs, p)
	}
	for _, p := range procs {
		c.writeMasterConfig(p, "initial-cluster = \""+strings.Join(initial, ",")+"\"", opts)
	}
	for _, p := range procs {
		p.Start()
	}
	for _, p := range procs {
		p.WaitListening(15 * time.Second)
	}
	return procs
}

// AddMaster starts one more master that joins through `join`.
func (c *Cluster) AddMaster(opts MasterOptions) *Proc {
	c.t.Helper()
	ports := FreePorts(c.t, 2)
	p := c.newMaster(fmt.Sprintf("master%d", len(c.Masters)+1), ports[0], ports[1])
	c.writeMasterConfig(p, "join = \""+strings.Join(opts.Join, ",")+"\"", opts)
	p.Start()
	p.WaitListening(15 * time.Second)
	return p
}

func (c *Cluster) newMaster(name string, apiPort, peerPort int) *Proc {
	host, prefix := c.where(name)
	p := &Proc{
		Name: name, Role: "master", t: c.t, bin: filepath.Join(c.bin, "dm-master"), prefix: prefix,
		APIAddr: net.JoinHostPort(host, strconv.Itoa(apiPort)),
		PeerURL: "http://" + net.JoinHostPort(host, strconv.Itoa(peerPort)),
		DataDir: filepath.Join(c.dir, name, "data"),
		Config:  filepath.Join(c.dir, name, "dm-master.toml"),
		LogPath: filepath.Join(c.dir, name, "dm-master.log"),
	}
	p.args = []string{"--config", p.Config}
	c.mu.Lock()
	p.client, p.scheme = c.client, c.scheme
	c.Masters = append(c.Masters, p)
	c.mu.Unlock()
	return p
}

func (c *Cluster) writeMasterConfig(p *Proc, clusterLine string, opts MasterOptions) {
	lines := []string{
		"# written as a DM user would",
		fmt.Sprintf("name = %q", p.Name),
		"log-level = \"info\"",
		fmt.Sprintf("master-addr = %q", p.APIAddr),
		fmt.Sprintf("advertise-addr = %q", p.APIAddr),
		fmt.Sprintf("peer-urls = %q", p.PeerURL),
		fmt.Sprintf("advertise-peer-urls = %q", p.PeerURL),
		fmt.Sprintf("data-dir = %q", p.DataDir),
		clusterLine,
	}
	lines = append(lines, c.commonLines(p.Name)...)
	if !opts.NoOpenAPI && !opts.ExperimentalOpenAPI {
		lines = append(lines, "openapi = true")
	}
	lines = append(lines, opts.Extra...)
	if opts.ExperimentalOpenAPI {
		lines = append(lines, "", "[experimental]", "openapi = true")
	}
	c.writeFile(p.Config, strings.Join(lines, "\n")+"\n")
}

// StartWorker starts a worker joining all current masters, with the given keepalive-ttl.
func (c *Cluster) StartWorker(name string, keepaliveTTL int) *Proc {
	c.t.Helper()
	port := FreePort(c.t)
	var join []string
	c.mu.Lock()
	for _, m := range c.Masters {
		join = append(join, m.APIAddr)
	}
	relayDir := filepath.Join(c.relayRoot, name)
	if c.relayRoot == "" {
		relayDir = filepath.Join(c.dir, name, "data", "relay")
	}
	c.mu.Unlock()
	host, prefix := c.where(name)
	p := &Proc{
		Name: name, Role: "worker", t: c.t, bin: filepath.Join(c.bin, "dm-worker"), prefix: prefix,
		APIAddr: net.JoinHostPort(host, strconv.Itoa(port)),
		DataDir: filepath.Join(c.dir, name, "data"),
		Config:  filepath.Join(c.dir, name, "dm-worker.toml"),
		LogPath: filepath.Join(c.dir, name, "dm-worker.log"),
	}
	lines := append([]string{
		fmt.Sprintf("name = %q", name),
		"log-level = \"info\"",
		fmt.Sprintf("worker-addr = %q", p.APIAddr),
		fmt.Sprintf("advertise-addr = %q", p.APIAddr),
		fmt.Sprintf("join = %q", strings.Join(join, ",")),
		fmt.Sprintf("keepalive-ttl = %d", keepaliveTTL),
		fmt.Sprintf("relay-dir = %q", relayDir),
		fmt.Sprintf("data-dir = %q", p.DataDir),
	}, c.commonLines(name)...)
	c.writeFile(p.Config, strings.Join(lines, "\n")+"\n")
	p.args = []string{"--config", p.Config}
	c.mu.Lock()
	p.client, p.scheme = c.client, c.scheme
	c.Workers = append(c.Workers, p)
	c.mu.Unlock()
	p.Start()
	p.WaitListening(15 * time.Second)
	return p
}

func (c *Cluster) writeFile(path, content string) {
	c.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		c.t.Fatalf("integration: %v", err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		c.t.Fatalf("integration: %v", err)
	}
}

// Start launches the process (again) with its arguments; output goes to LogPath.
func (p *Proc) Start() {
	p.t.Helper()
	p.start(p.args)
}

// StartWith launches the process (again) with extra arguments for this run only (such as
// dm-master's --recover-from).
func (p *Proc) StartWith(extra ...string) {
	p.t.Helper()
	p.start(append(append([]string(nil), p.args...), extra...))
}

func (p *Proc) start(args []string) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.t.Fatalf("integration: %s %s is already running", p.Role, p.Name)
	}
	if err := os.MkdirAll(filepath.Dir(p.LogPath), 0o755); err != nil {
		p.t.Fatalf("integration: %v", err)
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatalf("integration: %v", err)
	}
	fmt.Fprintf(logf, "==== harness: start %s %v at %s\n", p.bin, args, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, args...)
	if len(p.prefix) > 0 {
		cmd = exec.Command(p.prefix[0], append(append(append([]string(nil), p.prefix[1:]...), p.bin), args...)...)
	}
	// Relative paths a process uses (dump data_dir, relay dir) land in its own directory.
	cmd.Dir = filepath.Dir(p.LogPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		p.t.Fatalf("integration: start %s: %v", p.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
}

// Running reports whether the process is up.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and reaps the process (no-op when it is not running).
func (p *Proc) Kill() { p.signal(syscall.SIGKILL, 10*time.Second) }

// Freeze stops the process where it stands (SIGSTOP): to everyone else it is a machine that
// hangs or a network that drops everything, until Thaw. It is thawed when the test ends.
func (p *Proc) Freeze() {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil {
		p.t.Fatalf("integration: %s %s is not running: nothing to freeze", p.Role, p.Name)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		p.t.Fatalf("integration: freeze %s %s: %v", p.Role, p.Name, err)
	}
	p.t.Cleanup(p.Thaw)
}

// Thaw lets a frozen process go on (SIGCONT).
func (p *Proc) Thaw() {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
	}
}

// Stop sends SIGTERM and waits for a clean exit, killing after 20 s.
func (p *Proc) Stop() {
	if !p.signal(syscall.SIGTERM, 20*time.Second) {
		p.t.Errorf("integration: %s %s did not stop within 20s of SIGTERM; killed", p.Role, p.Name)
		p.Kill()
	}
}

func (p *Proc) signal(sig syscall.Signal, wait time.Duration) bool {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return true
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	select {
	case <-exited:
		p.mu.Lock()
		p.cmd = nil
		p.mu.Unlock()
		return true
	case <-time.After(wait):
		return false
	}
}

// WaitListening polls until the process's HTTP server accepts requests.
func (p *Proc) WaitListening(timeout time.Duration) {
	p.t.Helper()
	Eventually(p.t, timeout, func() error {
		if !p.Running() {
			return fmt.Errorf("%s %s exited:\n%s", p.Role, p.Name, logTail(p.LogPath, 30))
		}
		_, err := do(context.Background(), p.client, p.scheme, http.MethodGet, p.APIAddr, "/status", nil)
		return err
	})
}

// Eventually polls check until it returns nil, failing the test with the last error at the
// deadline. Tests use it instead of sleeps.
func Eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("integration: not true within %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Response is an HTTP answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %q: %w", r.Body, err)
	}
	return nil
}

// APIError is the error template.
type APIError struct {
	Msg  string `json:"error_msg"`
	Code int    `json:"error_code"`
}

// Call sends one request to a dm process over plain HTTP and reads the whole answer.
func Call(ctx context.Context, method, addr, path string, body any) (Response, error) {
	return do(ctx, http.DefaultClient, "http", method, addr, path, body)
}

func do(ctx context.Context, client *http.Client, scheme, method, addr, path string, body any) (Response, error) {
	return doSigned(ctx, client, scheme, method, addr, path, body, nil)
}

// doSigned is do with a hook that may sign the request over its JSON payload before it goes.
func doSigned(ctx context.Context, client *http.Client, scheme, method, addr, path string, body any, sign func(*http.Request, []byte) error) (Response, error) {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Response{}, err
		}
		payload = b
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+addr+path, bytes.NewReader(payload))
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if sign != nil {
		if err := sign(req, payload); err != nil {
			return Response{}, err
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

func logTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
