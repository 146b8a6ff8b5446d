package integration

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/membership"
	"github.com/dm-oss/dm/restapi/peer"
)

// TestIntrudersSecretKey and TestIntrudersTLS attack a secured cluster as someone who reaches
// its ports without credentials: every internal route of masters and workers, raw Raft RPCs
// on the peer ports, a gossip join, a worker registration, a master join, record overwrites.
// Each is refused and the cluster state is unchanged; a member that asks for another member's
// records is refused too. Then the same cluster migrates a task through a follower and answers
// dmctl, and no file of any member and no answer holds a password in clear.
func TestIntrudersSecretKey(t *testing.T) { testIntruders(t, false) }

func TestIntrudersTLS(t *testing.T) { testIntruders(t, true) }

func testIntruders(t *testing.T, tlsMode bool) {
	e := newSecuredEnv(t, tlsMode)
	for _, p := range append(append([]*Proc(nil), e.c.Masters...), e.c.Workers...) {
		logData, err := os.ReadFile(p.LogPath)
		require.NoError(t, err)
		require.NotContains(t, string(logData), "the cluster is OPEN", "%s is secured", p.Name)
	}
	e.createSource()
	before := e.clusterState()

	e.memberCallsWork()
	e.strangersRefused()
	if !tlsMode {
		e.replayRefused()
	}
	e.membersKeepToThemselves()
	e.raftPortRefuses()
	e.gossipRefuses()
	require.Equal(t, before, e.clusterState(), "the intruders changed nothing")

	e.replicate()
	e.requireNoPlaintext()
}

func (e *securedEnv) createSource() {
	e.t.Helper()
	e.api(http.MethodPost, e.follower, "/api/v1/sources", map[string]any{
		"source_name": "mysql-sec", "host": e.src.Host(), "port": e.src.Port(), "user": "dmsrc",
		"password": securedSourcePassword, "enable_gtid": true,
	}, http.StatusCreated)
	Eventually(e.t, 20*time.Second, func() error {
		var l listResp[clusterWorker]
		if err := e.api(http.MethodGet, e.leader, "/api/v1/cluster/workers", nil, http.StatusOK).JSON(&l); err != nil {
			return err
		}
		for _, w := range l.Data {
			if w.BoundSourceName == "mysql-sec" {
				e.bound = w.Name
				return nil
			}
		}
		return fmt.Errorf("mysql-sec is not bound yet")
	})
}

// memberCallsWork: the legitimate calls succeed, with the same credentials the refusals lack.
func (e *securedEnv) memberCallsWork() {
	e.t.Helper()
	resp, err := e.member("worker1")(http.MethodGet, e.follower.APIAddr, peer.PathDesiredPrefix+"worker1/desired?wait=0s", nil)
	require.NoError(e.t, err)
	require.Equal(e.t, http.StatusOK, resp.Status, "%s", resp.Body)
	for _, w := range e.c.Workers {
		resp, err := e.member(e.leader.Name)(http.MethodGet, w.APIAddr, peer.PathWorkerStatus, nil)
		require.NoError(e.t, err)
		require.Equal(e.t, http.StatusOK, resp.Status, "%s", resp.Body)
	}
}

// internalRoute is one route a stranger tries.
type internalRoute struct {
	method, addr, path string
	body               any
}

