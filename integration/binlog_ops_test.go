package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// binlogOp is an entry of the binlog operation routes' answers.
type binlogOp struct {
	SourceName string   `json:"source_name"`
	WorkerName string   `json:"worker_name"`
	Op         string   `json:"op"`
	BinlogPos  string   `json:"binlog_pos"`
	Sqls       []string `json:"sqls"`
	Resumed    *bool    `json:"resumed"`
}

// newBinlogOpsEnv is a migration environment with three masters (so that the leader can go)
// and two workers (so that the bound one can).
func newBinlogOpsEnv(t *testing.T) *migrationEnv {
	t.Helper()
	var src, dst *MariaDB
	done := make(chan struct{}, 2)
	go func() { src = StartMariaDB(t, MariaDBOptions{Binlog: true}); done <- struct{}{} }()
	go func() { dst = StartMariaDB(t, MariaDBOptions{}); done <- struct{}{} }()
	c := NewCluster(t)
	c.UseSecretKey()
	masters := c.StartMasters(3, MasterOptions{})
	c.StartWorker("worker1", 3)
	c.StartWorker("worker2", 3)
	waitLeader(t, masters, 20*time.Second)
	<-done
	<-done
	require.NotNil(t, src)
	require.NotNil(t, dst)
	dst.CreateUser(t, "dmtarget", taskPassword, "ALL PRIVILEGES ON *.*")
	e := &migrationEnv{t: t, c: c, masters: masters, api: &apiRecorder{t: t}, addr: masters[0].APIAddr, src: src, dst: dst, srcDB: src.DB(t), dstDB: dst.DB(t)}
	Eventually(t, 20*time.Second, func() error {
		stages, err := workerStages(e.addr)
		if err != nil {
			return err
		}
		for _, w := range []string{"worker1", "worker2"} {
			if stages[w] == "" || stages[w] == "offline" {
				return fmt.Errorf("worker %s is not registered and online yet (%q)", w, stages[w])
			}
		}
		return nil
	})
	return e
}

func (e *migrationEnv) binlogOps(task, query string) []binlogOp {
	e.t.Helper()
	resp := e.api.call(http.MethodGet, e.addr, "/api/v1/tasks/"+task+"/binlog-operations"+query, nil)
	require.Equal(e.t, http.StatusOK, resp.Status, "%s", resp.Body)
	var l listResp[binlogOp]
	require.NoError(e.t, resp.JSON(&l))
	require.Len(e.t, l.Data, l.Total)
	return l.Data
}

// operateBinlog posts an operation; it must be accepted.
func (e *migrationEnv) operateBinlog(task string, body map[string]any) []binlogOp {
	e.t.Helper()
	resp := e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/"+task+"/binlog-operations", body)
	require.Equal(e.t, http.StatusOK, resp.Status, "%s", resp.Body)
	var l listResp[binlogOp]
	require.NoError(e.t, resp.JSON(&l))
	return l.Data
}

// refusedBinlogOp posts an operation that must be refused with code.
func (e *migrationEnv) refusedBinlogOp(task string, body map[string]any, code fsm.Code) string {
	e.t.Helper()
	resp := e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/"+task+"/binlog-operations", body)
	require.Equal(e.t, http.StatusBadRequest, resp.Status, "%s", resp.Body)
	var tmpl APIError
	require.NoError(e.t, resp.JSON(&tmpl))
	require.Equal(e.t, int(code), tmpl.Code, tmpl.Msg)
	return tmpl.Msg
}

// waitNoBinlogOps polls until the task has no pending operation: each was reported done.
func (e *migrationEnv) waitNoBinlogOps(task string) {
	e.t.Helper()
	Eventually(e.t, 30*time.Second, func() error {
		if ops := e.binlogOps(task, ""); len(ops) > 0 {
			return fmt.Errorf("operations still pending: %+v", ops)
		}
		return nil
	})
}

// pausedOnEvent waits until the task's only subtask pauses on a binlog event, and returns its
// error_msg.
func (e *migrationEnv) pausedOnEvent(task string) string {
	e.t.Helper()
	var msg string
	Eventually(e.t, 60*time.Second, func() error {
		st := e.status(task)[0]
		if st.Stage != "Paused" || st.ErrorMsg == nil || !strings.Contains(*st.ErrorMsg, "binlog event at ") {
			return fmt.Errorf("%s on %s: %s", st.Stage, st.WorkerName, deref(st.ErrorMsg))
		}
		msg = *st.ErrorMsg
		return nil
	})
	return msg
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// eventOf returns where the ROWS (or, with query, the QUERY) event of the source's statement
// starts, as SHOW BINLOG EVENTS lists it: "file:pos". MariaDB logs a ROWS event's statement in
// the ANNOTATE_ROWS event before it.
func (e *migrationEnv) eventOf(statement string, query bool) string {
	e.t.Helper()
	var file string
	var pos int64
	require.NoError(e.t, e.srcDB.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, new(string), new(string)))
	rows, err := e.srcDB.Query("SHOW BINLOG EVENTS IN '" + file + "'")
	require.NoError(e.t, err)
	defer rows.Close()
	annotated := false
	for rows.Next() {
		var name, typ, info string
		var at, server, end int64
		require.NoError(e.t, rows.Scan(&name, &at, &typ, &server, &end, &info))
		switch {
		case query && typ == "Query" && strings.Contains(info, statement):
			return fmt.Sprintf("%s:%d", file, at)
		case typ == "Annotate_rows":
			annotated = strings.Contains(info, statement)
		case annotated && strings.HasPrefix(typ, "Write_rows"):
			return fmt.Sprintf("%s:%d", file, at)
		}
	}
	require.NoError(e.t, rows.Err())
	e.t.Fatalf("no event of %q in %s", statement, file)
	return ""
}

