package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/restapi"
)

func TestMembersView(t *testing.T) {
	masters := []restapi.ClusterMaster{
		{Name: "master1", Addr: "127.0.0.1:8261", Alive: true, Leader: false},
		{Name: "master2", Addr: "127.0.0.1:8361", Alive: true, Leader: true},
		{Name: "master3", Addr: "127.0.0.1:8461", Alive: false},
	}
	workers := []restapi.ClusterWorker{
		{Name: "worker1", Addr: "127.0.0.1:8262", BoundStage: "bound", BoundSourceName: "mysql-01"},
		{Name: "worker2", Addr: "127.0.0.1:8263", BoundStage: "free"},
	}
	all := memberSelection{leader: true, master: true, worker: true}
	v := membersView(all, masters, workers, "http")
	require.JSONEq(t, `{"result":true,"msg":"","members":[
		{"leader":{"msg":"","name":"master2","addr":"127.0.0.1:8361"}},
		{"master":{"msg":"","masters":[
			{"name":"master1","alive":true,"peerURLs":[],"clientURLs":["http://127.0.0.1:8261"]},
			{"name":"master2","alive":true,"peerURLs":[],"clientURLs":["http://127.0.0.1:8361"]},
			{"name":"master3","alive":false,"peerURLs":[],"clientURLs":["http://127.0.0.1:8461"]}]}},
		{"worker":{"msg":"","workers":[
			{"name":"worker1","addr":"127.0.0.1:8262","stage":"bound","source":"mysql-01"},
			{"name":"worker2","addr":"127.0.0.1:8263","stage":"free","source":""}]}}]}`, encode(t, v.dm))

	var b bytes.Buffer
	require.NoError(t, printer{format: formatTable, w: &b}.show(v))
	require.Equal(t, strings.Join([]string{
		"ROLE     NAME      ADDR             STATE    SOURCE",
		"master   master1   127.0.0.1:8261   alive    -",
		"master   master2   127.0.0.1:8361   leader   -",
		"master   master3   127.0.0.1:8461   down     -",
		"worker   worker1   127.0.0.1:8262   bound    mysql-01",
		"worker   worker2   127.0.0.1:8263   free     -",
	}, "\n")+"\n", b.String())

	v = membersView(memberSelection{worker: true, names: []string{"worker2"}}, nil, workers, "http")
	require.JSONEq(t, `{"result":true,"msg":"","members":[{"worker":{"msg":"","workers":[{"name":"worker2","addr":"127.0.0.1:8263","stage":"free","source":""}]}}]}`, encode(t, v.dm))
	v = membersView(memberSelection{leader: true}, masters[:1], nil, "https")
	require.JSONEq(t, `{"result":true,"msg":"","members":[{"leader":{"msg":"no leader is elected","name":"","addr":""}}]}`, encode(t, v.dm))
}

// TestTaskOps: pause/resume/stop-task read the subtasks (for DM's per-source answer), then
// send the operation with the sources of -s.
func TestTaskOps(t *testing.T) {
	status := `{"total":2,"data":[{"name":"t","source_name":"mysql-01","worker_name":"worker1","stage":"Running","unit":"Sync"},` +
		`{"name":"t","source_name":"mysql-02","worker_name":"worker2","stage":"Running","unit":"Sync"}]}`
	srv, reqs := fakeRoutes(t, func(r *http.Request) (int, string) {
		if strings.HasSuffix(r.URL.Path, "/status") {
			return http.StatusOK, status
		}
		if r.Method == http.MethodDelete {
			return http.StatusNoContent, ""
		}
		return http.StatusOK, ""
	})
	r := dmctl(t, srv.URL, "pause-task", "t")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.JSONEq(t, `{"op":"Pause","result":true,"msg":"","sources":[
		{"result":true,"msg":"","source":"mysql-01","worker":"worker1"},{"result":true,"msg":"","source":"mysql-02","worker":"worker2"}]}`, r.stdout)
	r = dmctl(t, srv.URL, "resume-task", "-s", "mysql-01", "t")
	require.Equal(t, exitOK, r.code)
	require.Equal(t, "Resume", jsonOf(t, r)["op"])
	r = dmctl(t, srv.URL, "-s", "mysql-01,mysql-02", "-o", "table", "stop-task", "t")
	require.Equal(t, exitOK, r.code)
	require.Regexp(t, `(?m)^SOURCE\s+WORKER\s+RESULT\s+MESSAGE$`, r.stdout)
	require.Regexp(t, `(?m)^mysql-02\s+worker2\s+ok\s*$`, r.stdout)

	got := reqs()
	require.Len(t, got, 6)
	require.Equal(t, seen{method: "POST", rawPath: "/api/v1/tasks/t/pause", path: "/api/v1/tasks/t/pause"}, got[1], "all sources: no body")
	require.Equal(t, "source_name_list=mysql-01", got[2].query)
	require.Equal(t, "/api/v1/tasks/t/resume", got[3].path)
	require.JSONEq(t, `["mysql-01"]`, got[3].body)
	require.Equal(t, "DELETE", got[5].method)
	require.Equal(t, "source_name_list=mysql-01&source_name_list=mysql-02", got[5].query)
}

