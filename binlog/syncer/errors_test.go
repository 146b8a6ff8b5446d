package syncer

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTargetRestart: the target goes away and comes back; the sync unit retries and converges.
func TestTargetRestart(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB, "CREATE DATABASE tr", "CREATE TABLE tr.t (id INT PRIMARY KEY, v INT)", "CREATE TABLE tr.n (v INT)")
	s := mustNew(t, e.config(t, 4, 10))
	r := e.run(t, s, e.start)
	for i := 0; i < 200; i++ {
		execAll(t, e.srcDB, fmt.Sprintf("INSERT INTO tr.t VALUES (%d, %d)", i, i), fmt.Sprintf("INSERT INTO tr.n VALUES (%d)", i))
		if i == 100 {
			e.tgt.Restart(t)
		}
	}
	e.waitSynced(t, s, r, 40*time.Second)
	e.sameData(t, "tr.t", "tr.n")
	require.NoError(t, r.stop())
}

// TestFatalErrorThenRetry: a duplicate key the target already has stops Run with an error
// naming the table; once the conflict is removed, running again resumes and converges.
func TestFatalErrorThenRetry(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB, "CREATE DATABASE fe", "CREATE TABLE fe.t (id INT PRIMARY KEY, v INT)")
	s := mustNew(t, e.config(t, 2, 10))
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)
	execAll(t, e.tgtDB, "INSERT INTO fe.t VALUES (5, 0)")
	execAll(t, e.srcDB, "INSERT INTO fe.t VALUES (1, 1), (5, 5), (9, 9)")
	var err error
	select {
	case err = <-r.done:
		r.done <- err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop on a duplicate key")
	}
	require.ErrorContains(t, err, "Duplicate entry")
	require.ErrorContains(t, err, "`fe`.`t`")
	require.False(t, s.Status().Synced)

	execAll(t, e.tgtDB, "DELETE FROM fe.t WHERE id = 5")
	r = e.resume(t, s)
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "fe.t")

	// A DDL the target rejects stops Run too.
	execAll(t, e.tgtDB, "DROP TABLE fe.t")
	execAll(t, e.srcDB, "ALTER TABLE fe.t ADD COLUMN w INT")
	select {
	case err = <-r.done:
		r.done <- err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop on a rejected DDL")
	}
	require.ErrorContains(t, err, "apply DDL")
}
