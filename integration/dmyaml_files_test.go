package integration

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/restapi/dmyaml"
)

// dmFilesSource is a DM source.yaml for the harness's source database.
const dmFilesSource = `# operate-source create source.yaml
source-id: "yaml-src"
enable-gtid: true
enable-relay: false
from:
  host: "%s"
  port: %d
  user: "%s"
  password: "%s"
purge:
  interval: 3600
  expires: 0
  remain-space: 15
checker:
  check-enable: true
`

// dmFilesTask is a DM task.yaml: two shards merged by a route, a schema route, a regex allow
// list with an excluded table, a filter that ignores deletes, and an encrypted target password.
const dmFilesTask = `name: "yaml-task"
task-mode: all
shard-mode: "pessimistic"
meta-schema: "dm_meta"
online-ddl: true
target-database:
  host: "%s"
  port: %d
  user: "dmtarget"
  password: "%s"
routes:
  orders:
    schema-pattern: "shop_*"
    table-pattern: "orders"
    target-schema: "shop"
    target-table: "orders"
  shops:
    schema-pattern: "shop_*"
    target-schema: "shop"
filters:
  keep-audit:
    schema-pattern: "crm"
    table-pattern: "audit"
    events: ["delete"]
    action: Ignore
block-allow-list:
  ba:
    do-dbs: ["~^shop_[12]$", "crm"]
    ignore-tables:
    - db-name: "crm"
      tbl-name: "secret"
mydumpers:
  global:
    threads: 2
    extra-args: "--consistency flush"
loaders:
  global:
    pool-size: 2
    dir: "./dumped_data"
syncers:
  global:
    worker-count: 4
    batch: 50
mysql-instances:
  - source-id: "yaml-src"
    block-allow-list: "ba"
    route-rules: ["orders", "shops"]
    filter-rules: ["keep-audit"]
    mydumper-config-name: "global"
    loader-config-name: "global"
    syncer-config-name: "global"
`

// dmEncrypt is DM's ` + "`dmctl encrypt`" + ` with a secret-key-path key: base64(IV '@' AES-256-CFB).
func dmEncrypt(t *testing.T, key []byte, plain string) string {
	t.Helper()
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	out := make([]byte, aes.BlockSize+1+len(plain))
	_, err = rand.Read(out[:aes.BlockSize])
	require.NoError(t, err)
	out[aes.BlockSize] = '@'
	cipher.NewCFBEncrypter(block, out[:aes.BlockSize]).XORKeyStream(out[aes.BlockSize+1:], []byte(plain)) //nolint:staticcheck // DM's format
	return base64.StdEncoding.EncodeToString(out)
}

