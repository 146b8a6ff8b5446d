package integration

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chaosConfig is what the environment tunes: DM_CHAOS_SEED (default: the clock),
// DM_CHAOS_ROUNDS (rounds per fault kind, default 1), DM_CHAOS_KINDS (a comma list of fault
// kinds, default all), DM_CHAOS_OUTAGE (seconds the target stays unreachable, default 10; make
// chaos uses 60) and DM_CHAOS_BUDGET (no round starts after it, default 6m).
type chaosConfig struct {
	seed   uint64
	rounds int
	kinds  []string
	outage time.Duration
	budget time.Duration
}

func chaosConfigFromEnv(t *testing.T) chaosConfig {
	t.Helper()
	cfg := chaosConfig{seed: uint64(time.Now().UnixNano()), rounds: 1, outage: 10 * time.Second, budget: 6 * time.Minute}
	if s := os.Getenv("DM_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "DM_CHAOS_SEED")
		cfg.seed = v
	}
	if s := os.Getenv("DM_CHAOS_ROUNDS"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, "DM_CHAOS_ROUNDS")
		cfg.rounds = v
	}
	if s := os.Getenv("DM_CHAOS_OUTAGE"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, "DM_CHAOS_OUTAGE")
		cfg.outage = time.Duration(v) * time.Second
	}
	if s := os.Getenv("DM_CHAOS_BUDGET"); s != "" {
		v, err := time.ParseDuration(s)
		require.NoError(t, err, "DM_CHAOS_BUDGET")
		cfg.budget = v
	}
	if s := os.Getenv("DM_CHAOS_KINDS"); s != "" {
		cfg.kinds = strings.Split(s, ",")
	}
	return cfg
}

// chaosSource is one upstream with its own schema.
type chaosSource struct {
	name   string
	schema string
	db     *MariaDB
	pool   *sql.DB
}

// chaosEnv: 3 masters, 3 workers (keepalive-ttl 3 s), two upstreams (one schema each), one
// target (as root, every master and worker in a network namespace of its own and the
// databases on an address of the root namespace every namespace reaches: NetLab), the main `all` task over both sources and a small side task whose pause/resume are
// the API writes the suite checks.
type chaosEnv struct {
	t       *testing.T
	c       *Cluster
	rng     *rand.Rand
	sources []*chaosSource
	dst     *MariaDB
	dstPool *sql.DB
	// lab and spaces: each master and worker runs in a network namespace of its own when the
	// suite runs as root (the partition faults need it), nil otherwise.
	lab    *NetLab
	spaces map[string]*NetNS
	// traffic is the writers, which some faults pause.
	traffic *chaosTraffic
	// dumpDir is a tmpfs the disk-full fault shrinks (as root).
	dumpDir string
	// relayDir is a tmpfs holding every worker's relay-dir (<relayDir>/<worker>, as root),
	// which the relay-disk-full fault shrinks.
	relayDir string
	// ownTasks counts, per kind ("disk", "bulk", "shard"), the rounds that run a task of their
	// own, on a fresh schema: ownTask.
	ownTasks map[string]int

	mu sync.Mutex
}

// ownTask numbers the next round of kind that runs a task of its own: the schema and the task
// it uses are <kind><n> and chaos-<kind>-<n>.
func (e *chaosEnv) ownTask(kind string) (n int, schema, task string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ownTasks == nil {
		e.ownTasks = map[string]int{}
	}
	e.ownTasks[kind]++
	n = e.ownTasks[kind]
	return n, fmt.Sprintf("%s%d", kind, n), fmt.Sprintf("chaos-%s-%d", kind, n)
}

const (
	chaosTask     = "chaos"
	chaosSideTask = "chaos-side"
	chaosTTL      = 3
	chaosSeedRows = 3000
)

