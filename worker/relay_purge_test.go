package worker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/relay"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/integration"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/dm-oss/dm/restapi/peer"
)

// TestPurgeRelayRefusals: the worker's manual purge of a real relay log is refused while a
// subtask of the source has not reached Sync (it will read from a position not known yet),
// for a source it does not relay, another directory and a name that is no binlog file of the
// relay; a full-mode subtask (which never reads the relay log) does not hold it back.
func TestPurgeRelayRefusals(t *testing.T) {
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	m.Exec(t, "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY)")
	dir := filepath.Join(t.TempDir(), "mysql-01")
	rl, err := relay.New(relay.Config{
		Dir: dir, Upstream: upstream.Config{Host: m.Host(), Port: m.Port(), User: m.User(), Password: m.Password()},
		Flavor: binlog.FlavorMariaDB, ServerID: 4242, EnableGTID: true,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := range 3 {
		m.Exec(t, "INSERT INTO d.t VALUES (?)", i)
		m.Exec(t, "FLUSH BINARY LOGS")
	}
	var names []string
	integration.Eventually(t, 20*time.Second, func() error {
		names, err = relay.ReadIndex(dir)
		if err == nil && len(names) < 4 {
			err = errors.New("relay files not all there yet")
		}
		return err
	})

	s := &Server{cfg: Config{Name: "w1"}, logger: slog.Default(), runners: map[string]*runner{}}
	s.relayR.source, s.relayR.dir, s.relayR.relay = "mysql-01", dir, rl
	s.runners["loading"] = &runner{task: "loading", source: "mysql-01", spec: fsm.TaskSpec{Mode: fsm.TaskModeAll}, unit: unitLoad}
	s.runners["full"] = &runner{task: "full", source: "mysql-01", spec: fsm.TaskSpec{Mode: fsm.TaskModeFull}, unit: unitLoad}
	purge := func(source, file, subDir string) (peer.RelayPurgeResult, *apierr.Error) {
		res, err := s.purgeRelay(source, peer.RelayPurgeRequest{RelayBinlogName: file, RelayDir: subDir})
		var apiErr *apierr.Error
		if err != nil {
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, http.StatusBadRequest, apiErr.Status, "%v", err)
		}
		return res, apiErr
	}

	_, e := purge("mysql-01", names[2], "")
	require.NotNil(t, e)
	require.Equal(t, fsm.CodeOpenAPICommon, e.Code)
	require.Contains(t, e.Msg, "loading (Load)")
	require.NotContains(t, e.Msg, "full")
	_, e = purge("mysql-02", names[2], "")
	require.Equal(t, fsm.CodeOpenAPICommon, e.Code)
	require.Contains(t, e.Msg, "does not pull the relay log")

	delete(s.runners, "loading")
	_, e = purge("mysql-01", names[2], "elsewhere")
	require.Equal(t, fsm.CodeRequestInvalid, e.Code)
	_, e = purge("mysql-01", "other-bin.000002", "")
	require.Equal(t, fsm.CodeRequestInvalid, e.Code)
	require.Contains(t, e.Msg, "relay_binlog_name")
	idx, err := relay.ReadIndex(dir)
	require.NoError(t, err)
	require.Equal(t, names, idx, "nothing purged by a refused request")

	res, e := purge("mysql-01", names[2], "mysql-01")
	require.Nil(t, e)
	require.Equal(t, peer.RelayPurgeResult{WorkerName: "w1", RelayDir: dir, PurgedFiles: names[:2], KeptFrom: names[2]}, res)
	for _, n := range names[:2] {
		_, err := os.Stat(filepath.Join(dir, n))
		require.ErrorIs(t, err, os.ErrNotExist)
	}
	idx, err = relay.ReadIndex(dir)
	require.NoError(t, err)
	require.True(t, slices.Equal(names[2:], idx[:len(names)-2]), "index %v", idx)
}
