package settings

import (
	"bufio"
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
)

// v1State replays fsm's fixture log, written by the masters before specs were typed, with
// secrets encrypted with the default key.
func v1State(t *testing.T) *fsm.FSM {
	t.Helper()
	f, err := os.Open("../../fsm/testdata/v1-log.jsonl")
	require.NoError(t, err)
	defer f.Close()
	state := fsm.New()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for i := uint64(1); sc.Scan(); i++ {
		require.NoError(t, state.Apply(i, bytes.Clone(sc.Bytes())))
	}
	require.NoError(t, sc.Err())
	return state
}

// TestSettingsOfV1Specs: sources and tasks stored before specs were typed give the workers the
// connections, secrets decrypted, and the rules they always had.
func TestSettingsOfV1Specs(t *testing.T) {
	state := v1State(t)
	c, err := security.NewCipher(security.LegacyKey())
	require.NoError(t, err)

	src1, _ := state.Source("mysql-01")
	up, err := Upstream(src1.Spec, c)
	require.NoError(t, err)
	require.Equal(t, upstream.Config{Host: "127.0.0.1", Port: 3306, User: "root", Password: "secret-a", ConnectTimeout: 5 * time.Second}, up)

	src2, _ := state.Source("mysql-02")
	up, err = Upstream(src2.Spec, c)
	require.NoError(t, err)
	require.Equal(t, upstream.Config{Host: "db-b", Port: 3307, User: "dm", Password: "secret-b", ConnectTimeout: 5 * time.Second,
		SSLCA: "-----CA-----", SSLCert: "-----CERT-----", SSLKey: "-----KEY-----", CertAllowedCN: []string{"dm"}}, up)

	orders, _ := state.Task("orders")
	target, err := Target(orders.Spec.Target, c)
	require.NoError(t, err)
	require.Equal(t, upstream.Config{Host: "tidb", Port: 4000, User: "root", Password: "target-pw", ConnectTimeout: 5 * time.Second}, target)

	rl, err := Rules(orders.Spec, "mysql-01")
	require.NoError(t, err)
	require.True(t, rl.Match("shop_1", "orders_7"))
	require.False(t, rl.Match("shop_1", "customers"))
	require.Equal(t, rules.TableRef{Schema: "shop", Table: "orders"}, rl.Route("shop_1", "orders_7"))
	require.True(t, rl.SkipDDL("shop_1", "orders_7", rules.EventDropTable, "DROP TABLE `orders_7`"), "the no-drop filter of mysql-01")
	require.False(t, rl.MatchSchema("dm_meta"), "the meta schema is never migrated")
	rl2, err := Rules(orders.Spec, "mysql-02")
	require.NoError(t, err)
	require.False(t, rl2.SkipDDL("shop_1", "orders_7", rules.EventDropTable, "DROP TABLE `orders_7`"), "mysql-02 has no filter")

	require.Equal(t, binlog.Location{}, SyncStart(orders.Spec, "mysql-02"), "an all task starts where its dump was taken")
	legacy, _ := state.Task("legacy")
	require.Equal(t, binlog.Location{File: "mysql-bin.000001", Pos: 1234}, SyncStart(legacy.Spec, "mysql-01"))
	require.Equal(t, "", Sync(legacy.Spec, "mysql-01").Collation, "strict, as before collation_compatible existed")
}

// TestUnitSettings: what each unit takes from the specs.
func TestUnitSettings(t *testing.T) {
	task := fsm.TaskSpec{Version: fsm.TaskSpecVersion, Name: "t1", Mode: fsm.TaskModeAll, ShardMode: "optimistic", MetaSchema: "meta",
		OnDuplicate: "replace", EnhanceOnlineSchemaChange: true, Collation: "loose",
		Full: fsm.FullSpec{ExportThreads: 3, ImportThreads: 5, Consistency: "none"}, Incr: fsm.IncrSpec{ReplThreads: 7, ReplBatch: 11}}
	src := fsm.SourceSpec{Flavor: "mariadb"}

	d := Dump(task, src)
	require.Equal(t, "mariadb", d.Flavor)
	require.Equal(t, 3, d.Threads)
	require.Equal(t, "none", d.Consistency)

	l := Load(task, "s1")
	require.Equal(t, 5, l.Threads)
	require.Equal(t, "replace", l.OnDuplicate)
	require.Equal(t, "meta", l.MetaSchema)
	require.Equal(t, "t1", l.Task)
	require.Equal(t, "s1", l.Source)
	require.Equal(t, "loose", l.Collation)

	s := Sync(task, "s1")
	require.Equal(t, "t1", s.Task)
	require.Equal(t, "s1", s.Source)
	require.Equal(t, "meta", s.MetaSchema)
	require.Equal(t, 7, s.Workers)
	require.Equal(t, 11, s.Batch)
	require.True(t, s.OnlineDDL)
	require.Equal(t, "loose", s.Collation)
	require.Equal(t, "optimistic", s.ShardMode)
}

// TestWrongKey: a secret encrypted with another key is an error, never a wrong password.
func TestWrongKey(t *testing.T) {
	state := v1State(t)
	other, err := security.NewCipher(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	src, _ := state.Source("mysql-01")
	_, err = Upstream(src.Spec, other)
	require.ErrorIs(t, err, security.ErrWrongKey)
	orders, _ := state.Task("orders")
	_, err = Target(orders.Spec.Target, other)
	require.ErrorIs(t, err, security.ErrWrongKey)
}
