package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRecoverLostQuorum is the documented way back for a master group that lost its quorum
// for good (README, "Deploying securely"): two of three masters are killed and never return;
// the survivor answers no write; restarted once with --recover-from naming itself, it leads
// alone with the whole state, the worker follows it, it writes again, and a new master joins.
func TestRecoverLostQuorum(t *testing.T) {
	db := StartMariaDB(t, MariaDBOptions{Binlog: true})
	c := NewCluster(t)
	c.UseSecretKey()
	masters := c.StartMasters(3, MasterOptions{})
	c.StartWorker("worker1", 3)
	waitLeader(t, masters, 15*time.Second)
	api := &apiRecorder{t: t}
	addr := masters[0].APIAddr
	createSource := func(name string) {
		resp := api.call(http.MethodPost, addr, "/api/v1/sources", map[string]any{
			"source_name": name, "host": db.Host(), "port": db.Port(), "user": db.User(), "password": db.Password(), "enable_gtid": true,
		})
		require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	}
	Eventually(t, 15*time.Second, func() error {
		if st, err := workerStages(addr); err != nil || st["worker1"] != "free" {
			return fmt.Errorf("worker1 not registered yet: %v %v", st, err)
		}
		return nil
	})
	createSource("mysql-01")

	// Two masters are gone for good: no quorum, no writes.
	survivor := masters[0]
	masters[1].Kill()
	masters[2].Kill()
	Eventually(t, 20*time.Second, func() error {
		resp := api.call(http.MethodPost, addr, "/api/v1/sources/mysql-01/pause-relay", nil)
		if resp.Status != http.StatusServiceUnavailable {
			return fmt.Errorf("a write without quorum answered %d: %s", resp.Status, resp.Body)
		}
		return nil
	})

	// The procedure: stop the survivor, start it once with --recover-from naming the masters
	// that remain (here a file, as an operator would keep it), then start it as usual.
	survivor.Stop()
	peers := filepath.Join(t.TempDir(), "peers")
	require.NoError(t, os.WriteFile(peers, []byte(survivor.Name+"="+survivor.PeerURL+"\n"), 0o600))
	survivor.StartWith("--recover-from", peers)
	survivor.WaitListening(15 * time.Second)
	waitLeader(t, []*Proc{survivor}, 20*time.Second)
	survivor.Stop()
	survivor.Start()
	survivor.WaitListening(15 * time.Second)
	waitLeader(t, []*Proc{survivor}, 20*time.Second)

	l, _, err := listMasters(addr)
	require.NoError(t, err)
	require.Equal(t, []string{survivor.Name}, masterNames(l))
	Eventually(t, 20*time.Second, func() error {
		if b := api.bindings(addr); b["mysql-01"] != "worker1" {
			return fmt.Errorf("bindings %v", b)
		}
		return nil
	})
	createSource("mysql-02")

	// The group grows again through join.
	m4 := c.AddMaster(MasterOptions{Join: []string{addr}})
	Eventually(t, 20*time.Second, func() error {
		l, _, err := listMasters(m4.APIAddr)
		if err != nil {
			return err
		}
		if got := masterNames(l); !slices.Equal(got, []string{survivor.Name, m4.Name}) {
			return fmt.Errorf("masters %v", got)
		}
		return nil
	})
	resp := api.call(http.MethodGet, m4.APIAddr, "/api/v1/sources", nil)
	require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)
	require.Contains(t, string(resp.Body), `"mysql-02"`)
}