// internalRoutes are every internal route of the leader, a follower and the workers, with
// bodies that would change the state if accepted.
func (e *securedEnv) internalRoutes() []internalRoute {
	var out []internalRoute
	for _, m := range []*Proc{e.leader, e.follower} {
		out = append(out,
			internalRoute{http.MethodPost, m.APIAddr, peer.PathJoinMaster, peer.JoinMasterRequest{Name: "intruder", APIAddr: "127.0.0.1:1", PeerAddr: "127.0.0.1:2", AddVoter: true}},
			internalRoute{http.MethodPost, m.APIAddr, peer.PathJoinMaster, peer.JoinMasterRequest{Name: e.leader.Name, APIAddr: "127.0.0.1:1", PeerAddr: "127.0.0.1:2"}},
			internalRoute{http.MethodPost, m.APIAddr, peer.PathRegisterWorker, peer.RegisterWorkerRequest{Name: "intruder", Addr: "127.0.0.1:3", KeepaliveTTL: 1 << 40}},
			internalRoute{http.MethodPost, m.APIAddr, peer.PathRegisterWorker, peer.RegisterWorkerRequest{Name: "worker1", Addr: "127.0.0.1:3", KeepaliveTTL: 1 << 40}},
			internalRoute{http.MethodGet, m.APIAddr, peer.PathDesiredPrefix + "worker1/desired?wait=0s", nil},
			internalRoute{http.MethodPost, m.APIAddr, peer.PathLoadWorker, peer.LoadWorkerRequest{Task: "t", Source: "mysql-sec", Worker: "intruder", Holding: true}},
			internalRoute{http.MethodPost, m.APIAddr, peer.PathShardDDL, peer.ShardDDLReport{Task: "t", Source: "mysql-sec", Target: "`a`.`b`", DDLs: []string{"DROP TABLE `a`.`b`"}}},
			internalRoute{http.MethodPost, m.APIAddr, peer.PathShardDDLDone, peer.ShardDDLDoneRequest{ID: "t-`a`.`b`", Source: "mysql-sec"}},
			internalRoute{http.MethodPost, m.APIAddr, peer.PathShardColumns, peer.ShardColumnClaim{Task: "t", Target: "`a`.`b`", Source: "mysql-sec", Table: "`a`.`b1`", Columns: []fsm.ColumnDef{{Name: "c", Def: "int"}}}},
			internalRoute{http.MethodPost, m.APIAddr, peer.PathBinlogOpDone, peer.BinlogOpDoneRequest{Task: "t", Event: fsm.BinlogEvent{Source: "mysql-sec", File: "b.000001", Pos: 4}}},
			internalRoute{http.MethodGet, m.APIAddr, peer.PathClusterKey, nil},
		)
		if e.tls {
			// Every port requires a certificate: the API and the status too.
			out = append(out, internalRoute{http.MethodGet, m.APIAddr, "/api/v1/cluster/masters", nil}, internalRoute{http.MethodGet, m.APIAddr, "/status", nil})
		}
	}
	for _, w := range e.c.Workers {
		schemas := peer.PathSubtaskPrefix + "t/schemas"
		out = append(out,
			internalRoute{http.MethodGet, w.APIAddr, peer.PathWorkerStatus, nil},
			internalRoute{http.MethodGet, w.APIAddr, schemas, nil},
			internalRoute{http.MethodGet, w.APIAddr, schemas + "/a/b", nil},
			internalRoute{http.MethodPut, w.APIAddr, schemas + "/a/b", map[string]any{"sql_content": "CREATE TABLE b (x INT)"}},
			internalRoute{http.MethodDelete, w.APIAddr, schemas + "/a/b", nil},
			internalRoute{http.MethodPost, w.APIAddr, peer.PathRelayPrefix + "mysql-sec/purge", peer.RelayPurgeRequest{RelayBinlogName: "mysql-bin.999999"}},
		)
	}
	return out
}

// strangersRefused: without a member's credentials nothing gets in: 401 with the template in
// secret-key mode, a failed handshake in TLS mode.
func (e *securedEnv) strangersRefused() {
	e.t.Helper()
	routes := e.internalRoutes()
	for who, call := range e.strangers() {
		for _, r := range routes {
			resp, err := call(r.method, r.addr, r.path, r.body)
			what := fmt.Sprintf("%s: %s %s%s", who, r.method, r.addr, r.path)
			if e.tls {
				require.Error(e.t, err, "%s answered %d %s", what, resp.Status, resp.Body)
				continue
			}
			require.NoError(e.t, err, what)
			e.requireTemplate(resp, http.StatusUnauthorized, what)
		}
	}
}

func (e *securedEnv) requireTemplate(resp Response, status int, what string) {
	e.t.Helper()
	require.Equal(e.t, status, resp.Status, "%s: %s", what, resp.Body)
	var tmpl APIError
	require.NoError(e.t, resp.JSON(&tmpl), what)
	require.Equal(e.t, int(fsm.CodeOpenAPICommon), tmpl.Code, what)
	require.NotEmpty(e.t, tmpl.Msg, what)
}

// replayRefused: a member's signed request captured on the wire and sent again is refused.
func (e *securedEnv) replayRefused() {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+e.follower.APIAddr+peer.PathDesiredPrefix+"worker1/desired?wait=0s", nil)
	require.NoError(e.t, err)
	require.NoError(e.t, e.signer("worker1").Sign(req, nil))
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		resp, err := http.DefaultClient.Do(req.Clone(req.Context()))
		require.NoError(e.t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(e.t, err)
		e.record(Response{Body: body})
		require.Equal(e.t, want, resp.StatusCode, "attempt %d: %s", i+1, body)
	}
}

