package integration

import (
	"fmt"
	"net/http"
	"time"
)

// The main task is past its full load after the first seconds, so the faults that must hit a
// dump or a load run a task of their own: a fresh schema of a random source with one table big
// enough for the load to take seconds, an `all` task over it, the fault once its subtask is in
// the unit wanted, then every row must be there and the subtask replicating.

const chaosLoadRows = 300000

// faultLeaderKillDuringLoad: kill -9 of the leader while a subtask loads.
func faultLeaderKillDuringLoad(e *chaosEnv, cfg chaosConfig) string {
	return duringLoad(e, "Load", func() string { return faultLeaderKill(e, cfg) })
}

// faultLeaderKillDuringDump: kill -9 of the leader while a subtask dumps (or, when the dump
// was quicker than the poll, early in its load).
func faultLeaderKillDuringDump(e *chaosEnv, cfg chaosConfig) string {
	return duringLoad(e, "Dump", func() string { return faultLeaderKill(e, cfg) })
}

// faultTargetRestartDuringLoad: the target restarts while a subtask loads.
func faultTargetRestartDuringLoad(e *chaosEnv, cfg chaosConfig) string {
	return duringLoad(e, "Load", func() string { return faultTargetRestart(e, cfg) })
}

func duringLoad(e *chaosEnv, unit string, fault func() string) string {
	e.t.Helper()
	s := e.randomSource()
	_, schema, task := e.ownTask("bulk")
	s.db.Exec(e.t, "CREATE DATABASE "+schema)
	s.db.Exec(e.t, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY, k INT, v VARCHAR(100))")
	s.db.Exec(e.t, fmt.Sprintf("INSERT INTO %s.t SELECT seq, seq %% 1000, MD5(seq) FROM %s.seq_1_to_%d", schema, schema, chaosLoadRows))
	body := e.taskBody(task, []string{s.name}, func(string) []string { return []string{schema} })
	e.createTask(body)
	var seen string
	Eventually(e.t, 60*time.Second, func() error {
		sts, _, err := e.status(task)
		if err != nil || len(sts) != 1 {
			return fmt.Errorf("status of %s: %v", task, err)
		}
		seen = sts[0].Unit
		if seen == unit || (unit == "Dump" && seen == "Load") {
			return nil
		}
		if seen == "Sync" {
			e.t.Fatalf("chaos: %s reached Sync before the fault could hit its %s: make chaosLoadRows bigger", task, unit)
		}
		return fmt.Errorf("%s is in %q", task, seen)
	})
	what := fault()
	e.waitSyncedEqual(task, s, schema+".t", 180*time.Second)
	e.mustCall(http.MethodDelete, "/api/v1/tasks/"+task, nil)
	return fmt.Sprintf("%s (%d rows of %s) in %s: %s; every row loaded", task, chaosLoadRows, s.name, seen, what)
}