// killBoundWorker kills (-9) the worker bound to the source and starts it again, so that a
// worker is spare for the next time; the source moves to the other worker meanwhile.
func (e *migrationEnv) killBoundWorker(source string) {
	e.t.Helper()
	name := e.api.bindings(e.addr)[source]
	for _, p := range e.c.Workers {
		if p.Name == name {
			p.Kill()
			defer p.Start()
		}
	}
	Eventually(e.t, 30*time.Second, func() error {
		if w := e.api.bindings(e.addr)[source]; w == "" || w == name {
			return fmt.Errorf("source %s still bound to %q", source, w)
		}
		return nil
	})
}

// TestBinlogOperations: the operator's day with statements the target rejects. A DDL the
// target refuses pauses the task with its position and statement; `replace` with a fixed
// statement resumes it. A duplicate key from a target-only row pauses it again; `skip`, with the
// worker killed right after, steps over it once. `revert` takes back an armed operation. An
// operation armed ahead at a position is applied when reached, across a leader change and a
// killed worker, exactly once. The data ends equal (row counts and CHECKSUM TABLE).
func TestBinlogOperations(t *testing.T) {
	e := newBinlogOpsEnv(t)
	e.src.Exec(t, "CREATE DATABASE shop")
	e.src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY, v INT)")
	e.src.Exec(t, "INSERT INTO shop.t SELECT seq, seq FROM shop.seq_1_to_10")
	e.createSource("mysql-01", e.src)
	resp := e.startTask(e.task("ops", "all", []string{"mysql-01"}, "shop"))
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	e.waitSynced("ops", 90*time.Second)
	e.dst.Exec(t, "CREATE DATABASE ops")
	e.dst.Exec(t, "CREATE TABLE ops.hits (n INT NOT NULL)")
	e.dst.Exec(t, "INSERT INTO ops.hits VALUES (0)")

	// Nothing to act on: no operation, and no subtask paused on an event.
	require.Empty(t, e.binlogOps("ops", ""))
	msg := e.refusedBinlogOp("ops", map[string]any{"op": "skip"}, fsm.CodeVerifyHandleErrorArgs)
	require.Contains(t, msg, "not paused on a binlog event")

	binlogReplaceDDL(t, e)
	binlogSkipRowsKillWorker(t, e)
	binlogRevert(t, e)
	binlogArmedAheadLeaderChange(t, e)
}