// TestDMFilesMigrate converts a DM source.yaml and task.yaml with restapi/dmyaml, creates
// them on a real cluster, and checks that exactly the tables the files select arrive, routed
// and filtered as DM would, through the full load and the binlog.
func TestDMFilesMigrate(t *testing.T) {
	e := newMigrationEnv(t, 1)
	for _, q := range []string{
		"CREATE DATABASE shop_1", "CREATE DATABASE shop_2", "CREATE DATABASE shop_3", "CREATE DATABASE crm", "CREATE DATABASE other",
		"CREATE TABLE shop_1.orders (id INT PRIMARY KEY, amount DECIMAL(10,2), note VARCHAR(30))",
		"CREATE TABLE shop_2.orders LIKE shop_1.orders", "CREATE TABLE shop_3.orders LIKE shop_1.orders",
		"INSERT INTO shop_1.orders SELECT seq, seq * 1.5, CONCAT('s1-', seq) FROM shop_1.seq_1_to_50",
		"INSERT INTO shop_2.orders SELECT seq, seq * 2.5, CONCAT('s2-', seq) FROM shop_1.seq_101_to_150",
		"INSERT INTO shop_3.orders SELECT seq, seq, 'not migrated' FROM shop_1.seq_201_to_210",
		"CREATE TABLE shop_1.customers (id INT PRIMARY KEY, name VARCHAR(30))",
		"INSERT INTO shop_1.customers SELECT seq, CONCAT('c', seq) FROM shop_1.seq_1_to_10",
		"CREATE TABLE crm.audit (id INT PRIMARY KEY, what VARCHAR(30))",
		"INSERT INTO crm.audit SELECT seq, CONCAT('event ', seq) FROM shop_1.seq_1_to_20",
		"CREATE TABLE crm.contacts (id INT PRIMARY KEY, email VARCHAR(40))",
		"INSERT INTO crm.contacts SELECT seq, CONCAT('u', seq, '@example.com') FROM shop_1.seq_1_to_15",
		"CREATE TABLE crm.secret (id INT PRIMARY KEY, token VARCHAR(40))",
		"INSERT INTO crm.secret SELECT seq, UUID() FROM shop_1.seq_1_to_5",
		"CREATE TABLE other.t (id INT PRIMARY KEY)", "INSERT INTO other.t VALUES (1)",
	} {
		e.src.Exec(t, q)
	}

	src, warnings, err := dmyaml.ParseSource([]byte(fmt.Sprintf(dmFilesSource, e.src.Host(), e.src.Port(), e.src.User(), e.src.Password())), dmyaml.Options{})
	require.NoError(t, err)
	require.Len(t, warnings, 1, "checker.check-enable has no effect: %v", warnings)
	resp := e.api.call(http.MethodPost, e.addr, "/api/v1/sources", src.Source)
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)
	Eventually(t, 15*time.Second, func() error {
		if e.api.bindings(e.addr)["yaml-src"] == "" {
			return fmt.Errorf("source yaml-src not bound")
		}
		return nil
	})

	key := []byte("0123456789abcdef0123456789abcdef")
	dec, err := dmyaml.DMDecrypter(key)
	require.NoError(t, err)
	taskFile := fmt.Sprintf(dmFilesTask, e.dst.Host(), e.dst.Port(), dmEncrypt(t, key, taskPassword))
	task, warnings, err := dmyaml.ParseTask([]byte(taskFile), dmyaml.Options{Decrypter: dec})
	require.NoError(t, err)
	require.Empty(t, warnings)
	require.Equal(t, taskPassword, task.TargetConfig.Password)
	resp = e.api.call(http.MethodPost, e.addr, "/api/v1/tasks", map[string]any{"task": task})
	require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Body)

	e.waitSynced("yaml-task", 90*time.Second)
	// The binlog part: more orders on a shard, deletes that the filter keeps out of crm.audit
	// and that reach crm.contacts, and writes to tables the files leave out.
	for _, q := range []string{
		"INSERT INTO shop_2.orders SELECT seq, seq * 2.5, CONCAT('s2-', seq) FROM shop_1.seq_151_to_170",
		"UPDATE shop_1.orders SET note = 'updated' WHERE id <= 5",
		"INSERT INTO shop_1.customers VALUES (11, 'c11')",
		"DELETE FROM crm.audit WHERE id <= 5", "INSERT INTO crm.audit VALUES (21, 'event 21')",
		"DELETE FROM crm.contacts WHERE id <= 3",
		"INSERT INTO crm.secret VALUES (6, 'x')", "INSERT INTO shop_3.orders VALUES (211, 1, 'x')",
	} {
		e.src.Exec(t, q)
	}
	e.waitSynced("yaml-task", 60*time.Second)

	// The merged shards equal the union of the source shards (built aside, outside the task).
	e.src.Exec(t, "CREATE DATABASE verify")
	e.src.Exec(t, "CREATE TABLE verify.orders LIKE shop_1.orders")
	e.src.Exec(t, "INSERT INTO verify.orders SELECT * FROM shop_1.orders UNION ALL SELECT * FROM shop_2.orders")
	require.Equal(t, int64(120), TableCount(t, e.dstDB, "shop.orders"))
	RequireSameTable(t, e.srcDB, "verify.orders", e.dstDB, "shop.orders")
	RequireSameTable(t, e.srcDB, "shop_1.customers", e.dstDB, "shop.customers")
	RequireSameTable(t, e.srcDB, "crm.contacts", e.dstDB, "crm.contacts")
	require.Equal(t, int64(21), TableCount(t, e.dstDB, "crm.audit"), "deletes on crm.audit are ignored")
	require.Equal(t, int64(16), TableCount(t, e.srcDB, "crm.audit"))
	var left int
	require.NoError(t, e.dstDB.QueryRow(`SELECT COUNT(*) FROM information_schema.tables
		WHERE (table_schema = 'crm' AND table_name = 'secret') OR table_schema IN ('shop_1', 'shop_2', 'shop_3', 'other', 'verify')`).Scan(&left))
	require.Zero(t, left, "tables the files leave out are not migrated, and routed ones only under their target")
}
