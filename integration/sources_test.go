package integration

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

type sourceBody struct {
	SourceName string `json:"source_name"`
	Host       string `json:"host"`
	Port       int    `json:"port"`
	User       string `json:"user"`
	Password   string `json:"password"`
	EnableGtid bool   `json:"enable_gtid"`
	// DM's clients send keys the schema does not have; they must be ignored.
	CaseSensitive bool `json:"case_sensitive"`
}

type sourceStatus struct {
	SourceName string  `json:"source_name"`
	WorkerName string  `json:"worker_name"`
	ErrorMsg   *string `json:"error_msg"`
}

type sourceView struct {
	SourceName string         `json:"source_name"`
	Host       string         `json:"host"`
	Port       int            `json:"port"`
	User       string         `json:"user"`
	Password   string         `json:"password"`
	Purge      map[string]int `json:"purge"`
	StatusList []sourceStatus `json:"status_list"`
}

// apiRecorder sends API calls and keeps every answer, so the test can check afterwards that no
// answer ever carried a password.
type apiRecorder struct {
	t      *testing.T
	bodies []string
}

func (a *apiRecorder) call(method, addr, path string, body any) Response {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := Call(ctx, method, addr, path, body)
	require.NoError(a.t, err, "%s %s", method, path)
	a.bodies = append(a.bodies, string(resp.Body))
	return resp
}