// membersKeepToThemselves: a member may not write or read another member's records (403), and
// a member's join naming a Raft address that does not answer adds no voter.
func (e *securedEnv) membersKeepToThemselves() {
	e.t.Helper()
	w1 := e.member("worker1")
	for _, r := range []internalRoute{
		{http.MethodPost, e.follower.APIAddr, peer.PathRegisterWorker, peer.RegisterWorkerRequest{Name: "worker2", Addr: "127.0.0.1:3", KeepaliveTTL: 60}},
		{http.MethodPost, e.follower.APIAddr, peer.PathJoinMaster, peer.JoinMasterRequest{Name: e.leader.Name, APIAddr: "127.0.0.1:1", PeerAddr: "127.0.0.1:2"}},
		{http.MethodGet, e.follower.APIAddr, peer.PathDesiredPrefix + "worker2/desired?wait=0s", nil},
		{http.MethodPost, e.leader.APIAddr, peer.PathLoadWorker, peer.LoadWorkerRequest{Task: "t", Source: "mysql-sec", Worker: "worker2", Holding: true}},
	} {
		resp, err := w1(r.method, r.addr, r.path, r.body)
		require.NoError(e.t, err)
		e.requireTemplate(resp, http.StatusForbidden, "worker1: "+r.method+" "+r.path)
	}
	e.shardReportsOnlyFromTheBoundWorker()
	dead := fmt.Sprintf("127.0.0.1:%d", FreePort(e.t))
	resp, err := e.member("master4")(http.MethodPost, e.follower.APIAddr, peer.PathJoinMaster,
		peer.JoinMasterRequest{Name: "master4", APIAddr: "127.0.0.1:1", PeerAddr: dead, AddVoter: true})
	require.NoError(e.t, err)
	require.Equal(e.t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
	var tmpl APIError
	require.NoError(e.t, resp.JSON(&tmpl))
	require.Equal(e.t, int(fsm.CodeMasterJoinFail), tmpl.Code, tmpl.Msg)
}

// shardReportsOnlyFromTheBoundWorker: a worker may not report shard DDLs, acks or columns, or
// binlog operations done, for a source bound to another worker (403); the bound worker gets
// past, to the FSM's answer about a task that does not exist.
func (e *securedEnv) shardReportsOnlyFromTheBoundWorker() {
	e.t.Helper()
	other := ""
	for _, w := range e.c.Workers {
		if w.Name != e.bound {
			other = w.Name
		}
	}
	require.NotEmpty(e.t, other, "a worker not bound to mysql-sec")
	routes := []internalRoute{
		{http.MethodPost, e.follower.APIAddr, peer.PathShardDDL, peer.ShardDDLReport{Task: "t", Source: "mysql-sec", Target: "`a`.`b`", DDLs: []string{"DROP TABLE `a`.`b`"}}},
		{http.MethodPost, e.leader.APIAddr, peer.PathShardDDLDone, peer.ShardDDLDoneRequest{ID: "t-`a`.`b`", Source: "mysql-sec"}},
		{http.MethodPost, e.leader.APIAddr, peer.PathShardColumns, peer.ShardColumnClaim{Task: "t", Target: "`a`.`b`", Source: "mysql-sec", Table: "`a`.`b1`", Columns: []fsm.ColumnDef{{Name: "c", Def: "int"}}}},
		{http.MethodPost, e.follower.APIAddr, peer.PathBinlogOpDone, peer.BinlogOpDoneRequest{Task: "t", Event: fsm.BinlogEvent{Source: "mysql-sec", File: "b.000001", Pos: 4}}},
	}
	for _, r := range routes {
		resp, err := e.member(other)(r.method, r.addr, r.path, r.body)
		require.NoError(e.t, err)
		e.requireTemplate(resp, http.StatusForbidden, other+": "+r.method+" "+r.path)
	}
	for _, r := range []internalRoute{routes[0], routes[2]} {
		resp, err := e.member(e.bound)(r.method, r.addr, r.path, r.body)
		require.NoError(e.t, err)
		require.Equal(e.t, http.StatusBadRequest, resp.Status, "%s: %s", e.bound, resp.Body)
		var tmpl APIError
		require.NoError(e.t, resp.JSON(&tmpl))
		require.Equal(e.t, int(fsm.CodeTaskNotExist), tmpl.Code, tmpl.Msg)
	}
}

// raftPortRefuses: raw Raft RPCs (an AppendEntries probe, a TimeoutNow) on every peer port get
// no answer; in TLS mode a certificate of another CA gets no handshake either.
func (e *securedEnv) raftPortRefuses() {
	e.t.Helper()
	stranger, err := raft.NewTCPTransport("127.0.0.1:0", nil, 1, 3*time.Second, io.Discard)
	require.NoError(e.t, err)
	defer stranger.Close()
	header := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte("intruder")}
	for _, m := range e.masters {
		u, err := url.Parse(m.PeerURL)
		require.NoError(e.t, err)
		target := raft.ServerAddress(u.Host)
		var ae raft.AppendEntriesResponse
		err = stranger.AppendEntries(raft.ServerID(m.Name), target, &raft.AppendEntriesRequest{RPCHeader: header, Term: 1 << 20}, &ae)
		require.Error(e.t, err, "AppendEntries on %s", m.Name)
		require.Zero(e.t, ae.Term, "%s told a stranger its term", m.Name)
		var tn raft.TimeoutNowResponse
		require.Error(e.t, stranger.TimeoutNow(raft.ServerID(m.Name), target, &raft.TimeoutNowRequest{RPCHeader: header}, &tn), "TimeoutNow on %s", m.Name)
		if e.tls {
			other := NewPKI(e.t, e.t.TempDir(), "raft-intruder-ca")
			conf := other.ClientTLS(m.Name)
			conf.RootCAs = e.pki.Pool
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", u.Host, conf)
			if err == nil {
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				_, err = c.Read(make([]byte, 1))
				c.Close()
			}
			require.Error(e.t, err, "a foreign certificate on %s's Raft port", m.Name)
		}
	}
}

