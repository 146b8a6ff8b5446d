package integration

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// chaosDumpFS is a small tmpfs for dump files, mounted before the workers start so that it
// is in their mount namespaces too (ip netns exec makes one per process); a remount changes
// its size everywhere, since every namespace sees the same file system.
const chaosDumpFSSmall, chaosDumpFSLarge = "256k", "64m"

func mountChaosDumpFS(e *chaosEnv) string {
	return mountChaosFS(e, "dumpfs", chaosDumpFSLarge)
}

// mountChaosFS mounts a tmpfs of the given size on a new directory named name.
func mountChaosFS(e *chaosEnv, name, size string) string {
	e.t.Helper()
	dir := filepath.Join(e.t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatalf("chaos: %v", err)
	}
	mountCmd(e, "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir)
	e.t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

func mountCmd(e *chaosEnv, args ...string) {
	e.t.Helper()
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		e.t.Fatalf("chaos: mount %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// faultDumpDiskFull: a new `all` task over a fresh schema of a random source dumps into the
// tmpfs, shrunk so that the dump does not fit. Its subtask must stop with a clear error in its
// status (no space left), Paused; once the space is back and the task resumed, it must load
// and replicate every row. The main task runs on meanwhile.
func faultDumpDiskFull(e *chaosEnv, _ chaosConfig) string {
	s := e.randomSource()
	_, schema, task := e.ownTask("disk")
	s.db.Exec(e.t, "CREATE DATABASE "+schema)
	s.db.Exec(e.t, "CREATE TABLE "+schema+".t (id INT PRIMARY KEY, v VARCHAR(200))")
	s.db.Exec(e.t, "INSERT INTO "+schema+".t SELECT seq, REPEAT(MD5(seq), 4) FROM "+schema+".seq_1_to_20000")
	entries, _ := os.ReadDir(e.dumpDir)
	for _, ent := range entries {
		_ = os.RemoveAll(filepath.Join(e.dumpDir, ent.Name()))
	}
	mountCmd(e, "-o", "remount,size="+chaosDumpFSSmall, e.dumpDir)
	body := e.taskBody(task, []string{s.name}, func(string) []string { return []string{schema} })
	body["source_config"].(map[string]any)["full_migrate_conf"].(map[string]any)["data_dir"] = e.dumpDir
	e.createTask(body)
	var full subtaskStatus
	Eventually(e.t, 90*time.Second, func() error {
		sts, _, err := e.status(task)
		if err != nil || len(sts) != 1 {
			return fmt.Errorf("status of %s: %v %+v", task, err, sts)
		}
		full = sts[0]
		if full.Stage != "Paused" || full.ErrorMsg == nil {
			return fmt.Errorf("%s is %s in %s, error %q", task, full.Stage, full.Unit, deref(full.ErrorMsg))
		}
		return nil
	})
	if !strings.Contains(strings.ToLower(*full.ErrorMsg), "no space left") {
		e.t.Fatalf("chaos: %s paused with an error that does not say the disk is full: %s", task, *full.ErrorMsg)
	}
	mountCmd(e, "-o", "remount,size="+chaosDumpFSLarge, e.dumpDir)
	resp := e.mustCall(http.MethodPost, "/api/v1/tasks/"+task+"/resume", nil)
	if resp.Status != http.StatusOK {
		e.t.Fatalf("chaos: resume %s: %d %s", task, resp.Status, resp.Body)
	}
	e.waitSyncedEqual(task, s, schema+".t", 120*time.Second)
	e.mustCall(http.MethodDelete, "/api/v1/tasks/"+task, nil)
	first, _, _ := strings.Cut(*full.ErrorMsg, "\n")
	return fmt.Sprintf("%s dumped %s of %s into %s: paused in %s with %q; resumed with the space back, every row there", task, schema, s.name, chaosDumpFSSmall, full.Unit, first)
}
