package dump_test

import (
	"context"
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