func (a *apiRecorder) bindings(addr string) map[string]string {
	a.t.Helper()
	var l listResp[clusterWorker]
	resp := a.call(http.MethodGet, addr, "/api/v1/cluster/workers", nil)
	require.Equal(a.t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.NoError(a.t, resp.JSON(&l))
	out := map[string]string{}
	for _, w := range l.Data {
		if w.BoundStage == "bound" {
			out[w.BoundSourceName] = w.Name
		}
	}
	return out
}

func TestSourcesLifecycleAndFailover(t *testing.T) {
	const password = "Src-Pa55-Zq81-unique"
	var (
		good, stmt, minimal, noBinlog *MariaDB
		started                       = make(chan struct{}, 4)
	)
	go func() { good = StartMariaDB(t, MariaDBOptions{Binlog: true}); started <- struct{}{} }()
	go func() {
		stmt = StartMariaDB(t, MariaDBOptions{Binlog: true, ExtraConfig: []string{"binlog_format=STATEMENT"}})
		started <- struct{}{}
	}()
	go func() {
		minimal = StartMariaDB(t, MariaDBOptions{Binlog: true, ExtraConfig: []string{"binlog_row_image=MINIMAL"}})
		started <- struct{}{}
	}()
	go func() { noBinlog = StartMariaDB(t, MariaDBOptions{}); started <- struct{}{} }()

	c := NewCluster(t)
	c.UseSecretKey()
	masters := c.StartMasters(3, MasterOptions{})
	c.StartWorker("worker1", 3)
	c.StartWorker("worker2", 3)
	leader := waitLeader(t, masters, 15*time.Second)
	var follower *Proc
	for _, m := range masters {
		if m != leader {
			follower = m
			break
		}
	}
	for range 4 {
		<-started
	}
	require.NotNil(t, good)
	const replGrants = "REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.*"
	for _, db := range []*MariaDB{good, stmt, minimal, noBinlog} {
		db.CreateUser(t, "dm", password, replGrants)
	}
	good.CreateUser(t, "norepl", password, "REPLICATION CLIENT, SELECT, RELOAD ON *.*")
	good.CreateUser(t, "nolock", password, "REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.*")

	api := &apiRecorder{t: t}
	body := func(name string, db *MariaDB, user string) sourceBody {
		return sourceBody{SourceName: name, Host: db.Host(), Port: db.Port(), User: user, Password: password, EnableGtid: true, CaseSensitive: true}
	}
	// Every call goes through a follower, which forwards to the leader.
	addr := follower.APIAddr

	// Bad bodies and bad upstreams: each a 400 that says what to fix.
	bad := []struct {
		name   string
		body   any
		code   fsm.Code
		substr string
	}{
		{"missing host", map[string]any{"source_name": "x", "port": 3306, "user": "u", "password": "p", "enable_gtid": false}, fsm.CodeRequestInvalid, "host"},
		{"port out of range", body("x", good, "dm"), fsm.CodeRequestInvalid, "port"},
		{"unsafe name", body("../x", good, "dm"), fsm.CodeRequestInvalid, "source_name"},
		{"wrong password", sourceBody{SourceName: "x", Host: good.Host(), Port: good.Port(), User: "dm", Password: "wrong-" + password}, fsm.CodeDBDriver, "denied"},
		{"binlog off", body("x", noBinlog, "dm"), fsm.CodeCheckFail, "log_bin"},
		{"statement format", body("x", stmt, "dm"), fsm.CodeCheckFail, "binlog_format"},
		{"minimal row image", body("x", minimal, "dm"), fsm.CodeCheckFail, "binlog_row_image"},
		{"no replication slave", body("x", good, "norepl"), fsm.CodeCheckFail, "REPLICATION SLAVE"},
		{"no reload nor lock tables", body("x", good, "nolock"), fsm.CodeCheckFail, "RELOAD"},
	}
	bad[1].body = sourceBody{SourceName: "x", Host: good.Host(), Port: 70000, User: "dm", Password: password}
	for _, tc := range bad {
		resp := api.call(http.MethodPost, addr, "/api/v1/sources", tc.body)
		e := requireTemplate(t, resp, http.StatusBadRequest)
		require.Equal(t, tc.code, fsm.Code(e.Code), "%s: %s", tc.name, e.Msg)
		require.Contains(t, e.Msg, tc.substr, tc.name)
	}

	// A good source: 201, masked, bound to a worker by the scheduler.
	resp := api.call(http.MethodPost, addr, "/api/v1/sources", body("mysql-01", good, "dm"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	var created sourceView
	require.NoError(t, resp.JSON(&created))
	require.Equal(t, "******", created.Password)
	require.Equal(t, map[string]int{"interval": 3600, "expires": 0, "remain_space": 15}, created.Purge)
	requireAPIError(t, api.call(http.MethodPost, addr, "/api/v1/sources", body("mysql-01", good, "dm")), 400, fsm.CodeSourceExist)

	var boundTo string
	Eventually(t, 10*time.Second, func() error {
		b := api.bindings(addr)
		if boundTo = b["mysql-01"]; boundTo == "" {
			return fmt.Errorf("not bound yet: %v", b)
		}
		return nil
	})
	// The bound worker opened the source: status names it, without an error.
	Eventually(t, 10*time.Second, func() error {
		var st listResp[sourceStatus]
		resp := api.call(http.MethodGet, addr, "/api/v1/sources/mysql-01/status", nil)
		if err := resp.JSON(&st); err != nil {
			return err
		}
		if st.Total != 1 || st.Data[0].WorkerName != boundTo || st.Data[0].ErrorMsg != nil {
			return fmt.Errorf("status %s", resp.Body)
		}
		return nil
	})
	requireAPIError(t, api.call(http.MethodGet, addr, "/api/v1/sources/nope/status", nil), 400, fsm.CodeSourceNotExist)

	// A second source takes the other worker; a third waits, unbound, until a worker appears.
	noGTID := body("mysql-02", good, "dm")
	noGTID.EnableGtid = false
	resp = api.call(http.MethodPost, addr, "/api/v1/sources", noGTID)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	resp = api.call(http.MethodPost, addr, "/api/v1/sources", body("mysql-03", good, "dm"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	Eventually(t, 10*time.Second, func() error {
		if b := api.bindings(addr); len(b) != 2 || b["mysql-03"] != "" {
			return fmt.Errorf("bindings %v", b)
		}
		return nil
	})
	var st listResp[sourceStatus]
	require.NoError(t, api.call(http.MethodGet, addr, "/api/v1/sources/mysql-03/status", nil).JSON(&st))
	require.Equal(t, listResp[sourceStatus]{Total: 1, Data: []sourceStatus{{SourceName: "mysql-03", WorkerName: ""}}}, st)

	var list listResp[sourceView]
	require.NoError(t, api.call(http.MethodGet, addr, "/api/v1/sources", nil).JSON(&list))
	require.Equal(t, 3, list.Total)
	for i, name := range []string{"mysql-01", "mysql-02", "mysql-03"} {
		require.Equal(t, name, list.Data[i].SourceName, "sorted by name")
		require.Equal(t, "******", list.Data[i].Password)
		require.Nil(t, list.Data[i].StatusList)
	}
	require.NoError(t, api.call(http.MethodGet, addr, "/api/v1/sources?with_status=true", nil).JSON(&list))
	for _, s := range list.Data {
		require.Len(t, s.StatusList, 1, "%s", s.SourceName)
	}

	c.StartWorker("worker3", 3)
	Eventually(t, 10*time.Second, func() error {
		if b := api.bindings(addr); b["mysql-03"] != "worker3" {
			return fmt.Errorf("bindings %v", b)
		}
		return nil
	})

	// Transfer: error codes, a no-op, and a real move to a freed worker.
	other := api.bindings(addr)["mysql-02"]
	requireAPIError(t, api.call(http.MethodPost, addr, "/api/v1/sources/mysql-01/transfer", map[string]string{"worker_name": other}), 400, fsm.CodeWorkerInvalidTrans)
	requireAPIError(t, api.call(http.MethodPost, addr, "/api/v1/sources/mysql-01/transfer", map[string]string{"worker_name": "ghost"}), 400, fsm.CodeWorkerNotExist)
	requireAPIError(t, api.call(http.MethodPost, addr, "/api/v1/sources/ghost/transfer", map[string]string{"worker_name": other}), 400, fsm.CodeSourceNotExist)
	resp = api.call(http.MethodPost, addr, "/api/v1/sources/mysql-01/transfer", map[string]string{"worker_name": boundTo})
	require.Equal(t, http.StatusOK, resp.Status, "same worker is a no-op: %s", resp.Body)
	resp = api.call(http.MethodDelete, addr, "/api/v1/sources/mysql-03", nil)
	require.Equal(t, http.StatusNoContent, resp.Status, "%s", resp.Body)
	requireAPIError(t, api.call(http.MethodDelete, addr, "/api/v1/sources/mysql-03", nil), 400, fsm.CodeSourceNotExist)
	resp = api.call(http.MethodPost, addr, "/api/v1/sources/mysql-01/transfer", map[string]string{"worker_name": "worker3"})
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	b := api.bindings(addr)
	require.Equal(t, "worker3", b["mysql-01"])
	require.Len(t, b, 2)

	// Schema browsing, live from the upstream, system schemas left out, odd names quoted.
	good.Exec(t, "CREATE DATABASE `a``b`")
	good.Exec(t, "CREATE TABLE `a``b`.`t2` (id INT PRIMARY KEY)")
	good.Exec(t, "CREATE TABLE `a``b`.`t1` (id INT PRIMARY KEY)")
	good.Exec(t, "CREATE VIEW `a``b`.`v1` AS SELECT 1 AS x")
	good.Exec(t, "CREATE DATABASE shop")
	var schemas []string
	require.NoError(t, api.call(http.MethodGet, addr, "/api/v1/sources/mysql-01/schemas", nil).JSON(&schemas))
	require.Equal(t, []string{"a`b", "shop"}, schemas)
	var tables []string
	resp = api.call(http.MethodGet, addr, "/api/v1/sources/mysql-01/schemas/"+url.PathEscape("a`b"), nil)
	require.NoError(t, resp.JSON(&tables), "%s", resp.Body)
	require.Equal(t, []string{"t1", "t2"}, tables)
	requireTemplate(t, api.call(http.MethodGet, addr, "/api/v1/sources/mysql-01/schemas/nodb", nil), http.StatusBadRequest)
	requireAPIError(t, api.call(http.MethodGet, addr, "/api/v1/sources/ghost/schemas", nil), 400, fsm.CodeSourceNotExist)

	// kill -9 the worker bound to mysql-01: rebound to the free worker within TTL + 10 s.
	b = api.bindings(addr)
	victim := b["mysql-01"]
	free := ""
	for _, w := range []string{"worker1", "worker2", "worker3"} {
		if w != b["mysql-01"] && w != b["mysql-02"] {
			free = w
		}
	}
	var victimProc *Proc
	for _, w := range c.Workers {
		if w.Name == victim {
			victimProc = w
		}
	}
	killed := time.Now()
	victimProc.Kill()
	Eventually(t, 3*time.Second+10*time.Second, func() error {
		if b := api.bindings(addr); b["mysql-01"] != free {
			return fmt.Errorf("bindings %v", b)
		}
		return nil
	})
	t.Logf("mysql-01 rebound from %s to %s %s after kill -9", victim, free, time.Since(killed).Round(time.Millisecond))
	stages, err := workerStages(addr)
	require.NoError(t, err)
	require.Equal(t, "offline", stages[victim])

	// Again, and restart the leader in the middle: the new leader carries on.
	victimProc.Start()
	victimProc.WaitListening(15 * time.Second)
	Eventually(t, 10*time.Second, func() error {
		if st, err := workerStages(addr); err != nil || st[victim] != "free" {
			return fmt.Errorf("stages %v %v", st, err)
		}
		return nil
	})
	var freeProc *Proc
	for _, w := range c.Workers {
		if w.Name == free {
			freeProc = w
		}
	}
	killed = time.Now()
	freeProc.Kill()
	leader = waitLeader(t, masters, 10*time.Second)
	leader.Kill()
	leader.Start()
	leader.WaitListening(15 * time.Second)
	waitLeader(t, masters, 15*time.Second)
	Eventually(t, 3*time.Second+20*time.Second, func() error {
		if b := api.bindings(masters[0].APIAddr); b["mysql-01"] != victim {
			return fmt.Errorf("bindings %v", b)
		}
		return nil
	})
	t.Logf("with a leader restart in between, mysql-01 was rebound to %s %s after kill -9", victim, time.Since(killed).Round(time.Millisecond))

	// The password never left the cluster in clear: not in any answer, log line or master file.
	for _, body := range api.bodies {
		require.NotContains(t, body, password)
	}
	for _, p := range append(append([]*Proc(nil), c.Masters...), c.Workers...) {
		logData, err := os.ReadFile(p.LogPath)
		require.NoError(t, err)
		require.NotContains(t, string(logData), password, "%s log", p.Name)
	}
	for _, m := range c.Masters {
		err := filepath.WalkDir(m.DataDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if strings.Contains(string(data), password) {
				return fmt.Errorf("%s holds the password in clear", path)
			}
			return nil
		})
		require.NoError(t, err)
	}
}