// TestEncryptDecrypt: what encrypt prints opens with the cluster's key, the way the masters
// open secrets; another key cannot; without a key, a usage error saying why.
func TestEncryptDecrypt(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "secret.key")
	otherPath := filepath.Join(dir, "other.key")
	require.NoError(t, os.WriteFile(keyPath, []byte(strings.Repeat("ab", 32)+"\n"), 0o600))
	require.NoError(t, os.WriteFile(otherPath, []byte(strings.Repeat("cd", 32)), 0o600))

	r := dmctlEnv(t, nil, "--secret-key-path", keyPath, "encrypt", "Pa55-w0rd")
	require.Equal(t, exitOK, r.code, "%+v", r)
	enc := strings.TrimSpace(r.stdout)
	require.NotContains(t, enc, "Pa55")
	key, err := security.ReadSecretKey(keyPath)
	require.NoError(t, err)
	c, err := security.NewCipher(key)
	require.NoError(t, err)
	plain, err := c.Decrypt(enc)
	require.NoError(t, err)
	require.Equal(t, "Pa55-w0rd", plain)

	r = dmctlEnv(t, nil, "--secret-key-path", keyPath, "decrypt", enc)
	require.Equal(t, exitOK, r.code)
	require.Equal(t, "Pa55-w0rd\n", r.stdout)
	conf := filepath.Join(dir, "dmctl.toml")
	require.NoError(t, os.WriteFile(conf, []byte("secret-key-path = \""+keyPath+"\"\n"), 0o600))
	r = dmctlEnv(t, nil, "--config", conf, "decrypt", enc)
	require.Equal(t, "Pa55-w0rd\n", r.stdout, "the key from the config file")

	r = dmctlEnv(t, nil, "--secret-key-path", otherPath, "decrypt", enc)
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, jsonOf(t, r)["msg"], "cannot be decrypted with this key")

	r = dmctlEnv(t, nil, "encrypt", "Pa55-w0rd")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "--secret-key-path")
	require.Contains(t, r.stderr, "no built-in key")
	r = dmctlEnv(t, nil, "--secret-key-path", filepath.Join(dir, "missing"), "encrypt", "x")
	require.Equal(t, exitFailure, r.code)
}

// TestOperateSourceShow maps the sources and their bindings into DM's answer.
func TestOperateSourceShow(t *testing.T) {
	srv, _ := fakeRoutes(t, func(r *http.Request) (int, string) {
		switch r.URL.Path {
		case "/api/v1/sources":
			return http.StatusOK, `{"total":2,"data":[{"source_name":"mysql-01","host":"db1","port":3306,"user":"dm","password":"******","enable_gtid":true},` +
				`{"source_name":"mysql-02","host":"db2","port":3307,"user":"dm","password":"******"}]}`
		default:
			return http.StatusOK, `{"total":1,"data":[{"name":"worker1","addr":"127.0.0.1:8262","bound_stage":"bound","bound_source_name":"mysql-01"}]}`
		}
	})
	r := dmctl(t, srv.URL, "operate-source", "show")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.JSONEq(t, `{"result":true,"msg":"","sources":[
		{"result":true,"msg":"","source":"mysql-01","worker":"worker1"},
		{"result":true,"msg":"source is added but there is no free worker to bound","source":"mysql-02","worker":""}]}`, r.stdout)
	r = dmctl(t, srv.URL, "-o", "table", "operate-source", "show", "-s", "mysql-02")
	require.Equal(t, exitOK, r.code)
	require.Equal(t, "SOURCE     WORKER   HOST   PORT   USER   GTID\nmysql-02   -        db2    3307   dm     false\n", r.stdout)
	r = dmctl(t, srv.URL, "operate-source", "show", "mysql-09")
	require.Equal(t, exitFailure, r.code)
	require.Equal(t, float64(fsm.CodeSourceNotExist), jsonOf(t, r)["code"])
}

