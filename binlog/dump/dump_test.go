package dump_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/integration"
)

func cfgOf(m *integration.MariaDB, user, password string) upstream.Config {
	return upstream.Config{Host: m.Host(), Port: m.Port(), User: user, Password: password}
}

func TestDumpFilesAndMetadata(t *testing.T) {
	t.Parallel()
	src := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	src.Exec(t, `CREATE DATABASE app;
		CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(10));
		INSERT INTO app.t VALUES (1, 'a'), (2, 'b'), (3, NULL);
		CREATE TABLE app.other (id INT PRIMARY KEY);
		CREATE VIEW app.v AS SELECT * FROM app.t;
		CREATE DATABASE ignored;
		CREATE TABLE ignored.t (id INT);`)
	r, err := rules.New([]rules.MigrateRule{{SchemaPattern: "app", TablePattern: "t"}}, nil, false)
	require.NoError(t, err)

	dir := t.TempDir()
	_, ok, err := dump.ReadMetadata(dir)
	require.NoError(t, err)
	require.False(t, ok)
	stale := filepath.Join(dir, "old.table.00000.00000.sql")
	require.NoError(t, os.WriteFile(stale, []byte("x"), 0o644))
	keep := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(keep, []byte("x"), 0o644))

	ctx := context.Background()
	cfg := dump.Config{Upstream: cfgOf(src, src.User(), src.Password()), Dir: dir, Rules: r}
	meta, err := dump.Run(ctx, cfg)
	require.NoError(t, err)
	require.True(t, meta.Finished)
	require.Equal(t, "mariadb", meta.Flavor)
	require.Equal(t, dump.ConsistencySnapshot, meta.Consistency)
	require.NotEmpty(t, meta.ID)
	require.Len(t, meta.Tables, 1)
	tm := meta.Tables[0]
	require.Equal(t, "app", tm.Schema)
	require.Equal(t, "t", tm.Table)
	require.Equal(t, []string{"id", "v"}, tm.Columns)
	require.Equal(t, []string{"id"}, tm.KeyColumns)
	require.EqualValues(t, 3, tm.Rows)
	require.Len(t, tm.Chunks, 1)
	require.Equal(t, []string{"1"}, tm.Chunks[0].MinKey)
	require.Equal(t, []string{"3"}, tm.Chunks[0].MaxKey)
	data, err := os.ReadFile(filepath.Join(dir, tm.Chunks[0].File))
	require.NoError(t, err)
	require.Equal(t, "INSERT INTO `t` (`id`,`v`) VALUES (1,'a'),(2,'b'),(3,NULL);\n", string(data))
	schema, err := os.ReadFile(filepath.Join(dir, tm.SchemaFile))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(schema), tm.CreateTablePrefix()), string(schema))
	require.Len(t, meta.Schemas, 1)
	create, err := os.ReadFile(filepath.Join(dir, meta.Schemas[0].File))
	require.NoError(t, err)
	require.Contains(t, string(create), "CREATE DATABASE `app`")

	read, ok, err := dump.ReadMetadata(dir)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, meta.ID, read.ID)
	require.Equal(t, meta.Location, read.Location)
	require.Equal(t, meta.Tables, read.Tables)
	require.NoFileExists(t, stale, "an earlier dump's files are removed")
	require.FileExists(t, keep, "other files stay")

	// A dump that fails leaves no metadata behind, not even the old one.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = dump.Run(cctx, cfg)
	require.Error(t, err)
	_, ok, err = dump.ReadMetadata(dir)
	require.NoError(t, err)
	require.False(t, ok)

	cfg.Consistency = "bogus"
	_, err = dump.Run(ctx, cfg)
	require.ErrorContains(t, err, "unknown consistency")
}