func newChaosEnv(t *testing.T, rng *rand.Rand) *chaosEnv {
	t.Helper()
	c := NewCluster(t)
	c.UseSecretKey()
	var lab *NetLab
	var bind string
	spaces := map[string]*NetNS{}
	if os.Geteuid() == 0 {
		lab = NewNetLab(t)
		bind = lab.LocalAddr()
		for _, name := range []string{"master1", "master2", "master3", "worker1", "worker2", "worker3"} {
			spaces[name] = lab.Namespace(name)
		}
		c.Place(func(name string) (string, []string) { return spaces[name].Addr, spaces[name].Exec() })
	}
	dbs := StartMariaDBs(t, 2, MariaDBOptions{Binlog: true, BindAddress: bind})
	dst := StartMariaDB(t, MariaDBOptions{BindAddress: bind})
	dst.CreateUser(t, "dmtarget", taskPassword, "ALL PRIVILEGES ON *.*")
	e := &chaosEnv{t: t, c: c, rng: rng, dst: dst, lab: lab, spaces: spaces}
	if lab != nil {
		e.dumpDir = mountChaosDumpFS(e)
		e.relayDir = mountChaosFS(e, "relayfs", chaosRelayFSLarge)
		c.UseRelayRoot(e.relayDir)
	}
	var extra []string
	if e.dumpDir != "" {
		extra = append(extra, fmt.Sprintf("dump-dir-allowed = [%q]", e.dumpDir))
	}
	masters := c.StartMasters(3, MasterOptions{Extra: extra})
	for i := range 3 {
		c.StartWorker(fmt.Sprintf("worker%d", i+1), chaosTTL)
	}
	waitLeader(t, masters, 30*time.Second)
	e.dstPool = dst.DB(t)
	e.waitWorkersOnline(30 * time.Second)
	for i, db := range dbs {
		s := &chaosSource{name: fmt.Sprintf("mysql-0%d", i+1), schema: fmt.Sprintf("db%d", i+1), db: db, pool: db.DB(t)}
		e.sources = append(e.sources, s)
		seedChaosSchema(t, s)
		e.createSource(s)
	}
	dbs[0].Exec(t, "CREATE DATABASE side")
	dbs[0].Exec(t, "CREATE TABLE side.t (id INT PRIMARY KEY)")
	dbs[0].Exec(t, "INSERT INTO side.t SELECT seq FROM side.seq_1_to_10")
	e.startTask(chaosTask, []string{"mysql-01", "mysql-02"}, func(s string) []string { return []string{map[string]string{"mysql-01": "db1", "mysql-02": "db2"}[s]} })
	e.startTask(chaosSideTask, []string{"mysql-01"}, func(string) []string { return []string{"side"} })
	return e
}

// seedChaosSchema creates the tables: two sysbench tables (`sysbench oltp_insert prepare`,
// make deps installs it), a keyless table and a table whose only key is a unique nullable one.
func seedChaosSchema(t *testing.T, s *chaosSource) {
	t.Helper()
	sc := s.schema
	s.db.Exec(t, "CREATE DATABASE "+sc)
	prep := exec.Command("sysbench", "oltp_insert", "--mysql-host="+s.db.Host(), "--mysql-port="+strconv.Itoa(s.db.Port()),
		"--mysql-user="+s.db.User(), "--mysql-password="+s.db.Password(), "--mysql-db="+sc,
		"--tables=2", "--table-size="+strconv.Itoa(chaosSeedRows), "prepare")
	if out, err := prep.CombinedOutput(); err != nil {
		t.Fatalf("chaos: sysbench prepare of %s: %v\n%s", sc, err, out)
	}
	s.db.Exec(t, "CREATE TABLE "+sc+".nokey (a INT, b VARCHAR(40))")
	s.db.Exec(t, "INSERT INTO "+sc+".nokey SELECT seq % 50, 'seed' FROM "+sc+".seq_1_to_500")
	s.db.Exec(t, "CREATE TABLE "+sc+".unk (u INT NULL, v INT, note VARCHAR(40), UNIQUE KEY u (u))")
	s.db.Exec(t, "INSERT INTO "+sc+".unk SELECT IF(seq % 10 = 0, NULL, seq), seq, 'seed' FROM "+sc+".seq_1_to_300")
}

func (e *chaosEnv) createSource(s *chaosSource) {
	e.t.Helper()
	resp := e.mustCall(http.MethodPost, "/api/v1/sources", map[string]any{
		"source_name": s.name, "host": s.db.Host(), "port": s.db.Port(), "user": s.db.User(), "password": s.db.Password(), "enable_gtid": true,
	})
	require.Equal(e.t, http.StatusCreated, resp.Status, "%s", resp.Body)
	Eventually(e.t, 30*time.Second, func() error {
		if b, err := e.bindings(); err != nil || b[s.name] == "" {
			return fmt.Errorf("source %s not bound (%v)", s.name, err)
		}
		return nil
	})
}

func (e *chaosEnv) startTask(name string, sources []string, schemas func(string) []string) {
	e.t.Helper()
	e.createTask(e.taskBody(name, sources, schemas))
}

// createTask creates the task of body (a taskBody, changed as a round needs).
func (e *chaosEnv) createTask(body map[string]any) {
	e.t.Helper()
	resp := e.mustCall(http.MethodPost, "/api/v1/tasks", map[string]any{"remove_meta": false, "task": body})
	if resp.Status != http.StatusCreated {
		e.t.Fatalf("chaos: create %s: %d %s", body["name"], resp.Status, resp.Body)
	}
}