// gossipRefuses: a node without the gossip key, or with another, cannot join the masters'
// gossip and sees nobody.
func (e *securedEnv) gossipRefuses() {
	e.t.Helper()
	seeds := e.gossipSeeds()
	for name, key := range map[string][]byte{"no key": nil, "another key": bytes.Repeat([]byte{0x42}, 32)} {
		p, err := membership.Start(membership.Config{Meta: membership.Meta{Role: membership.RoleWorker, Name: "intruder"},
			BindAddr: "127.0.0.1:0", Key: key, Logger: nil})
		require.NoError(e.t, err)
		n, err := p.Join(seeds)
		require.Error(e.t, err, "%s: joined %d", name, n)
		require.Len(e.t, p.Members(), 1, "%s sees nobody", name)
		require.NoError(e.t, p.Shutdown())
	}
}

// replicate migrates a table end to end: the task is created through a follower (with the
// source's relay log on, and the dump files kept, so that the scan sees them), rows written
// before and after reach the target, and dmctl answers.
func (e *securedEnv) replicate() {
	e.t.Helper()
	e.api(http.MethodPost, e.follower, "/api/v1/sources/mysql-sec/start-relay", map[string]any{"worker_name_list": []string{e.bound}}, http.StatusOK)
	e.src.Exec(e.t, "CREATE DATABASE sec")
	e.src.Exec(e.t, "CREATE TABLE sec.t (id INT PRIMARY KEY, v VARCHAR(40))")
	for i := range 50 {
		e.src.Exec(e.t, "INSERT INTO sec.t VALUES (?, ?)", i, fmt.Sprintf("row %d", i))
	}
	e.api(http.MethodPost, e.follower, "/api/v1/tasks", map[string]any{"remove_meta": false, "task": map[string]any{
		"name": "secured", "task_mode": "all", "on_duplicate": "error", "clean_dump_file": false,
		"target_config":      map[string]any{"host": e.dst.Host(), "port": e.dst.Port(), "user": "dmtarget", "password": securedTargetPassword},
		"table_migrate_rule": []map[string]any{{"source": map[string]any{"source_name": "mysql-sec", "schema": "sec", "table": "*"}}},
		"source_config": map[string]any{
			"full_migrate_conf": map[string]any{"data_dir": "./dumped_data"},
			"source_conf":       []map[string]any{{"source_name": "mysql-sec"}},
		},
	}}, http.StatusCreated)
	srcDB, dstDB := e.src.DB(e.t), e.dst.DB(e.t)
	EventuallySame(e.t, srcDB, dstDB, "sec", 60*time.Second)
	for i := 50; i < 80; i++ {
		e.src.Exec(e.t, "INSERT INTO sec.t VALUES (?, ?)", i, fmt.Sprintf("row %d", i))
	}
	e.src.Exec(e.t, "UPDATE sec.t SET v = 'changed' WHERE id < 10")
	EventuallySame(e.t, srcDB, dstDB, "sec", 60*time.Second)
	require.Equal(e.t, int64(80), TableCount(e.t, dstDB, "sec.t"))

	members := e.dmctl(e.follower, "list-member")
	for _, name := range []string{"master1", "master2", "master3", "worker1", "worker2"} {
		require.Contains(e.t, members, `"`+name+`"`)
	}
	require.True(e.t, strings.Contains(e.dmctl(e.leader, "shard-ddl-lock", "secured"), `"locks": []`))
	// The status comes from the worker, which the leader reaches with its member credentials.
	var st listResp[subtaskStatus]
	require.NoError(e.t, e.api(http.MethodGet, e.follower, "/api/v1/tasks/secured/status", nil, http.StatusOK).JSON(&st))
	require.Len(e.t, st.Data, 1)
	require.Nil(e.t, st.Data[0].ErrorMsg)
	require.Equal(e.t, "Sync", st.Data[0].Unit)
}
