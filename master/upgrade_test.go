package master

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/integration"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/restapi"
)

// The fixtures in testdata were written by dm before issue 12, when every cluster without
// secret-key-path encrypted its secrets with one key built into the source code: a one-master
// cluster with a worker, source mysql-01 (password Fixture-Src-Pass-1) and task orders (target
// password Fixture-Tgt-Pass-2). builtin-key-log.jsonl holds its Raft log entries, one per line
// as the master proposed them; builtin-key-snapshot.jsonl the FSM snapshot after the last one.
const (
	fixtureSourcePassword = "Fixture-Src-Pass-1"
	fixtureTargetPassword = "Fixture-Tgt-Pass-2"
)

// upgradeMaster prepares a master's data directory as the old build left it (its log, or its
// snapshot) under a fresh address, and starts today's master on it.
func upgradeMaster(t *testing.T, fromSnapshot bool, secretKeyPath string) *Server {
	t.Helper()
	ports := integration.FreePorts(t, 2)
	cfg := DefaultConfig()
	cfg.Name = "m1"
	cfg.MasterAddr = "127.0.0.1:" + strconv.Itoa(ports[0])
	cfg.PeerURLs = "http://127.0.0.1:" + strconv.Itoa(ports[1])
	cfg.DataDir = t.TempDir()
	cfg.OpenAPI = true
	cfg.SecretKeyPath = secretKeyPath
	members := raft.Configuration{Servers: []raft.Server{{ID: "m1", Address: raft.ServerAddress("127.0.0.1:" + strconv.Itoa(ports[1])), Suffrage: raft.Voter}}}
	writeOldRaftDir(t, filepath.Join(cfg.DataDir, "raft"), members, fromSnapshot)

	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, s.Start(ctx))
	t.Cleanup(func() {
		cancel()
		require.NoError(t, s.Stop())
	})
	return s
}

func writeOldRaftDir(t *testing.T, dir string, members raft.Configuration, fromSnapshot bool) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o700))
	bolt, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
	require.NoError(t, err)
	defer bolt.Close()
	require.NoError(t, bolt.SetUint64([]byte("CurrentTerm"), 1))
	if fromSnapshot {
		snaps, err := raft.NewFileSnapshotStore(dir, 3, io.Discard)
		require.NoError(t, err)
		_, trans := raft.NewInmemTransport("")
		data, err := os.ReadFile("testdata/builtin-key-snapshot.jsonl")
		require.NoError(t, err)
		sink, err := snaps.Create(raft.SnapshotVersionMax, 8, 1, members, 1, trans)
		require.NoError(t, err)
		_, err = sink.Write(data)
		require.NoError(t, err)
		require.NoError(t, sink.Close())
		return
	}
	require.NoError(t, bolt.StoreLog(&raft.Log{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(members)}))
	f, err := os.Open("testdata/builtin-key-log.jsonl")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	index := uint64(1)
	for sc.Scan() {
		index++
		require.NoError(t, bolt.StoreLog(&raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: bytes.Clone(sc.Bytes())}))
	}
	require.NoError(t, sc.Err())
}

// requireReencrypted waits until every secret of the fixture is sealed by key alone (the
// built-in key no longer opens any) and opens to the fixture's passwords.
func requireReencrypted(t *testing.T, s *Server, key []byte) {
	t.Helper()
	c, err := security.NewCipher(key)
	require.NoError(t, err)
	legacy, err := security.NewCipher(security.LegacyKey())
	require.NoError(t, err)
	integration.Eventually(t, 20*time.Second, func() error {
		src, ok := s.state.Source("mysql-01")
		if !ok {
			return fmt.Errorf("the source is not in the state (yet)")
		}
		task, ok := s.state.Task("orders")
		if !ok {
			return fmt.Errorf("the task is not in the state (yet)")
		}
		var created restapi.Task
		if err := json.Unmarshal(task.Spec.API, &created); err != nil {
			return err
		}
		for secret, want := range map[string]string{
			src.Spec.PasswordEnc: fixtureSourcePassword, task.Spec.Target.PasswordEnc: fixtureTargetPassword,
			created.TargetConfig.Password: fixtureTargetPassword,
		} {
			if _, err := legacy.Decrypt(secret); err == nil {
				return fmt.Errorf("a secret is still under the built-in key")
			}
			got, err := c.Decrypt(secret)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("decrypted %q, want %q", got, want)
			}
		}
		return nil
	})
}

// TestUpgradeFromBuiltinKeyLog: a cluster without secret-key-path upgraded from the old build
// gets a cluster key, and its leader re-encrypts the secrets the old log holds with it.
func TestUpgradeFromBuiltinKeyLog(t *testing.T) {
	s := upgradeMaster(t, false, "")
	integration.Eventually(t, 20*time.Second, func() error {
		if s.state.ClusterKey() == nil {
			return fmt.Errorf("no cluster key yet")
		}
		return nil
	})
	requireReencrypted(t, s, s.state.ClusterKey())
	a := do(t, s, "GET", "/api/v1/tasks", nil)
	require.Equal(t, 200, a.status, "%s", a.body)
	require.Contains(t, string(a.body), `"orders"`)
	require.NotContains(t, string(a.body), fixtureTargetPassword)
}

// TestUpgradeFromBuiltinKeySnapshot: a cluster that sets secret-key-path when it upgrades
// re-encrypts the secrets of its old snapshot with that key, and generates no cluster key.
func TestUpgradeFromBuiltinKeySnapshot(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a}, 32)
	path := filepath.Join(t.TempDir(), "secret.key")
	require.NoError(t, os.WriteFile(path, []byte(hex.EncodeToString(key)), 0o600))
	s := upgradeMaster(t, true, path)
	requireReencrypted(t, s, key)
	require.Nil(t, s.state.ClusterKey(), "secret-key-path's key is the cluster's key")
	_, ok := s.state.Worker("w1")
	require.True(t, ok, "the rest of the state is as it was")
}