// taskBody is an `all` task with fewer threads than the other tests' (taskBody): six
// processes and three servers share two cores here.
func (e *chaosEnv) taskBody(name string, sources []string, schemas func(string) []string) map[string]any {
	task := taskBody(name, "all", e.dst, sources, schemas)
	delete(task, "enhance_online_schema_change")
	conf := task["source_config"].(map[string]any)
	conf["full_migrate_conf"] = map[string]any{"export_threads": 2, "import_threads": 2, "data_dir": "./dumped_data"}
	conf["incr_migrate_conf"] = map[string]any{"repl_threads": 4, "repl_batch": 100}
	return task
}

// call sends a request to the running masters in random order and returns the first answer;
// an error only when none answered. Followers forward writes to the leader.
func (e *chaosEnv) call(method, path string, body any) (Response, error) {
	e.mu.Lock()
	order := e.rng.Perm(len(e.c.Masters))
	e.mu.Unlock()
	var errs []string
	for _, i := range order {
		m := e.c.Masters[i]
		if !m.Running() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := Call(ctx, method, m.APIAddr, path, body)
		cancel()
		if err == nil && resp.Status != http.StatusServiceUnavailable {
			return resp, nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v %d %s", m.Name, err, resp.Status, resp.Body))
	}
	return Response{}, fmt.Errorf("no master answered %s %s: %s", method, path, strings.Join(errs, "; "))
}

// mustCall retries call until a master answers (the masters may be electing).
func (e *chaosEnv) mustCall(method, path string, body any) Response {
	e.t.Helper()
	var resp Response
	Eventually(e.t, 60*time.Second, func() error {
		var err error
		resp, err = e.call(method, path, body)
		return err
	})
	return resp
}

func (e *chaosEnv) bindings() (map[string]string, error) {
	resp, err := e.call(http.MethodGet, "/api/v1/cluster/workers", nil)
	if err != nil {
		return nil, err
	}
	var l listResp[clusterWorker]
	if err := resp.JSON(&l); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, w := range l.Data {
		if w.BoundStage == "bound" {
			out[w.BoundSourceName] = w.Name
		}
	}
	return out, nil
}

func (e *chaosEnv) waitWorkersOnline(timeout time.Duration) {
	e.t.Helper()
	Eventually(e.t, timeout, func() error {
		resp, err := e.call(http.MethodGet, "/api/v1/cluster/workers", nil)
		if err != nil {
			return err
		}
		var l listResp[clusterWorker]
		if err := resp.JSON(&l); err != nil {
			return err
		}
		online := 0
		for _, w := range l.Data {
			if w.BoundStage != "" && w.BoundStage != "offline" {
				online++
			}
		}
		if online < len(e.c.Workers) {
			return fmt.Errorf("%d of %d workers online: %+v", online, len(e.c.Workers), l.Data)
		}
		return nil
	})
}

// status is the main task's subtasks, or an error when no master answered well.
func (e *chaosEnv) status(task string) ([]subtaskStatus, int, error) {
	resp, err := e.call(http.MethodGet, "/api/v1/tasks/"+task+"/status", nil)
	if err != nil {
		return nil, 0, err
	}
	if resp.Status != http.StatusOK {
		return nil, resp.Status, fmt.Errorf("status of %s: HTTP %d: %s", task, resp.Status, resp.Body)
	}
	var l listResp[subtaskStatus]
	if err := resp.JSON(&l); err != nil {
		return nil, resp.Status, err
	}
	return l.Data, resp.Status, nil
}

func (e *chaosEnv) source(name string) *chaosSource {
	for _, s := range e.sources {
		if s.name == name {
			return s
		}
	}
	e.t.Fatalf("no source %q", name)
	return nil
}

func (e *chaosEnv) proc(name string) *Proc {
	for _, p := range append(append([]*Proc(nil), e.c.Masters...), e.c.Workers...) {
		if p.Name == name {
			return p
		}
	}
	e.t.Fatalf("no process %q", name)
	return nil
}

// leader is the master the running ones agree on.
func (e *chaosEnv) leader() *Proc {
	e.t.Helper()
	return waitLeader(e.t, e.c.Masters, 60*time.Second)
}

// gtidSeq is the sequence number of domain 0 in a GTID set such as "0-4097-1234" (the harness's
// sources write one domain).
func gtidSeq(set string) int64 {
	for _, g := range strings.Split(set, ",") {
		parts := strings.Split(strings.TrimSpace(g), "-")
		if len(parts) == 3 && parts[0] == "0" {
			n, _ := strconv.ParseInt(parts[2], 10, 64)
			return n
		}
	}
	return 0
}

func (s *chaosSource) gtidPos() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var pos string
	err := s.pool.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&pos)
	return pos, err
}