// binlogReplaceDDL: the target has a column of its own under the name the upstream adds.
func binlogReplaceDDL(t *testing.T, e *migrationEnv) {
	e.dst.Exec(t, "ALTER TABLE shop.t ADD COLUMN c VARCHAR(5)")
	e.src.Exec(t, "ALTER TABLE shop.t ADD COLUMN c INT")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (11, 11, 110)")
	msg := e.pausedOnEvent("ops")
	pos := e.eventOf("ADD COLUMN c INT", true)
	require.Contains(t, msg, "binlog event at "+pos+" (GTID 0-")
	require.Contains(t, msg, "ADD COLUMN")
	require.Contains(t, msg, "Duplicate column")
	require.Contains(t, msg, "binlog-operations")

	ops := e.operateBinlog("ops", map[string]any{"op": "replace", "sqls": []string{"ALTER TABLE shop.t MODIFY COLUMN c INT;"}})
	require.Len(t, ops, 1)
	require.Equal(t, "mysql-01", ops[0].SourceName)
	require.Equal(t, pos, ops[0].BinlogPos)
	require.Equal(t, []string{"ALTER TABLE shop.t MODIFY COLUMN c INT"}, ops[0].Sqls)
	require.True(t, *ops[0].Resumed, "the subtask stopped on the event is retried")
	e.waitSynced("ops", 60*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	e.waitNoBinlogOps("ops")
}

// binlogSkipRowsKillWorker: a row the target has already, as the upstream writes it, in a
// transaction with other rows; the worker is killed right after the skip is armed.
func binlogSkipRowsKillWorker(t *testing.T, e *migrationEnv) {
	e.dst.Exec(t, "INSERT INTO shop.t VALUES (20, 20, 200)")
	tx, err := e.srcDB.Begin()
	require.NoError(t, err)
	for _, q := range []string{"INSERT INTO shop.t VALUES (19, 19, 190)", "INSERT INTO shop.t VALUES (20, 20, 200)", "INSERT INTO shop.t VALUES (21, 21, 210)"} {
		_, err := tx.Exec(q)
		require.NoError(t, err, q)
	}
	require.NoError(t, tx.Commit())
	msg := e.pausedOnEvent("ops")
	pos := e.eventOf("INSERT INTO shop.t VALUES (20, 20, 200)", false)
	require.Contains(t, msg, "binlog event at "+pos)
	require.Contains(t, msg, "INSERT INTO `shop`.`t`")
	require.Contains(t, msg, "Duplicate entry")

	ops := e.operateBinlog("ops", map[string]any{"op": "skip", "source_name_list": []string{"mysql-01"}})
	require.Equal(t, pos, ops[0].BinlogPos)
	e.killBoundWorker("mysql-01")
	e.waitSynced("ops", 90*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	e.waitNoBinlogOps("ops")
}

// binlogRevert: an operation armed at a position the stream has not reached is listed until
// taken back; taking back one that is not there is 36065.
func binlogRevert(t *testing.T, e *migrationEnv) {
	var file string
	require.NoError(t, e.srcDB.QueryRow("SHOW MASTER STATUS").Scan(&file, new(int64), new(string), new(string)))
	ahead := file + ":4000000000"
	ops := e.operateBinlog("ops", map[string]any{"op": "skip", "source_name_list": []string{"mysql-01"}, "binlog_pos": ahead})
	require.False(t, *ops[0].Resumed)
	listed := e.binlogOps("ops", "?source_name_list=mysql-01")
	require.Len(t, listed, 1)
	require.Equal(t, ahead, listed[0].BinlogPos)
	require.Equal(t, "skip", listed[0].Op)
	ops = e.operateBinlog("ops", map[string]any{"op": "revert", "source_name_list": []string{"mysql-01"}, "binlog_pos": ahead})
	require.Equal(t, ahead, ops[0].BinlogPos)
	require.Empty(t, e.binlogOps("ops", ""))
	e.refusedBinlogOp("ops", map[string]any{"op": "revert", "source_name_list": []string{"mysql-01"}, "binlog_pos": ahead}, fsm.CodeSyncerOperatorNotExist)
}

// binlogArmedAheadLeaderChange: with the task paused, the upstream writes a row the target has
// already; a replace armed at its event (the row as it is, and a count of its runs in a
// target-only table) survives the leader's death, and a worker killed right after the resume.
func binlogArmedAheadLeaderChange(t *testing.T, e *migrationEnv) {
	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/ops/pause", nil).Status)
	e.waitStage("ops", "Paused", 30*time.Second)
	e.dst.Exec(t, "INSERT INTO shop.t VALUES (30, 30, 300)")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (30, 30, 300)")
	e.src.Exec(t, "INSERT INTO shop.t VALUES (31, 31, 310)")
	pos := e.eventOf("INSERT INTO shop.t VALUES (30, 30, 300)", false)
	ops := e.operateBinlog("ops", map[string]any{"op": "replace", "source_name_list": []string{"mysql-01"}, "binlog_pos": pos,
		"sqls": []string{"UPDATE shop.t SET v = 30 WHERE id = 30; UPDATE ops.hits SET n = n + 1"}})
	require.False(t, *ops[0].Resumed, "a paused task takes the operation with its resume")

	leader := waitLeader(t, e.masters, 20*time.Second)
	leader.Kill()
	var alive []*Proc
	for _, m := range e.masters {
		if m != leader {
			alive = append(alive, m)
		}
	}
	waitLeader(t, alive, 30*time.Second)
	e.addr = alive[0].APIAddr
	listed := e.binlogOps("ops", "")
	require.Len(t, listed, 1, "the operation outlives the leader")
	require.Equal(t, pos, listed[0].BinlogPos)
	require.Equal(t, []string{"UPDATE shop.t SET v = 30 WHERE id = 30", "UPDATE ops.hits SET n = n + 1"}, listed[0].Sqls)

	require.Equal(t, http.StatusOK, e.api.call(http.MethodPost, e.addr, "/api/v1/tasks/ops/resume", nil).Status)
	e.killBoundWorker("mysql-01")
	e.waitSynced("ops", 90*time.Second)
	RequireSameTables(t, e.srcDB, e.dstDB, "shop")
	e.waitNoBinlogOps("ops")
	var n int
	require.NoError(t, e.dstDB.QueryRow("SELECT n FROM ops.hits").Scan(&n))
	require.Equal(t, 1, n, "the replace ran once")
}
