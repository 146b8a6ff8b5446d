package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/dmyaml"
)

// ctlRun is one run of the dmctl binary.
type ctlRun struct {
	stdout, stderr string
	code           int
}

// dmctlRun runs the dmctl binary without DM_TOKEN or DM_MASTER_ADDR from the test's
// environment (env adds its own) and returns its streams and exit code.
func dmctlRun(t *testing.T, env []string, args ...string) ctlRun {
	t.Helper()
	cmd := exec.Command(filepath.Join(BinDir(t), "dmctl"), args...)
	cmd.Env = append(append(os.Environ(), "DM_TOKEN=", "DM_MASTER_ADDR="), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := ctlRun{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return r
}

// requireExit checks the exit code of a dmctl run made with exec.
func requireExit(t *testing.T, err error, code int) {
	t.Helper()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, code, ee.ExitCode())
}

// dmctlEnv drives dmctl against the master of a migrationEnv with one source, mysql-01, bound
// to worker bound; the other worker, free, is free.
type dmctlEnv struct {
	me          *migrationEnv
	bound, free string
}

func (e dmctlEnv) ctl(t *testing.T, args ...string) ctlRun {
	t.Helper()
	return dmctlRun(t, nil, append([]string{"--master-addr", e.me.addr}, args...)...)
}

// ok runs dmctl, requires exit 0 and decodes DM's JSON answer into out.
func (e dmctlEnv) ok(t *testing.T, out any, args ...string) string {
	t.Helper()
	r := e.ctl(t, args...)
	require.Equal(t, 0, r.code, "dmctl %v: %+v", args, r)
	if out != nil {
		require.NoError(t, json.Unmarshal([]byte(r.stdout), out), "dmctl %v: %s", args, r.stdout)
	}
	return r.stdout
}

// fails runs dmctl, requires exit 1 and DM's {"result": false} with the given code (0: any).
func (e dmctlEnv) fails(t *testing.T, code fsm.Code, args ...string) string {
	t.Helper()
	r := e.ctl(t, args...)
	require.Equal(t, 1, r.code, "dmctl %v: %+v", args, r)
	var m struct {
		Result *bool  `json:"result"`
		Msg    string `json:"msg"`
		Code   *int   `json:"code"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &m), "dmctl %v: %s", args, r.stdout)
	require.False(t, *m.Result)
	require.NotContains(t, m.Msg, "HTTP 400")
	if code != 0 {
		require.NotNil(t, m.Code, "%s", r.stdout)
		require.Equal(t, int(code), *m.Code, "%s", m.Msg)
	}
	return m.Msg
}

// DM's answers, as a script written for DM's dmctl reads them.
type (
	dmOp struct {
		Op      string `json:"op"`
		Result  bool   `json:"result"`
		Msg     string `json:"msg"`
		Sources []struct {
			Result bool   `json:"result"`
			Msg    string `json:"msg"`
			Source string `json:"source"`
			Worker string `json:"worker"`
		} `json:"sources"`
	}
	dmMembersOut struct {
		Result  bool `json:"result"`
		Members []struct {
			Leader *struct {
				Name string `json:"name"`
				Addr string `json:"addr"`
			} `json:"leader"`
			Master *struct {
				Masters []struct {
					Name       string   `json:"name"`
					Alive      bool     `json:"alive"`
					ClientURLs []string `json:"clientURLs"`
				} `json:"masters"`
			} `json:"master"`
			Worker *struct {
				Workers []struct {
					Name   string `json:"name"`
					Addr   string `json:"addr"`
					Stage  string `json:"stage"`
					Source string `json:"source"`
				} `json:"workers"`
			} `json:"worker"`
		} `json:"members"`
	}
	dmStatusOut struct {
		Result bool `json:"result"`
		Tasks  []struct {
			TaskName   string   `json:"taskName"`
			TaskStatus string   `json:"taskStatus"`
			Sources    []string `json:"sources"`
		} `json:"tasks"`
		Sources []struct {
			Result       bool `json:"result"`
			SourceStatus struct {
				Source      string `json:"source"`
				Worker      string `json:"worker"`
				RelayStatus *struct {
					Stage string `json:"stage"`
				} `json:"relayStatus"`
			} `json:"sourceStatus"`
			SubTaskStatus []struct {
				Name   string `json:"name"`
				Stage  string `json:"stage"`
				Unit   string `json:"unit"`
				Result *struct {
					Errors []struct {
						Message string `json:"Message"`
					} `json:"errors"`
				} `json:"result"`
				Sync *struct {
					Synced              bool   `json:"synced"`
					SecondsBehindMaster string `json:"secondsBehindMaster"`
					SyncerBinlogGtid    string `json:"syncerBinlogGtid"`
					TotalEvents         string `json:"totalEvents"`
				} `json:"sync"`
			} `json:"subTaskStatus"`
		} `json:"sources"`
	}
)

// TestDmctlSpeaksDM runs every verb of dmctl whose API exists against one real cluster (a
// master, two workers, a source and a target MariaDB): DM's JSON shapes, the table view, the
// exit codes (0 success, 1 a failure the server or the run reported, 2 usage) and the
// --master-addr list with a dead address first.
func TestDmctlSpeaksDM(t *testing.T) {
	me := newMigrationEnv(t, 2)
	me.src.Exec(t, "CREATE DATABASE ctl")
	me.src.Exec(t, "CREATE TABLE ctl.t (id INT PRIMARY KEY, v VARCHAR(20))")
	me.src.Exec(t, "INSERT INTO ctl.t VALUES (1, 'a'), (2, 'b')")
	me.createSource("mysql-01", me.src)
	bound := me.api.bindings(me.addr)["mysql-01"]
	e := dmctlEnv{me: me, bound: bound, free: map[string]string{"worker1": "worker2", "worker2": "worker1"}[bound]}

	t.Run("usage errors exit 2", e.usageErrors)
	t.Run("list-member", e.listMember)
	t.Run("config and offline-member", e.configAndOfflineMember)
	t.Run("operate-source show", e.showSources)

	resp := me.startTask(me.task("ctltask", "all", []string{"mysql-01"}, "ctl"))
	require.Equal(t, 201, resp.Status, "%s", resp.Body)
	me.waitSynced("ctltask", 60*time.Second)

	t.Run("query-status", e.queryStatus)
	t.Run("query-status --watch", e.watchStatus)
	t.Run("binlog-schema while running", e.schemaWhileRunning)
	t.Run("relay", e.relay)
	t.Run("pause, schema change, resume", e.pauseSchemaResume)
	t.Run("shard-ddl-lock", e.shardDDLLock)
	t.Run("stop-task and transfer-source", e.stopTaskAndTransfer)
	t.Run("operate-source stop", e.stopSource)
	t.Run("encrypt, decrypt and verbs not served", e.cryptAndPending)
	t.Run("DM's files: operate-source create, start-task, stop-task", e.dmFiles)
}

func (e dmctlEnv) usageErrors(t *testing.T) {
	for _, args := range [][]string{{"no-such-verb"}, {"list-member", "--no-such-flag"}, {"query-status", "a", "b"}, {"offline-member", "--name", "w"}} {
		r := e.ctl(t, args...)
		require.Equal(t, 2, r.code, "%v: %+v", args, r)
		require.Empty(t, r.stdout)
		require.True(t, strings.HasPrefix(r.stderr, "Error: "), r.stderr)
	}
}

func (e dmctlEnv) listMember(t *testing.T) {
	var m dmMembersOut
	e.ok(t, &m, "list-member")
	require.True(t, m.Result)
	require.Len(t, m.Members, 3)
	require.Equal(t, "master1", m.Members[0].Leader.Name)
	require.Equal(t, e.me.addr, m.Members[0].Leader.Addr)
	require.Equal(t, "master1", m.Members[1].Master.Masters[0].Name)
	require.True(t, m.Members[1].Master.Masters[0].Alive)
	require.Equal(t, []string{"http://" + e.me.addr}, m.Members[1].Master.Masters[0].ClientURLs)
	stages := map[string]string{}
	for _, w := range m.Members[2].Worker.Workers {
		stages[w.Name] = w.Stage + "/" + w.Source
	}
	require.Equal(t, map[string]string{e.bound: "bound/mysql-01", e.free: "free/"}, stages)

	m = dmMembersOut{}
	e.ok(t, &m, "list-member", "--worker", "--name", e.free)
	require.Len(t, m.Members, 1)
	require.Len(t, m.Members[0].Worker.Workers, 1)
	m = dmMembersOut{}
	e.ok(t, &m, "list-member", "--leader")
	require.Len(t, m.Members, 1)
	require.Equal(t, "master1", m.Members[0].Leader.Name)

	table := e.ok(t, nil, "-o", "table", "list-member")
	require.Regexp(t, `(?m)^ROLE\s+NAME\s+ADDR\s+STATE\s+SOURCE$`, table)
	require.Regexp(t, `(?m)^master\s+master1\s+`+e.me.addr+`\s+leader\s+-$`, table)
	require.Regexp(t, `(?m)^worker\s+`+e.bound+`\s+\S+\s+bound\s+mysql-01$`, table)

	// The first address is dead: the second answers. All dead: exit 1 in DM's shape.
	dead := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	r := dmctlRun(t, nil, "--master-addr", dead+","+e.me.addr, "list-member", "--leader")
	require.Equal(t, 0, r.code, "%+v", r)
	require.Contains(t, r.stdout, `"name": "master1"`)
	r = dmctlRun(t, nil, "--master-addr", dead, "list-member")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, `"result": false`)
	require.Contains(t, r.stdout, "no dm-master answered")
	r = dmctlRun(t, []string{"DM_MASTER_ADDR=" + dead + "," + e.me.addr}, "list-member", "--master")
	require.Equal(t, 0, r.code, "DM_MASTER_ADDR: %+v", r)
}

func (e dmctlEnv) configAndOfflineMember(t *testing.T) {
	var cfg struct {
		Result bool   `json:"result"`
		Cfg    string `json:"cfg"`
	}
	e.ok(t, &cfg, "config", "master", "master1")
	require.True(t, cfg.Result)
	require.Contains(t, cfg.Cfg, `name = "master1"`)
	require.Contains(t, cfg.Cfg, `advertise-addr = "`+e.me.addr+`"`)
	require.Contains(t, e.ok(t, nil, "-o", "table", "config", "worker", e.bound), `name = "`+e.bound+`"`)
	e.fails(t, fsm.CodeWorkerNotExist, "config", "worker", "worker9")

	e.fails(t, fsm.CodeWorkerOnline, "offline-member", "--worker", "--name", e.bound)
	e.fails(t, fsm.CodeWorkerNotExist, "offline-member", "--type", "worker", "--name", "worker9")
}

func (e dmctlEnv) showSources(t *testing.T) {
	var op dmOp
	e.ok(t, &op, "operate-source", "show")
	require.True(t, op.Result)
	require.Len(t, op.Sources, 1)
	require.Equal(t, "mysql-01", op.Sources[0].Source)
	require.Equal(t, e.bound, op.Sources[0].Worker)
	require.Regexp(t, `(?m)^mysql-01\s+`+e.bound+`\s+127\.0\.0\.1\s+\d+\s+root\s+true$`, e.ok(t, nil, "-o", "table", "operate-source", "show", "-s", "mysql-01"))
	e.fails(t, 46008, "operate-source", "show", "mysql-09")
}

func (e dmctlEnv) queryStatus(t *testing.T) {
	var list dmStatusOut
	e.ok(t, &list, "query-status")
	require.True(t, list.Result)
	require.Len(t, list.Tasks, 1)
	require.Equal(t, "ctltask", list.Tasks[0].TaskName)
	require.Equal(t, "Running", list.Tasks[0].TaskStatus)
	require.Equal(t, []string{"mysql-01"}, list.Tasks[0].Sources)

	for _, args := range [][]string{{"query-status", "ctltask"}, {"query-status", "--more"}, {"query-status", "-s", "mysql-01"}} {
		var full dmStatusOut
		out := e.ok(t, &full, args...)
		require.Contains(t, out, `"subTaskStatus"`)
		require.Len(t, full.Sources, 1, "%v", args)
		src := full.Sources[0]
		require.True(t, src.Result)
		require.Equal(t, "mysql-01", src.SourceStatus.Source)
		require.Equal(t, e.bound, src.SourceStatus.Worker)
		require.Len(t, src.SubTaskStatus, 1)
		st := src.SubTaskStatus[0]
		require.Equal(t, "ctltask", st.Name)
		require.Equal(t, "Running", st.Stage)
		require.Equal(t, "Sync", st.Unit)
		require.Nil(t, st.Result)
		require.True(t, st.Sync.Synced)
		require.Equal(t, "0", st.Sync.SecondsBehindMaster)
		require.NotEmpty(t, st.Sync.SyncerBinlogGtid)
	}

	table := e.ok(t, nil, "-o", "table", "query-status")
	require.Regexp(t, `(?m)^TASK\s+SOURCE\s+WORKER\s+STAGE\s+UNIT\s+PROGRESS\s+LAG\s+ERROR$`, table)
	require.Regexp(t, `(?m)^ctltask\s+mysql-01\s+`+e.bound+`\s+Running\s+Sync\s+synced, \d+ events, \d+/s\s+0s\s+-$`, table)

	e.fails(t, fsm.CodeTaskNotExist, "query-status", "nope")
	r := e.ctl(t, "-o", "table", "query-status", "nope")
	require.Equal(t, 1, r.code)
	require.Empty(t, r.stdout)
	require.Equal(t, fmt.Sprintf("Error: task \"nope\" does not exist (code %d)\n", fsm.CodeTaskNotExist), r.stderr)
	e.fails(t, fsm.CodeSourceNotInTask, "query-status", "-s", "mysql-09", "ctltask")
}

func (e dmctlEnv) watchStatus(t *testing.T) {
	cmd := exec.Command(filepath.Join(BinDir(t), "dmctl"), "--master-addr", e.me.addr, "-o", "table", "query-status", "ctltask", "-w")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	Eventually(t, 20*time.Second, func() error {
		if n := strings.Count(out.String(), "Every 2s: query-status of task ctltask"); n < 2 {
			return fmt.Errorf("%d frames so far: %s", n, out.String())
		}
		return nil
	})
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.NoError(t, cmd.Wait(), "an interrupt ends the watch with success: %s", out.String())
	require.GreaterOrEqual(t, strings.Count(out.String(), "ctltask   mysql-01"), 2)
}

func (e dmctlEnv) schemaWhileRunning(t *testing.T) {
	var op dmOp
	e.ok(t, &op, "binlog-schema", "list", "ctltask")
	require.Equal(t, e.bound, op.Sources[0].Worker)
	require.Contains(t, op.Sources[0].Msg, `"ctl"`)
	op = dmOp{}
	e.ok(t, &op, "binlog-schema", "list", "ctltask", "ctl")
	require.Equal(t, `["t"]`, op.Sources[0].Msg)
	op = dmOp{}
	e.ok(t, &op, "binlog-schema", "list", "-s", "mysql-01", "ctltask", "ctl", "t")
	require.Contains(t, op.Sources[0].Msg, "CREATE TABLE")
	file := filepath.Join(t.TempDir(), "t.sql")
	require.NoError(t, os.WriteFile(file, []byte("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))"), 0o600))
	e.fails(t, fsm.CodeWorkerNotPaused, "binlog-schema", "update", "ctltask", "ctl", "t", file)
}

func (e dmctlEnv) relay(t *testing.T) {
	var op dmOp
	e.ok(t, &op, "start-relay", "-s", "mysql-01", e.free)
	require.Len(t, op.Sources, 1)
	require.Equal(t, e.free, op.Sources[0].Worker)
	Eventually(t, 30*time.Second, func() error {
		for _, s := range e.me.sourceStatus("mysql-01") {
			if s.WorkerName == e.free && s.RelayStatus != nil && s.RelayStatus.Stage == "Running" {
				return nil
			}
		}
		return fmt.Errorf("no relay on %s yet", e.free)
	})
	op = dmOp{}
	e.ok(t, &op, "pause-relay", "-s", "mysql-01")
	require.Equal(t, "PauseRelay", op.Op)
	require.Contains(t, fmt.Sprint(op.Sources), e.free)
	op = dmOp{}
	e.ok(t, &op, "resume-relay", "-s", "mysql-01")
	require.Equal(t, "ResumeRelay", op.Op)
	op = dmOp{}
	e.ok(t, &op, "stop-relay", "-s", "mysql-01")
	require.Len(t, op.Sources, 1)
	require.Equal(t, e.free, op.Sources[0].Worker, "by default, the workers pulling the relay log")
	Eventually(t, 10*time.Second, func() error {
		if st, err := workerStages(e.me.addr); err != nil || st[e.free] != "free" {
			return fmt.Errorf("stages %v (%v)", st, err)
		}
		return nil
	})
	require.Contains(t, e.fails(t, fsm.CodeOpenAPICommon, "purge-relay", "-s", "mysql-01", "-f", "mysql-bin.000001"), "not enabled")
	e.fails(t, fsm.CodeSourceNotExist, "start-relay", "-s", "ghost", e.free)
}

func (e dmctlEnv) pauseSchemaResume(t *testing.T) {
	var op dmOp
	e.ok(t, &op, "pause-task", "ctltask")
	require.Equal(t, "Pause", op.Op)
	require.True(t, op.Result)
	require.Equal(t, "mysql-01", op.Sources[0].Source)
	e.me.waitStage("ctltask", "Paused", 20*time.Second)
	var list dmStatusOut
	e.ok(t, &list, "query-status")
	require.Equal(t, "Paused", list.Tasks[0].TaskStatus)

	file := filepath.Join(t.TempDir(), "t.sql")
	require.NoError(t, os.WriteFile(file, []byte("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))"), 0o600))
	e.ok(t, &op, "binlog-schema", "update", "ctltask", "ctl", "t", file)
	e.ok(t, &op, "binlog-schema", "delete", "ctltask", "ctl", "t")
	e.fails(t, 0, "binlog-schema", "delete", "ctltask", "ctl", "t")

	e.me.src.Exec(t, "INSERT INTO ctl.t VALUES (3, 'c')")
	op = dmOp{}
	e.ok(t, &op, "resume-task", "-s", "mysql-01", "ctltask")
	require.Equal(t, "Resume", op.Op)
	EventuallySame(t, e.me.srcDB, e.me.dstDB, "ctl", 30*time.Second)
	require.Equal(t, int64(3), TableCount(t, e.me.dstDB, "ctl.t"))
}

func (e dmctlEnv) shardDDLLock(t *testing.T) {
	require.JSONEq(t, `{"result": true, "msg": "", "locks": []}`, e.ok(t, nil, "shard-ddl-lock"))
	require.JSONEq(t, `{"result": true, "msg": "", "locks": []}`, e.ok(t, nil, "shard-ddl-lock", "ctltask"))
	e.fails(t, fsm.CodeTaskNotExist, "shard-ddl-lock", "nope")
	e.fails(t, fsm.CodeShardLockNotFound, "shard-ddl-lock", "unlock", "ctltask-`ctl`.`t`")
}

func (e dmctlEnv) stopTaskAndTransfer(t *testing.T) {
	var op dmOp
	e.ok(t, &op, "stop-task", "ctltask")
	require.Equal(t, "Stop", op.Op)
	require.Equal(t, e.bound, op.Sources[0].Worker)
	require.JSONEq(t, `{"result": true, "msg": "", "tasks": []}`, e.ok(t, nil, "query-status"))
	e.fails(t, fsm.CodeTaskNotExist, "stop-task", "ctltask")

	require.JSONEq(t, `{"result": true, "msg": ""}`, e.ok(t, nil, "transfer-source", "mysql-01", e.free))
	Eventually(t, 20*time.Second, func() error {
		if w := e.me.api.bindings(e.me.addr)["mysql-01"]; w != e.free {
			return fmt.Errorf("mysql-01 on %q", w)
		}
		return nil
	})
	e.fails(t, fsm.CodeWorkerNotExist, "transfer-source", "mysql-01", "worker9")
}

func (e dmctlEnv) stopSource(t *testing.T) {
	var op dmOp
	e.ok(t, &op, "operate-source", "stop", "mysql-01")
	require.True(t, op.Result)
	require.Equal(t, "mysql-01", op.Sources[0].Source)
	require.Equal(t, e.free, op.Sources[0].Worker)
	require.JSONEq(t, `{"result": true, "msg": "", "sources": []}`, e.ok(t, nil, "operate-source", "show"))
	e.fails(t, fsm.CodeSourceNotExist, "operate-source", "stop", "mysql-01")
}

func (e dmctlEnv) cryptAndPending(t *testing.T) {
	key := e.me.c.secretKeyPath
	enc := strings.TrimSpace(e.ok(t, nil, "--secret-key-path", key, "encrypt", "Pa55-w0rd"))
	require.NotContains(t, enc, "Pa55")
	require.Equal(t, "Pa55-w0rd\n", e.ok(t, nil, "--secret-key-path", key, "decrypt", enc))
	r := e.ctl(t, "encrypt", "Pa55-w0rd")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--secret-key-path")

	require.Contains(t, e.fails(t, 0, "config", "export"), "not supported")
}

// dmFiles: DM's own source.yaml (its password as dmctl encrypt printed it) and task.yaml
// create the source and start the task, the data arrives, and the files name what to stop.
func (e dmctlEnv) dmFiles(t *testing.T) {
	e.me.src.Exec(t, "CREATE DATABASE files")
	e.me.src.Exec(t, "CREATE TABLE files.t (id INT PRIMARY KEY, v VARCHAR(20))")
	e.me.src.Exec(t, "INSERT INTO files.t VALUES (1, 'x'), (2, 'y'), (3, 'z')")
	e.me.src.Exec(t, "CREATE TABLE files.skipped (id INT PRIMARY KEY)")
	key := e.me.c.secretKeyPath
	enc := strings.TrimSpace(e.ok(t, nil, "--secret-key-path", key, "encrypt", e.me.src.Password()))
	dir := t.TempDir()
	sourceFile := filepath.Join(dir, "source.yaml")
	require.NoError(t, os.WriteFile(sourceFile, []byte(fmt.Sprintf(`source-id: "mysql-files"
enable-gtid: true
from:
  host: "%s"
  port: %d
  user: "%s"
  password: "%s"
`, e.me.src.Host(), e.me.src.Port(), e.me.src.User(), enc)), 0o600))
	taskFile := filepath.Join(dir, "task.yaml")
	require.NoError(t, os.WriteFile(taskFile, []byte(fmt.Sprintf(`name: "filestask"
task-mode: all
target-database:
  host: "%s"
  port: %d
  user: "dmtarget"
  password: "%s"
block-allow-list:
  only-t:
    do-tables:
    - db-name: "files"
      tbl-name: "t"
mysql-instances:
- source-id: "mysql-files"
  block-allow-list: "only-t"
`, e.me.dst.Host(), e.me.dst.Port(), taskPassword)), 0o600))

	// Without the key the encrypted password would be taken as written: the source is refused.
	e.fails(t, 0, "operate-source", "create", sourceFile)
	var op dmOp
	e.ok(t, &op, "--secret-key-path", key, "operate-source", "create", sourceFile)
	require.Equal(t, "mysql-files", op.Sources[0].Source)
	require.NotEmpty(t, op.Sources[0].Worker)

	var check struct {
		Result bool   `json:"result"`
		Msg    string `json:"msg"`
	}
	e.ok(t, &check, "check-task", taskFile)
	require.True(t, check.Result, check.Msg)
	wrongPort := filepath.Join(dir, "wrong-port.yaml")
	data, err := os.ReadFile(taskFile)
	require.NoError(t, err)
	dead := fmt.Sprintf("port: %d", FreePort(t))
	require.NoError(t, os.WriteFile(wrongPort, []byte(strings.Replace(string(data), fmt.Sprintf("port: %d", e.me.dst.Port()), dead, 1)), 0o600))
	require.Contains(t, e.fails(t, 0, "check-task", wrongPort), "fail to check")

	e.ok(t, &op, "start-task", taskFile)
	require.True(t, op.Result)
	require.Equal(t, "mysql-files", op.Sources[0].Source)
	same := func() error { return CompareTable(context.Background(), e.me.srcDB, "files.t", e.me.dstDB, "files.t") }
	Eventually(t, 30*time.Second, same)
	e.me.src.Exec(t, "INSERT INTO files.t VALUES (4, 'w')")
	Eventually(t, 30*time.Second, same)
	require.Equal(t, int64(4), TableCount(t, e.me.dstDB, "files.t"))
	var tables int
	require.NoError(t, e.me.dstDB.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'files' AND table_name = 'skipped'").Scan(&tables))
	require.Zero(t, tables, "the allow list leaves files.skipped upstream")

	// config prints files that apply again: the source's password stays "******", which an
	// update reads as "keep the stored one", and the task's names its tables.
	printed := e.ok(t, nil, "config", "source", "mysql-files")
	require.Contains(t, printed, `source-id: mysql-files`)
	require.NotContains(t, printed, e.me.src.Password())
	again := filepath.Join(dir, "again.yaml")
	require.NoError(t, os.WriteFile(again, []byte(printed), 0o600))
	e.ok(t, &op, "operate-source", "update", again)
	require.Equal(t, "mysql-files", op.Sources[0].Source)
	e.me.src.Exec(t, "INSERT INTO files.t VALUES (5, 'v')")
	Eventually(t, 30*time.Second, same)
	e.binlogRecovery(t, same)
	taskText := e.ok(t, nil, "config", "task", "filestask")
	task, _, err := dmyaml.ParseTask([]byte(taskText), dmyaml.Options{})
	require.NoError(t, err, taskText)
	require.Equal(t, "filestask", task.Name)
	require.NotContains(t, taskText, taskPassword)

	e.ok(t, &op, "stop-task", taskFile)
	require.Equal(t, "Stop", op.Op)
	e.ok(t, &op, "operate-source", "stop", sourceFile)
	require.Equal(t, "mysql-files", op.Sources[0].Source)
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("name: x\ntask-mode: all\ntarget-datbase: {}\n"), 0o600))
	require.Contains(t, e.fails(t, fsm.CodeConfigYAML, "start-task", bad), "target-datbase")
}

// syncBuffer is a bytes.Buffer a running process writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// binlogRecovery: DDLs the target rejects pause the task, naming the event; `binlog replace`
// runs a fixed statement instead of one, `binlog skip` steps over the other, and the data ends
// equal with nothing left pending.
func (e dmctlEnv) binlogRecovery(t *testing.T, same func() error) {
	e.me.dst.Exec(t, "ALTER TABLE files.t ADD COLUMN extra INT")
	e.me.src.Exec(t, "ALTER TABLE files.t ADD COLUMN extra INT")
	require.Contains(t, e.waitPausedOn(t, "filestask"), "ADD COLUMN")
	var op dmOp
	e.ok(t, &op, "binlog", "replace", "filestask", "ALTER TABLE files.t MODIFY COLUMN extra INT;")
	require.Equal(t, "mysql-files", op.Sources[0].Source)
	e.me.src.Exec(t, "INSERT INTO files.t VALUES (6, 'u', 60)")
	Eventually(t, 30*time.Second, same)

	e.me.dst.Exec(t, "ALTER TABLE files.t DROP COLUMN extra")
	e.me.src.Exec(t, "ALTER TABLE files.t DROP COLUMN extra")
	require.Contains(t, e.waitPausedOn(t, "filestask"), "DROP COLUMN")
	e.ok(t, &op, "binlog", "skip", "filestask")
	e.me.src.Exec(t, "INSERT INTO files.t VALUES (7, 't')")
	Eventually(t, 30*time.Second, same)
	Eventually(t, 30*time.Second, func() error {
		if out := e.ok(t, nil, "binlog", "list", "filestask"); !strings.Contains(out, `"sources": []`) {
			return fmt.Errorf("operations still pending: %s", out)
		}
		return nil
	})
}

// waitPausedOn waits until the task's subtask is paused on an error naming a binlog event, and
// returns that error.
func (e dmctlEnv) waitPausedOn(t *testing.T, task string) string {
	t.Helper()
	var msg string
	Eventually(t, 30*time.Second, func() error {
		var st dmStatusOut
		e.ok(t, &st, "query-status", task)
		for _, src := range st.Sources {
			for _, sub := range src.SubTaskStatus {
				if sub.Stage != "Paused" || sub.Result == nil || len(sub.Result.Errors) == 0 {
					return fmt.Errorf("subtask %s is %s", sub.Name, sub.Stage)
				}
				msg = sub.Result.Errors[0].Message
			}
		}
		if !strings.Contains(msg, "binlog event at") {
			return fmt.Errorf("the error names no binlog event: %q", msg)
		}
		return nil
	})
	return msg
}