// TestRelayDefaults: without workers, start-relay uses the source's bound worker and
// stop-relay the workers whose report has a relay log; a source without a bound worker is a
// clear failure, not a call with no workers.
func TestRelayDefaults(t *testing.T) {
	srv, reqs := fakeRoutes(t, func(r *http.Request) (int, string) {
		switch r.URL.Path {
		case "/api/v1/cluster/workers":
			return http.StatusOK, `{"total":3,"data":[{"name":"w1","addr":"a1","bound_stage":"bound","bound_source_name":"mysql-01"},` +
				`{"name":"w2","addr":"a2","bound_stage":"relay","bound_source_name":"mysql-01"},{"name":"w3","addr":"a3","bound_stage":"free","bound_source_name":""}]}`
		case "/api/v1/sources/mysql-01/status":
			return http.StatusOK, `{"total":2,"data":[{"source_name":"mysql-01","worker_name":"w1"},` +
				`{"source_name":"mysql-01","worker_name":"w2","relay_status":{"master_binlog":"","master_binlog_gtid":"","relay_dir":"","relay_binlog_gtid":"","relay_catch_up_master":true,"stage":"Running"}}]}`
		default:
			return http.StatusOK, ""
		}
	})
	r := dmctl(t, srv.URL, "start-relay", "-s", "mysql-01")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.JSONEq(t, `{"result":true,"msg":"","sources":[{"result":true,"msg":"","source":"mysql-01","worker":"w1"}]}`, r.stdout)
	r = dmctl(t, srv.URL, "stop-relay", "-s", "mysql-01")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.JSONEq(t, `{"result":true,"msg":"","sources":[{"result":true,"msg":"","source":"mysql-01","worker":"w2"}]}`, r.stdout)
	r = dmctl(t, srv.URL, "pause-relay", "-s", "mysql-01")
	require.JSONEq(t, `{"op":"PauseRelay","result":true,"msg":"","sources":[{"result":true,"msg":"","source":"mysql-01","worker":"w1"},{"result":true,"msg":"","source":"mysql-01","worker":"w2"}]}`, r.stdout)
	r = dmctl(t, srv.URL, "start-relay", "-s", "mysql-02")
	require.Equal(t, exitFailure, r.code)
	require.Contains(t, jsonOf(t, r)["msg"], "no bound worker")

	var posts []seen
	for _, q := range reqs() {
		if q.method == http.MethodPost {
			posts = append(posts, q)
		}
	}
	require.Len(t, posts, 3)
	require.Equal(t, "/api/v1/sources/mysql-01/start-relay", posts[0].path)
	require.JSONEq(t, `{"worker_name_list":["w1"]}`, posts[0].body)
	require.Equal(t, "/api/v1/sources/mysql-01/stop-relay", posts[1].path)
	require.JSONEq(t, `{"worker_name_list":["w2"]}`, posts[1].body)
	require.Equal(t, "/api/v1/sources/mysql-01/pause-relay", posts[2].path)
	require.Empty(t, posts[2].body)
}

