package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

// TestBinlogSchemaUpdateFrom: a task whose tracker holds a wrong structure stops on the next
// row; dmctl binlog-schema update --from-target (the target table, through the task's routing)
// or --from-source (the upstream table) puts the right one back, and the resumed task brings
// the target level with the source. A schema file still works as before.
func TestBinlogSchemaUpdateFrom(t *testing.T) {
	me := newMigrationEnv(t, 1)
	// The comments tell the two structures apart: CHECKSUM TABLE ignores them.
	me.src.Exec(t, "CREATE DATABASE fix")
	me.src.Exec(t, "CREATE TABLE fix.t (id INT PRIMARY KEY, v VARCHAR(20)) COMMENT 'upstream'")
	me.src.Exec(t, "INSERT INTO fix.t VALUES (1, 'a')")
	me.src.Exec(t, "CREATE DATABASE rt")
	me.src.Exec(t, "CREATE TABLE rt.r (id INT PRIMARY KEY, v VARCHAR(20)) COMMENT 'upstream'")
	me.src.Exec(t, "INSERT INTO rt.r VALUES (1, 'a')")
	me.createSource("mysql-01", me.src)
	task := me.task("fixtask", "all", []string{"mysql-01"}, "fix")
	task["table_migrate_rule"] = append(task["table_migrate_rule"].([]map[string]any), map[string]any{
		"source": map[string]any{"source_name": "mysql-01", "schema": "rt", "table": "r"},
		"target": map[string]any{"schema": "rt_dst", "table": "routed"},
	})
	resp := me.startTask(task)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	me.waitSynced("fixtask", 60*time.Second)
	RequireSameTable(t, me.srcDB, "fix.t", me.dstDB, "fix.t")
	RequireSameTable(t, me.srcDB, "rt.r", me.dstDB, "rt_dst.routed")
	me.dst.Exec(t, "ALTER TABLE fix.t COMMENT 'target'")
	me.dst.Exec(t, "ALTER TABLE rt_dst.routed COMMENT 'routed target'")
	e := dmctlEnv{me: me}

	s := schemaFix{e: e, db: "fix", table: "t", target: "fix.t"}
	s.breakTracker(t, 2)
	s.fix(t, "COMMENT = 'target'", "--from-target")
	s.breakTracker(t, 3)
	s.fix(t, "COMMENT = 'upstream'", "--from-source", "--flush")

	// Routed: the target table has another name, which --from-target reads.
	s = schemaFix{e: e, db: "rt", table: "r", target: "rt_dst.routed"}
	s.breakTracker(t, 2)
	e.fails(t, fsm.CodeOpenAPICommon, "binlog-schema", "update", "fixtask", "fix", "nosuch", "--from-target")
	e.fails(t, fsm.CodeOpenAPICommon, "binlog-schema", "update", "fixtask", "fix", "nosuch", "--from-source")
	s.fix(t, "COMMENT = 'routed target'", "--from-target")

	// Both origins, or a file with one, are refused before anything is sent.
	for _, args := range [][]string{{"--from-source", "--from-target"}, {s.file(t, "CREATE TABLE r (id INT)"), "--from-source"}} {
		r := e.ctl(t, append([]string{"binlog-schema", "update", "fixtask", "rt", "r"}, args...)...)
		require.Equal(t, 2, r.code, "%v: %+v", args, r)
		require.Contains(t, r.stderr, "not both")
	}
}

// schemaFix is one migrated table of fixtask whose tracked structure a test breaks and fixes.
type schemaFix struct {
	e         dmctlEnv
	db, table string
	target    string // the table the rules route it to
}

func (s schemaFix) file(t *testing.T, sql string) string {
	path := filepath.Join(t.TempDir(), "schema.sql")
	require.NoError(t, os.WriteFile(path, []byte(sql), 0o600))
	return path
}

func (s schemaFix) tracked(t *testing.T) string {
	var op dmOp
	s.e.ok(t, &op, "binlog-schema", "list", "-s", "mysql-01", "fixtask", s.db, s.table)
	require.Len(t, op.Sources, 1)
	return op.Sources[0].Msg
}

// breakTracker pauses the task, tracks the table with its column v named w (through a schema
// file, as before the flags existed; the same number of columns, so the sync unit cannot
// tell), resumes it and inserts row id: the target refuses the row and the task stops on it.
func (s schemaFix) breakTracker(t *testing.T, id int) {
	s.e.ok(t, nil, "pause-task", "fixtask")
	s.e.me.waitStage("fixtask", "Paused", 20*time.Second)
	s.e.ok(t, nil, "binlog-schema", "update", "fixtask", s.db, s.table, s.file(t, "CREATE TABLE x (id INT PRIMARY KEY, w VARCHAR(20))"))
	require.Contains(t, s.tracked(t), "`w`")
	s.e.ok(t, nil, "resume-task", "fixtask")
	s.e.me.src.Exec(t, fmt.Sprintf("INSERT INTO %s.%s VALUES (%d, 'row %d')", s.db, s.table, id, id))
	Eventually(t, 30*time.Second, func() error {
		for _, st := range s.e.me.status("fixtask") {
			if st.Stage == "Paused" && st.ErrorMsg != nil && strings.Contains(*st.ErrorMsg, "Unknown column 'w'") {
				return nil
			}
			return fmt.Errorf("subtask is %s, error %v", st.Stage, st.ErrorMsg)
		}
		return fmt.Errorf("no subtask")
	})
	require.Error(t, CompareTable(t.Context(), s.e.me.srcDB, s.db+"."+s.table, s.e.me.dstDB, s.target))
}

// fix updates the tracked structure with flags, checks it is the one wanted (its comment
// names where it came from), resumes the task and waits for the target to catch up.
func (s schemaFix) fix(t *testing.T, comment string, flags ...string) {
	var op dmOp
	s.e.ok(t, &op, append([]string{"binlog-schema", "update", "fixtask", s.db, s.table}, flags...)...)
	require.True(t, op.Result)
	tracked := s.tracked(t)
	require.Contains(t, tracked, "`v`")
	require.NotContains(t, tracked, "`w`")
	require.Contains(t, tracked, comment)
	require.Contains(t, tracked, "CREATE TABLE `"+s.table+"`", "the path names the tracked table, whatever the target calls it")
	s.e.ok(t, nil, "resume-task", "fixtask")
	s.e.me.waitSynced("fixtask", 60*time.Second)
	RequireSameTable(t, s.e.me.srcDB, s.db+"."+s.table, s.e.me.dstDB, s.target)
}
