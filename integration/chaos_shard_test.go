package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// faultLeaderKillShardLock: a pessimistic shard-merge task of its own (a fresh schema's table
// on both sources merged into one target table); an ADD COLUMN on the first source leaves a
// shard DDL lock pending on the second; kill -9 of the leader then. The lock must survive the
// new leader, resolve once the second source has the DDL, and every row of both shards land.
func faultLeaderKillShardLock(e *chaosEnv, cfg chaosConfig) string {
	n, schema, task := e.ownTask("shard")
	merged := fmt.Sprintf("merged%d", n)
	for i, s := range e.sources {
		s.db.Exec(e.t, "CREATE DATABASE "+schema)
		s.db.Exec(e.t, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY, v VARCHAR(20))")
		s.db.Exec(e.t, fmt.Sprintf("INSERT INTO %s.t SELECT seq, 'before' FROM %s.seq_%d_to_%d", schema, schema, i*100000+1, i*100000+500))
	}
	body := e.taskBody(task, []string{"mysql-01", "mysql-02"}, func(string) []string { return []string{schema} })
	var rules []map[string]any
	for _, s := range e.sources {
		rules = append(rules, map[string]any{
			"source": map[string]any{"source_name": s.name, "schema": schema, "table": "t"},
			"target": map[string]any{"schema": merged, "table": "t"},
		})
	}
	body["table_migrate_rule"], body["shard_mode"] = rules, "pessimistic"
	e.createTask(body)
	e.waitTaskSyncing(task, 120*time.Second)
	const alter = "ALTER TABLE %s.t ADD COLUMN c VARCHAR(20) NOT NULL DEFAULT 'none'"
	first, second := e.sources[0], e.sources[1]
	first.db.Exec(e.t, fmt.Sprintf(alter, schema))
	first.db.Exec(e.t, fmt.Sprintf("INSERT INTO %s.t VALUES (90001, 'after', 'c')", schema))
	Eventually(e.t, 60*time.Second, func() error { return e.lockPending(task) })
	what := faultLeaderKill(e, cfg)
	Eventually(e.t, 60*time.Second, func() error { return e.lockPending(task) })
	second.db.Exec(e.t, fmt.Sprintf(alter, schema))
	second.db.Exec(e.t, fmt.Sprintf("INSERT INTO %s.t VALUES (190001, 'after', 'c')", schema))
	Eventually(e.t, 120*time.Second, func() error {
		if err := e.taskSyncing(task); err != nil {
			return err
		}
		var want, got int64
		for _, s := range e.sources {
			n, err := Count(e.t.Context(), s.pool, schema+".t WHERE c = 'c' OR c = 'none'")
			if err != nil {
				return err
			}
			want += n
		}
		got, err := Count(e.t.Context(), e.dstPool, merged+".t WHERE c = 'c' OR c = 'none'")
		if err != nil || got != want {
			return fmt.Errorf("%s.t: %d rows with the new column, %d on the sources (%v)", merged, got, want, err)
		}
		return nil
	})
	e.mustCall(http.MethodDelete, "/api/v1/tasks/"+task, nil)
	return fmt.Sprintf("%s: shard DDL lock pending on %s, %s; the lock resolved, every row merged", task, second.name, what)
}

// lockPending is nil when the task has exactly one unresolved shard DDL lock.
func (e *chaosEnv) lockPending(task string) error {
	resp, err := e.call(http.MethodGet, "/api/v1/shard-ddl-locks?task_name="+url.QueryEscape(task), nil)
	if err != nil {
		return err
	}
	var l listResp[struct {
		ID       string `json:"id"`
		Resolved bool   `json:"resolved"`
	}]
	if err := resp.JSON(&l); err != nil {
		return err
	}
	if len(l.Data) != 1 || l.Data[0].Resolved {
		return fmt.Errorf("shard DDL locks of %s: %s", task, resp.Body)
	}
	return nil
}

// taskSyncing is nil when every subtask of task is Running in Sync without an error.
func (e *chaosEnv) taskSyncing(task string) error {
	sts, _, err := e.status(task)
	if err != nil {
		return err
	}
	if len(sts) == 0 {
		return fmt.Errorf("%s has no subtasks", task)
	}
	for _, st := range sts {
		if st.Stage != "Running" || st.Unit != "Sync" || st.ErrorMsg != nil {
			return fmt.Errorf("%s on %s is %s in %s, error %q", task, st.SourceName, st.Stage, st.Unit, deref(st.ErrorMsg))
		}
	}
	return nil
}

func (e *chaosEnv) waitTaskSyncing(task string, timeout time.Duration) {
	e.t.Helper()
	Eventually(e.t, timeout, func() error { return e.taskSyncing(task) })
}
