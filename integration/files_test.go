package integration

import (
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFilesArePrivate: every file a master or a worker writes (the Raft log and snapshots, the
// relay log, dump files) is 0600 in a 0700 directory — they hold the upstream's rows and the
// cluster's secrets.
func TestFilesArePrivate(t *testing.T) {
	e := newMigrationEnv(t, 1)
	e.src.Exec(t, "CREATE DATABASE priv")
	e.src.Exec(t, "CREATE TABLE priv.t (id INT PRIMARY KEY, v VARCHAR(20))")
	e.src.Exec(t, "INSERT INTO priv.t VALUES (1, 'a'), (2, 'b')")
	e.createSource("mysql-01", e.src)
	worker := e.api.bindings(e.addr)["mysql-01"]
	resp := e.api.call(http.MethodPost, e.addr, "/api/v1/sources/mysql-01/start-relay", map[string]any{"worker_name_list": []string{worker}})
	require.Less(t, resp.Status, 300, "%s", resp.Body)
	task := e.task("priv", "all", []string{"mysql-01"}, "priv")
	task["source_config"].(map[string]any)["full_migrate_conf"].(map[string]any)["data_dir"] = "./dumped_data"
	task["clean_dump_file"] = false // keep the dump to check it
	require.Equal(t, http.StatusCreated, e.startTask(task).Status)
	e.waitSynced("priv", 60*time.Second)
	e.src.Exec(t, "INSERT INTO priv.t VALUES (3, 'c')")
	e.waitSynced("priv", 60*time.Second)

	var dirs []string
	for _, p := range append(append([]*Proc{}, e.c.Masters...), e.c.Workers...) {
		dirs = append(dirs, p.DataDir)
	}
	seen := map[string]int{}
	for _, root := range dirs {
		require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if info.Mode().Perm()&0o077 != 0 {
				return fmt.Errorf("%s is %v: others may read it", path, info.Mode().Perm())
			}
			switch rel, _ := filepath.Rel(root, path); {
			case filepath.Base(path) == "raft.db":
				seen["raft"]++
			case containsDir(rel, "relay") && d.Type().IsRegular():
				seen["relay"]++
			case containsDir(rel, "dumped_data") && d.Type().IsRegular():
				seen["dump"]++
			}
			return nil
		}))
	}
	require.Positive(t, seen["raft"], "the Raft log was checked")
	require.Positive(t, seen["relay"], "relay files were checked")
	require.Positive(t, seen["dump"], "dump files were checked")
}

// containsDir reports whether the relative path has a directory named dir.
func containsDir(rel, dir string) bool {
	for p := filepath.Dir(rel); p != "." && p != string(os.PathSeparator); p = filepath.Dir(p) {
		if filepath.Base(p) == dir {
			return true
		}
	}
	return false
}
