package integration

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// buildExample builds one program of cmd/examples into a temporary directory.
func buildExample(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/examples/"+name)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build %s: %s", name, out)
	return bin
}

// example is an example program running in the background.
type example struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan error
}

func startExample(t *testing.T, bin string, env []string, args ...string) *example {
	t.Helper()
	e := &example{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	e.cmd.Env = append(os.Environ(), env...)
	e.cmd.Stdout, e.cmd.Stderr = lockedWriter{e, &e.stdout}, lockedWriter{e, &e.stderr}
	require.NoError(t, e.cmd.Start())
	go func() { e.done <- e.cmd.Wait() }()
	t.Cleanup(func() { e.cmd.Process.Kill() })
	return e
}

type lockedWriter struct {
	e *example
	b *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	return w.b.Write(p)
}

func (e *example) output() (stdout, stderr string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stdout.String(), e.stderr.String()
}

// waitFor polls until the program's stderr contains want.
func (e *example) waitStderr(t *testing.T, want string) {
	t.Helper()
	Eventually(t, 20*time.Second, func() error {
		select {
		case err := <-e.done:
			e.done <- err
			_, stderr := e.output()
			t.Fatalf("the example exited (%v): %s", err, stderr)
		default:
		}
		if _, stderr := e.output(); !strings.Contains(stderr, want) {
			return fmt.Errorf("stderr has no %q yet: %s", want, stderr)
		}
		return nil
	})
}

// interrupt stops the program as Ctrl-C would and requires a clean exit.
func (e *example) interrupt(t *testing.T) {
	t.Helper()
	require.NoError(t, e.cmd.Process.Signal(syscall.SIGINT))
	select {
	case err := <-e.done:
		_, stderr := e.output()
		require.NoError(t, err, "exit after SIGINT: %s", stderr)
	case <-time.After(20 * time.Second):
		t.Fatal("the example did not stop after SIGINT")
	}
}

// TestExampleTailChanges runs cmd/examples/tail-changes against a real MariaDB: every change
// and DDL of the selected schema comes out, decoded by column, and nothing of the others.
func TestExampleTailChanges(t *testing.T) {
	bin := buildExample(t, "tail-changes")
	src := StartMariaDB(t, MariaDBOptions{Binlog: true})
	db := src.DB(t)
	src.Exec(t, "CREATE DATABASE shop")
	src.Exec(t, "CREATE DATABASE other")
	src.Exec(t, "CREATE TABLE shop.t (id INT PRIMARY KEY, name VARCHAR(20))")
	ex := startExample(t, bin, []string{"MYSQL_PWD=" + src.Password()},
		"-host", src.Host(), "-port", strconv.Itoa(src.Port()), "-user", src.User(), "-schema", "shop", "-server-id", "5151")
	ex.waitStderr(t, "reading from")
	for _, q := range []string{
		"INSERT INTO shop.t VALUES (1, 'ada'), (2, 'bob')",
		"INSERT INTO other.x_ignored SELECT 1 FROM DUAL WHERE 0",
		"UPDATE shop.t SET name = 'bea' WHERE id = 2",
		"ALTER TABLE shop.t ADD COLUMN score INT",
		"INSERT INTO shop.t VALUES (3, 'cy', 7)",
		"DELETE FROM shop.t WHERE id = 1",
	} {
		if _, err := db.Exec(q); err != nil && !strings.Contains(q, "ignored") {
			t.Fatalf("%s: %v", q, err)
		}
	}
	want := []string{
		`insert shop.t after={"id":1,"name":"ada"}`,
		`insert shop.t after={"id":2,"name":"bob"}`,
		`update shop.t before={"id":2,"name":"bob"} after={"id":2,"name":"bea"}`,
		`ddl ALTER TABLE shop.t ADD COLUMN score INT`,
		`insert shop.t after={"id":3,"name":"cy","score":7}`,
		`delete shop.t before={"id":1,"name":"ada","score":null}`,
	}
	var got []string
	Eventually(t, 20*time.Second, func() error {
		stdout, _ := ex.output()
		got = summarize(t, stdout)
		if len(got) < len(want) {
			return fmt.Errorf("%d of %d lines: %v", len(got), len(want), got)
		}
		return nil
	})
	require.Equal(t, want, got)
	ex.interrupt(t)
}

// summarize turns the program's JSON lines (commits left out) into one short line each.
func summarize(t *testing.T, stdout string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), sc.Text())
		switch line["kind"] {
		case "commit":
		case "ddl":
			out = append(out, fmt.Sprint("ddl ", line["ddl"]))
		default:
			s := fmt.Sprint(line["kind"], " ", line["table"])
			for _, k := range []string{"before", "after"} {
				if v, ok := line[k]; ok {
					b, _ := json.Marshal(v)
					s += " " + k + "=" + string(b)
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// TestExampleReplayArchive runs cmd/examples/replay-archive: the target gets every insert
// and update but no delete, across a stop and a restart that resumes from the checkpoint.
func TestExampleReplayArchive(t *testing.T) {
	bin := buildExample(t, "replay-archive")
	var src, dst *MariaDB
	var wg sync.WaitGroup
	wg.Go(func() { src = StartMariaDB(t, MariaDBOptions{Binlog: true}) })
	wg.Go(func() { dst = StartMariaDB(t, MariaDBOptions{}) })
	wg.Wait()
	srcDB, dstDB := src.DB(t), dst.DB(t)
	env := []string{"SOURCE_PWD=" + src.Password(), "TARGET_PWD=" + dst.Password()}
	args := []string{"-from", src.Addr(), "-to", dst.Addr(), "-user", "root", "-schema", "arch", "-server-id", "5252"}
	ex := startExample(t, bin, env, args...)
	ex.waitStderr(t, "replaying from")
	src.Exec(t, "CREATE DATABASE arch")
	src.Exec(t, "CREATE TABLE arch.t (id INT PRIMARY KEY, v VARCHAR(10))")
	src.Exec(t, "INSERT INTO arch.t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
	src.Exec(t, "UPDATE arch.t SET v = 'bb' WHERE id = 2")
	src.Exec(t, "DELETE FROM arch.t WHERE id = 1")
	waitRows(t, dstDB, "1=a,2=bb,3=c")
	ex.interrupt(t)

	// While it is stopped: more changes; the restart resumes from the checkpoint.
	src.Exec(t, "INSERT INTO arch.t VALUES (4, 'd')")
	src.Exec(t, "DELETE FROM arch.t WHERE id IN (2, 3)")
	ex = startExample(t, bin, env, args...)
	ex.waitStderr(t, "replaying from")
	waitRows(t, dstDB, "1=a,2=bb,3=c,4=d")
	require.Equal(t, int64(1), TableCount(t, srcDB, "arch.t"), "the upstream deleted the rest")
	ex.interrupt(t)
}

// waitRows polls until the target's arch.t holds exactly want (id=v, by id).
func waitRows(t *testing.T, db *sql.DB, want string) {
	t.Helper()
	Eventually(t, 20*time.Second, func() error {
		var got string
		if err := db.QueryRow("SELECT IFNULL(GROUP_CONCAT(CONCAT(id, '=', v) ORDER BY id), '') FROM arch.t").Scan(&got); err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("target rows %q, want %q", got, want)
		}
		return nil
	})
}

// TestExampleFSMState runs cmd/examples/fsm-state: the state applied and the state restored
// from its snapshot print the same, and the refused command names its code.
func TestExampleFSMState(t *testing.T) {
	bin := buildExample(t, "fsm-state")
	snap := filepath.Join(t.TempDir(), "state.snap")
	applied, err := exec.Command(bin, "-snapshot", snap).Output()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-snapshot", filepath.Join(t.TempDir(), "again.snap"))
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run())
	require.Contains(t, stderr.String(), "entry 5 refused (code 46008)")
	restored, err := exec.Command(bin, "-restore", snap).Output()
	require.NoError(t, err)
	require.JSONEq(t, string(applied), string(restored))
	require.Contains(t, string(restored), `"bindings":{"mysql-01":"w1"}`)
}