// Which consistency modes work with which privileges: auto (snapshot on
// MariaDB) needs no lock privilege at all and still gets the position;
// flush needs RELOAD and says so; lock needs LOCK TABLES.
func TestConsistencyPrivileges(t *testing.T) {
	t.Parallel()
	src := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	src.Exec(t, `CREATE DATABASE app;
		CREATE TABLE app.t (id INT PRIMARY KEY);
		INSERT INTO app.t VALUES (1), (2);`)
	src.CreateUser(t, "reader", "pw1", "SELECT ON *.*")
	src.CreateUser(t, "locker", "pw2", "SELECT, LOCK TABLES, BINLOG MONITOR ON *.*")
	r, err := rules.New([]rules.MigrateRule{{SchemaPattern: "app"}}, nil, false)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(user, pw, mode string) (dump.Metadata, error) {
		return dump.Run(ctx, dump.Config{Upstream: cfgOf(src, user, pw), Dir: t.TempDir(), Rules: r, Consistency: mode, Threads: 2})
	}

	meta, err := run("reader", "pw1", "auto")
	require.NoError(t, err)
	require.Equal(t, dump.ConsistencySnapshot, meta.Consistency)
	require.NotEmpty(t, meta.Location.File)
	require.NotEmpty(t, meta.Location.GTIDSet)
	require.EqualValues(t, 2, meta.TotalRows())

	_, err = run("reader", "pw1", "flush")
	require.ErrorContains(t, err, "RELOAD")

	meta, err = run("locker", "pw2", "lock")
	require.NoError(t, err)
	require.Equal(t, dump.ConsistencyLock, meta.Consistency)
	require.NotEmpty(t, meta.Location.File)
	require.EqualValues(t, 2, meta.TotalRows())
}

// The counters a status page reads add up to the metadata once the dump is done, and the
// dump is private to the user: a 0700 directory (also one that existed with a wider mode)
// holding 0600 files.
func TestDumpCountersAndPermissions(t *testing.T) {
	t.Parallel()
	src := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	src.Exec(t, `CREATE DATABASE app;
		CREATE TABLE app.a (id INT PRIMARY KEY, v VARCHAR(20));
		INSERT INTO app.a SELECT seq, CONCAT('row ', seq) FROM app.seq_1_to_5000;
		CREATE TABLE app.b (k VARCHAR(10) NOT NULL, UNIQUE KEY (k));
		INSERT INTO app.b SELECT CONCAT('k', seq) FROM app.seq_1_to_700;
		CREATE TABLE app.empty (id INT PRIMARY KEY);
		ANALYZE TABLE app.a, app.b;`)
	r, err := rules.New([]rules.MigrateRule{{SchemaPattern: "app"}}, nil, false)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "dump")
	require.NoError(t, os.Mkdir(dir, 0o755))

	var counters dump.Counters
	require.Zero(t, counters.Progress().TotalTables, "the zero value reads as nothing dumped")
	// A status page reads the counters while the dump runs (go test -race checks the access).
	stop, readerDone := make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var last int64
		for {
			p := counters.Progress()
			if p.FinishedRows < last || p.CompletedTables > p.TotalTables {
				readerDone <- fmt.Errorf("counters went backwards or over: %+v after %d rows", p, last)
				return
			}
			last = p.FinishedRows
			select {
			case <-stop:
				readerDone <- nil
				return
			case <-tick.C:
			}
		}
	}()
	meta, err := dump.Run(context.Background(), dump.Config{
		Upstream: cfgOf(src, src.User(), src.Password()), Dir: dir, Rules: r, Threads: 3, ChunkRows: 400, Counters: &counters,
	})
	close(stop)
	require.NoError(t, err)
	require.NoError(t, <-readerDone)
	p := counters.Progress()
	require.EqualValues(t, 3, p.TotalTables)
	require.EqualValues(t, 3, p.CompletedTables)
	require.EqualValues(t, 5700, p.FinishedRows)
	require.Equal(t, meta.TotalRows(), p.FinishedRows)
	require.Equal(t, meta.TotalBytes(), p.FinishedBytes)
	require.Positive(t, p.EstimateTotalRows)
	require.InDelta(t, 100, p.Percent(), 0.001)

	info, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Greater(t, len(entries), 5, "schema, data and metadata files")
	for _, e := range entries {
		fi, err := e.Info()
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), e.Name())
	}
}
