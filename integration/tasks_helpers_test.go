package integration

import (
	"database/sql"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// migrationEnv is a source and a target MariaDB plus a dm cluster with one source created.
type migrationEnv struct {
	t       *testing.T
	c       *Cluster
	masters []*Proc
	api     *apiRecorder
	addr    string
	src     *MariaDB
	dst     *MariaDB
	srcDB   *sql.DB
	dstDB   *sql.DB
}

const taskPassword = "Tgt-Pa55-unique-91"

func newMigrationEnv(t *testing.T, workers int) *migrationEnv {
	t.Helper()
	return newMigrationEnvWith(t, workers, MariaDBOptions{})
}

// newMigrationEnvWith is newMigrationEnv with options for the target server.
func newMigrationEnvWith(t *testing.T, workers int, target MariaDBOptions) *migrationEnv {
	t.Helper()
	var src, dst *MariaDB
	done := make(chan struct{}, 2)
	go func() { src = StartMariaDB(t, MariaDBOptions{Binlog: true}); done <- struct{}{} }()
	go func() { dst = StartMariaDB(t, target); done <- struct{}{} }()
	c := NewCluster(t)
	c.UseSecretKey()
	masters := c.StartMasters(1, MasterOptions{})
	for i := range workers {
		c.StartWorker(fmt.Sprintf("worker%d", i+1), 3)
	}
	waitLeader(t, masters, 15*time.Second)
	// A worker registers once a leader is elected, after a back-off of up to seconds: wait for
	// every one, so that a test may name any of them.
	Eventually(t, 15*time.Second, func() error {
		stages, err := workerStages(masters[0].APIAddr)
		if err != nil {
			return err
		}
		for i := range workers {
			if name := fmt.Sprintf("worker%d", i+1); stages[name] == "" || stages[name] == "offline" {
				return fmt.Errorf("worker %s is not registered and online yet (%q)", name, stages[name])
			}
		}
		return nil
	})
	<-done
	<-done
	require.NotNil(t, src)
	require.NotNil(t, dst)
	dst.CreateUser(t, "dmtarget", taskPassword, "ALL PRIVILEGES ON *.*")
	e := &migrationEnv{t: t, c: c, masters: masters, api: &apiRecorder{t: t}, addr: masters[0].APIAddr, src: src, dst: dst, srcDB: src.DB(t), dstDB: dst.DB(t)}
	return e
}

func (e *migrationEnv) createSource(name string, db *MariaDB) {
	e.t.Helper()
	resp := e.api.call(http.MethodPost, e.addr, "/api/v1/sources", map[string]any{
		"source_name": name, "host": db.Host(), "port": db.Port(), "user": db.User(), "password": db.Password(), "enable_gtid": true,
	})
	require.Equal(e.t, http.StatusCreated, resp.Status, "%s", resp.Body)
	Eventually(e.t, 15*time.Second, func() error {
		if w := e.api.bindings(e.addr)[name]; w == "" {
			return fmt.Errorf("source %s not bound", name)
		}
		return nil
	})
}

// task builds a task body migrating the given schemas of the given sources.
func (e *migrationEnv) task(name, mode string, sources []string, schemas ...string) map[string]any {
	return taskBody(name, mode, e.dst, sources, func(string) []string { return schemas })
}

// taskBody is a task migrating the schemas(source) of each source to dst, as the dmtarget
// user, with 4 dump and load threads and 8 replay workers.
func taskBody(name, mode string, dst *MariaDB, sources []string, schemas func(source string) []string) map[string]any {
	var rules []map[string]any
	var conf []map[string]any
	for _, s := range sources {
		for _, schema := range schemas(s) {
			rules = append(rules, map[string]any{"source": map[string]any{"source_name": s, "schema": schema, "table": "*"}})
		}
		conf = append(conf, map[string]any{"source_name": s})
	}
	return map[string]any{
		"name": name, "task_mode": mode, "on_duplicate": "error", "enhance_online_schema_change": true,
		"target_config":      map[string]any{"host": dst.Host(), "port": dst.Port(), "user": "dmtarget", "password": taskPassword},
		"table_migrate_rule": rules,
		"source_config": map[string]any{
			"full_migrate_conf": map[string]any{"export_threads": 4, "import_threads": 4, "data_dir": "./dumped_data"},
			"incr_migrate_conf": map[string]any{"repl_threads": 8, "repl_batch": 100},
			"source_conf":       conf,
		},
	}
}

func (e *migrationEnv) startTask(task map[string]any) Response {
	e.t.Helper()
	return e.api.call(http.MethodPost, e.addr, "/api/v1/tasks", map[string]any{"remove_meta": false, "task": task})
}

type subtaskStatus struct {
	Name       string  `json:"name"`
	SourceName string  `json:"source_name"`
	WorkerName string  `json:"worker_name"`
	Stage      string  `json:"stage"`
	Unit       string  `json:"unit"`
	ErrorMsg   *string `json:"error_msg"`
	LoadStatus *struct {
		FinishedBytes int64  `json:"finished_bytes"`
		TotalBytes    int64  `json:"total_bytes"`
		Progress      string `json:"progress"`
		MetaBinlog    string `json:"meta_binlog"`
	} `json:"load_status"`
	SyncStatus *struct {
		TotalEvents         int64  `json:"total_events"`
		Synced              bool   `json:"synced"`
		SecondsBehindMaster int64  `json:"seconds_behind_master"`
		SyncerBinlog        string `json:"syncer_binlog"`
		SyncerBinlogGtid    string `json:"syncer_binlog_gtid"`
		MasterBinlog        string `json:"master_binlog"`
		MasterBinlogGtid    string `json:"master_binlog_gtid"`
		BinlogType          string `json:"binlog_type"`
	} `json:"sync_status"`
}

func (e *migrationEnv) status(task string) []subtaskStatus {
	e.t.Helper()
	var l listResp[subtaskStatus]
	resp := e.api.call(http.MethodGet, e.addr, "/api/v1/tasks/"+task+"/status", nil)
	require.Equal(e.t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.NoError(e.t, resp.JSON(&l))
	return l.Data
}

// syncedShopTask starts an `all` task of shop.t (1000 rows) from one source and waits until
// it is synced.
func syncedShopTask(t *testing.T, task string) *migrationEnv {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(40))")
	e.src.Exec(t, "INSERT INTO shop.t SELECT seq, MD5(seq) FROM shop.seq_1_to_1000")
	e.createSource("mysql-01", e.src)
	resp := e.startTask(e.task(task, "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced(task, 60*time.Second)
	return e
}

// stoppedOnError tells a subtask stopped on an error from one that is on its way again: a
// resume (or a binlog operation) acknowledged by the API reaches the worker a moment later, so
// a Paused subtask may still show the error it is being resumed from, and a Running subtask
// with an error_msg is retrying (the target restarting, a transient error) and not stopped. A
// wait fails once a subtask has stayed Paused with an error for stoppedErrorGrace.
type stoppedOnError map[string]time.Time

const stoppedErrorGrace = 3 * time.Second

func (s stoppedOnError) failed(st subtaskStatus) bool {
	key := st.Name + "/" + st.SourceName
	if st.Stage != "Paused" || st.ErrorMsg == nil {
		delete(s, key)
		return false
	}
	first, ok := s[key]
	if !ok {
		s[key] = time.Now()
		return false
	}
	return time.Since(first) >= stoppedErrorGrace
}

// check is the poll's answer for a subtask with an error_msg: t fails once it has stopped on
// it (failed), else the poll goes on.
func (s stoppedOnError) check(t testing.TB, st subtaskStatus) error {
	t.Helper()
	if s.failed(st) {
		t.Fatalf("subtask %s/%s failed: %s", st.Name, st.SourceName, *st.ErrorMsg)
	}
	return fmt.Errorf("%s/%s is %s with %q", st.Name, st.SourceName, st.Stage, *st.ErrorMsg)
}

// waitStage polls until every subtask reaches stage (failing early on an error_msg unless
// the stage wanted is Paused).
func (e *migrationEnv) waitStage(task, stage string, timeout time.Duration) []subtaskStatus {
	e.t.Helper()
	var last []subtaskStatus
	stopped := stoppedOnError{}
	Eventually(e.t, timeout, func() error {
		last = e.status(task)
		if len(last) == 0 {
			return fmt.Errorf("no subtasks")
		}
		for _, st := range last {
			if stage != "Paused" && st.ErrorMsg != nil {
				return stopped.check(e.t, st)
			}
			if st.Stage != stage {
				return fmt.Errorf("%s/%s is %s (%s), want %s", st.Name, st.SourceName, st.Stage, st.Unit, stage)
			}
		}
		return nil
	})
	return last
}

// waitSynced polls until every subtask is in Sync, synced, with no lag, and its checkpoint is
// the source's current GTID position (so "synced" is checked against the truth).
func (e *migrationEnv) waitSynced(task string, timeout time.Duration) {
	e.t.Helper()
	stopped := stoppedOnError{}
	Eventually(e.t, timeout, func() error {
		var gtid string
		if err := e.srcDB.QueryRow("SELECT @@gtid_binlog_pos").Scan(&gtid); err != nil {
			return err
		}
		for _, st := range e.status(task) {
			if st.ErrorMsg != nil {
				return stopped.check(e.t, st)
			}
			if st.Unit != "Sync" || st.SyncStatus == nil {
				return fmt.Errorf("%s/%s not syncing yet: %s on %s", st.Name, st.SourceName, st.Unit, st.WorkerName)
			}
			if ss := st.SyncStatus; !ss.Synced || ss.SecondsBehindMaster != 0 {
				return fmt.Errorf("%s/%s on %s not synced: %+v", st.Name, st.SourceName, st.WorkerName, *ss)
			}
			if st.SyncStatus.SyncerBinlogGtid != gtid || st.SyncStatus.MasterBinlogGtid != gtid {
				return fmt.Errorf("%s/%s: syncer at %q, master at %q, source at %q", st.Name, st.SourceName, st.SyncStatus.SyncerBinlogGtid, st.SyncStatus.MasterBinlogGtid, gtid)
			}
		}
		return nil
	})
}

// seedTypes creates tables covering the value types users migrate.
func seedTypes(t *testing.T, db *MariaDB, schema string) {
	t.Helper()
	stmts := []string{
		"CREATE DATABASE " + schema,
		"CREATE TABLE " + schema + ".nums (id INT PRIMARY KEY, i TINYINT, u INT UNSIGNED, b BIGINT UNSIGNED, d DECIMAL(20,6), f DOUBLE)",
		"INSERT INTO " + schema + ".nums VALUES (1, -128, 4294967295, 18446744073709551615, -12345678901234.123456, 3.5), (2, 127, 0, 0, 0.000001, NULL), (3, NULL, NULL, NULL, NULL, -1e300)",
		"CREATE TABLE " + schema + ".times (id INT PRIMARY KEY, dt DATETIME(6), ts TIMESTAMP(3) NULL, d DATE, tm TIME(2), y YEAR)",
		"INSERT INTO " + schema + ".times VALUES (1, '2026-11-24 12:34:56.123456', '2026-01-01 00:00:01.5', '1999-12-31', '-838:59:59.00', 2026), (2, NULL, NULL, NULL, NULL, NULL)",
		"CREATE TABLE " + schema + ".docs (id BIGINT AUTO_INCREMENT PRIMARY KEY, j JSON, t TEXT CHARACTER SET utf8mb4, bl BLOB, e ENUM('a','b','c'), s SET('x','y','z'))",
		"INSERT INTO " + schema + ".docs (j, t, bl, e, s) VALUES ('{\"k\": [1, 2, {\"z\": null}]}', 'héllo 🐬 wörld', X'00FF27225C0A', 'b', 'x,z'), (NULL, NULL, NULL, NULL, NULL), ('[]', '', '', 'a', '')",
		"CREATE TABLE " + schema + ".nokey (a INT, b VARCHAR(20))",
		"INSERT INTO " + schema + ".nokey VALUES (1, 'x'), (1, 'x'), (2, NULL), (NULL, NULL)",
		"CREATE TABLE " + schema + ".uk (code VARCHAR(10) NOT NULL, v INT, UNIQUE KEY (code))",
		"INSERT INTO " + schema + ".uk VALUES ('a', 1), ('b', 2)",
	}
	for _, q := range stmts {
		db.Exec(t, q)
	}
}

// writer runs random inserts, updates and deletes on schema.w (created here) and on the
// no-key table until stop is closed.
func startWriter(t *testing.T, db *sql.DB, schema string, stop <-chan struct{}) <-chan error {
	t.Helper()
	_, err := db.Exec("CREATE TABLE IF NOT EXISTS " + schema + ".w (id INT PRIMARY KEY, v INT, note VARCHAR(40))")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		i := 0
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			i++
			var err error
			switch i % 5 {
			case 0, 1:
				_, err = db.Exec("INSERT INTO "+schema+".w VALUES (?, ?, ?)", i, i, fmt.Sprintf("row %d", i))
			case 2:
				_, err = db.Exec("UPDATE "+schema+".w SET v = v + 1 WHERE id = ?", i-1)
			case 3:
				_, err = db.Exec("DELETE FROM "+schema+".w WHERE id = ?", i-3)
			case 4:
				_, err = db.Exec("INSERT INTO "+schema+".nokey VALUES (?, 'w')", i%7)
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	return done
}