// TestPurgeRelay: purge-relay posts DM's filename (and sub-dir) to the source's purge route
// and prints each relay worker's removal in DM's shape; a master's error is exit 1 with its
// code.
func TestPurgeRelay(t *testing.T) {
	srv, reqs := fakeRoutes(t, func(r *http.Request) (int, string) {
		if r.URL.Path == "/api/v1/sources/ghost/relay/purge" {
			return http.StatusBadRequest, `{"error_msg":"source \"ghost\" does not exist","error_code":46008}`
		}
		return http.StatusOK, `{"total":1,"data":[{"worker_name":"w2","relay_dir":"/r/mysql-01",` +
			`"purged_files":["mysql-bin.000001","mysql-bin.000002"],"kept_from":"mysql-bin.000003","msg":""}]}`
	})
	r := dmctl(t, srv.URL, "purge-relay", "-s", "mysql-01", "-f", "mysql-bin.000003", "--sub-dir", "mysql-01")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.JSONEq(t, `{"result":true,"msg":"","sources":[{"result":true,"source":"mysql-01","worker":"w2",`+
		`"msg":"purged mysql-bin.000001, mysql-bin.000002; kept from mysql-bin.000003"}]}`, r.stdout)
	r = dmctl(t, srv.URL, "-o", "table", "purge-relay", "-s", "mysql-01", "-f", "mysql-bin.000003")
	require.Equal(t, exitOK, r.code, "%+v", r)
	require.Regexp(t, `mysql-01\s+w2\s+mysql-bin.000001,mysql-bin.000002\s+mysql-bin.000003\s+-`, r.stdout)
	r = dmctl(t, srv.URL, "purge-relay", "-s", "ghost", "-f", "mysql-bin.000003")
	require.Equal(t, exitFailure, r.code, "%+v", r)
	require.Equal(t, float64(fsm.CodeSourceNotExist), jsonOf(t, r)["code"])
	for _, bad := range [][]string{{"purge-relay", "-f", "mysql-bin.000003"}, {"purge-relay", "-s", "a", "-s", "b", "-f", "x.000001"}, {"purge-relay", "-s", "mysql-01", "extra", "-f", "x.000001"}} {
		require.Equal(t, exitUsage, dmctl(t, srv.URL, bad...).code, "dmctl %v", bad)
	}

	got := reqs()
	require.Len(t, got, 3)
	require.Equal(t, "/api/v1/sources/mysql-01/relay/purge", got[0].path)
	require.JSONEq(t, `{"relay_binlog_name":"mysql-bin.000003","relay_dir":"mysql-01"}`, got[0].body)
	require.JSONEq(t, `{"relay_binlog_name":"mysql-bin.000003"}`, got[1].body)
}

// TestSchemaUpdateBodies: binlog-schema update sends the file's statement, or asks the worker
// to read the upstream (--from-source) or the target table (--from-target), to each source.
func TestSchemaUpdateBodies(t *testing.T) {
	status := `{"total":1,"data":[{"name":"t","source_name":"mysql-01","worker_name":"worker1","stage":"Paused","unit":"Sync"}]}`
	srv, reqs := fakeRoutes(t, func(r *http.Request) (int, string) {
		if strings.HasSuffix(r.URL.Path, "/status") {
			return http.StatusOK, status
		}
		return http.StatusOK, ""
	})
	file := filepath.Join(t.TempDir(), "t.sql")
	require.NoError(t, os.WriteFile(file, []byte("CREATE TABLE tbl (id INT)"), 0o600))
	for _, c := range []struct {
		args []string
		body string
	}{
		{[]string{file}, `{"sql_content":"CREATE TABLE tbl (id INT)","flush":true,"sync":true}`},
		{[]string{"--from-source", "--flush=false"}, `{"from_source":true,"flush":false,"sync":true}`},
		{[]string{"--from-target"}, `{"from_target":true,"flush":true,"sync":true}`},
	} {
		r := dmctl(t, srv.URL, append([]string{"binlog-schema", "update", "t", "db", "tbl"}, c.args...)...)
		require.Equal(t, exitOK, r.code, "%v: %+v", c.args, r)
		got := reqs()
		put := got[len(got)-1]
		require.Equal(t, "PUT", put.method)
		require.Equal(t, "/api/v1/tasks/t/sources/mysql-01/schemas/db/tbl", put.path)
		require.JSONEq(t, c.body, put.body, "%v", c.args)
	}
}
