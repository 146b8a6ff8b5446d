package syncer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/binlog/rules"
)

// TestReplicateTypes: every value type, keyless / unique-only / composite-key tables,
// inserts, updates and deletes, DDL from the stream.
func TestReplicateTypes(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB,
		"CREATE DATABASE db1",
		`CREATE TABLE db1.types (id INT PRIMARY KEY,
			ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
			i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
			d DECIMAL(40,10), d0 DECIMAL(5,0), f FLOAT, db DOUBLE,
			dt DATETIME(6), ts TIMESTAMP(3) NULL, dte DATE, tm TIME(2), yr YEAR,
			j JSON, bl BLOB, vb VARBINARY(20), bn BINARY(4), c CHAR(10), vc VARCHAR(100), tx TEXT,
			l1 VARCHAR(20) CHARACTER SET latin1,
			e ENUM('a','b','c d'), st SET('x','y','z'), bt BIT(12), b64 BIT(64))`,
		"CREATE TABLE db1.nopk (a INT, b VARCHAR(20), f FLOAT)",
		"CREATE TABLE db1.uniq (a INT NOT NULL, b VARCHAR(20), UNIQUE KEY (a))",
		"CREATE TABLE db1.comp (a INT, b VARCHAR(10), c INT, PRIMARY KEY (a, b))",
	)
	s := mustNew(t, e.config(t, 4, 10))
	r := e.run(t, s, e.start)

	execAll(t, e.srcDB,
		`INSERT INTO db1.types VALUES
		(1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
		 '-123456789012345678901234567890.0123456789', 99999, 0.1, 1.0000000000000002,
		 '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.123', '1000-01-01', '-838:59:59.99', 2155,
		 '{"a": [1, 2, "x"], "b": null}', X'00FF0102', X'DEADBEEF00', X'0102', 'ch', 'héllo 😀 wörld', 'text\n\\with ''quotes''',
		 X'E9E8', 'c d', 'x,z', b'101010101010', 18446744073709551615),
		(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '0000-00-00 00:00:00', NULL, '0000-00-00', '00:00:00', 0,
		 NULL, '', '', '', '', '', '', '', 'a', '', 0, 0),
		(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
		"UPDATE db1.types SET vc = 'changed', biu = 1, ts = '2001-02-03 04:05:06.789' WHERE id = 2",
		"UPDATE db1.types SET miu = 1 WHERE id = 1",
		"INSERT INTO db1.nopk VALUES (1, 'a', 0.5), (1, 'a', 0.5), (2, NULL, NULL), (3, 'c', 1.1)",
		"UPDATE db1.nopk SET b = 'z' WHERE a = 3",
		"DELETE FROM db1.nopk WHERE a = 1 LIMIT 1",
		"UPDATE db1.nopk SET a = 20 WHERE b IS NULL",
		"INSERT INTO db1.uniq VALUES (1, 'x'), (2, 'y'), (3, NULL)",
		"UPDATE db1.uniq SET a = 10 WHERE a = 1",
		"DELETE FROM db1.uniq WHERE a = 2",
		"INSERT INTO db1.comp VALUES (1, 'a', 1), (1, 'b', 2), (2, 'a', 3)",
		"UPDATE db1.comp SET b = 'c' WHERE a = 1 AND b = 'b'",
		"DELETE FROM db1.comp WHERE a = 2",
	)
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "db1.types", "db1.nopk", "db1.uniq", "db1.comp")

	// Spot checks beyond the checksum.
	var biu, j, vc string
	require.NoError(t, e.tgtDB.QueryRow("SELECT biu, j, vc FROM db1.types WHERE id = 1").Scan(&biu, &j, &vc))
	require.Equal(t, "18446744073709551615", biu)
	require.Equal(t, "héllo 😀 wörld", vc)
	require.Contains(t, j, `"a": [1, 2, "x"]`)

	st := s.Status()
	require.Positive(t, st.TotalEvents)
	require.NoError(t, r.stop())
}

// TestKeyChangesAndSwaps: primary and unique keys change and swap between rows, with 8
// workers: the changes of one key stay ordered, conflicts across keys serialise.
func TestKeyChangesAndSwaps(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB,
		"CREATE DATABASE k",
		"CREATE TABLE k.t (id INT PRIMARY KEY, u INT NULL, v VARCHAR(20), UNIQUE KEY uu (u))",
		"CREATE TABLE k.s (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, UNIQUE KEY (name))",
	)
	s := mustNew(t, e.config(t, 8, 20))
	r := e.run(t, s, e.start)
	var vals []string
	for i := 1; i <= 300; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, 'v%d')", i, i, i))
	}
	execAll(t, e.srcDB, "INSERT INTO k.t VALUES "+strings.Join(vals, ","))
	execAll(t, e.srcDB, "UPDATE k.t SET id = id + 1000")
	execAll(t, e.srcDB, "UPDATE k.t SET id = id - 1000 WHERE id % 3 = 0")
	// Swap u between pairs of rows, and ids through a temporary id.
	for i := 1; i+1 <= 300; i += 7 {
		a, b := i, i+1
		execAll(t, e.srcDB, fmt.Sprintf(`BEGIN NOT ATOMIC
			DECLARE ua, ub INT;
			SELECT u INTO ua FROM k.t WHERE u = %d; SELECT u INTO ub FROM k.t WHERE u = %d;
			START TRANSACTION;
			UPDATE k.t SET u = NULL WHERE u = ua;
			UPDATE k.t SET u = ua WHERE u = ub;
			UPDATE k.t SET u = ub WHERE u IS NULL;
			COMMIT;
		END`, a, b))
	}
	for i := 3; i+3 <= 300; i += 9 {
		execAll(t, e.srcDB,
			"START TRANSACTION",
			fmt.Sprintf("UPDATE k.t SET id = -1 WHERE id = %d", i),
			fmt.Sprintf("UPDATE k.t SET id = %d WHERE id = %d", i, i+3),
			fmt.Sprintf("UPDATE k.t SET id = %d WHERE id = -1", i+3),
			"COMMIT")
	}
	// Unique names moving between rows.
	for i := 0; i < 50; i++ {
		execAll(t, e.srcDB, fmt.Sprintf("INSERT INTO k.s VALUES (%d, 'n%d')", i, i))
	}
	for i := 0; i < 49; i++ {
		execAll(t, e.srcDB,
			fmt.Sprintf("DELETE FROM k.s WHERE name = 'n%d'", i),
			fmt.Sprintf("UPDATE k.s SET name = 'n%d' WHERE name = 'n%d'", i, i+1),
			fmt.Sprintf("INSERT INTO k.s VALUES (%d, 'n%d')", i+100, i+1))
	}
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "k.t", "k.s")
	require.NoError(t, r.stop())
}

// TestRoutingAndFilters: two shard tables into one target table; ignore_event delete on one
// shard; ignore_sql on an ALTER; a table outside the rules.
func TestRoutingAndFilters(t *testing.T) {
	e := newEnv(t)
	rl, err := rules.New([]rules.MigrateRule{
		{SchemaPattern: "shard_1", TablePattern: "t", TargetSchema: "merged", TargetTable: "t"},
		{SchemaPattern: "shard_2", TablePattern: "t", TargetSchema: "merged", TargetTable: "t", FilterRules: []string{"nodelete"}},
		{SchemaPattern: "plain", FilterRules: []string{"noalter"}},
	}, map[string]rules.Filter{
		"nodelete": {IgnoreEvents: []string{"delete"}},
		// the second pattern is written against the restored form (DM's habit): it matches
		// the statement as the parser restores it, not as written upstream
		"noalter": {IgnoreSQL: []string{"ADD INDEX ignored_", "alter table .* add column `aaa` int"}},
	}, false)
	require.NoError(t, err)
	execAll(t, e.tgtDB, "CREATE DATABASE merged")
	cfg := e.config(t, 4, 10)
	cfg.Rules = rl
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	execAll(t, e.srcDB,
		"CREATE DATABASE shard_1", "CREATE DATABASE shard_2", "CREATE DATABASE plain", "CREATE DATABASE other",
		"CREATE TABLE shard_1.t (id INT PRIMARY KEY, v VARCHAR(10))",
		"CREATE TABLE shard_2.t (id INT PRIMARY KEY, v VARCHAR(10))",
		"CREATE TABLE plain.p (id INT PRIMARY KEY)",
		"CREATE TABLE plain.q (id INT PRIMARY KEY)",
		"ALTER TABLE plain.q ADD COLUMN aaa INT",
		"CREATE TABLE other.o (id INT PRIMARY KEY)",
		"INSERT INTO shard_1.t VALUES (1, 'a'), (2, 'b')",
		"INSERT INTO shard_2.t VALUES (101, 'x'), (102, 'y')",
		"DELETE FROM shard_1.t WHERE id = 1",
		"DELETE FROM shard_2.t WHERE id = 101",
		"UPDATE shard_2.t SET v = 'yy' WHERE id = 102",
		"ALTER TABLE plain.p ADD INDEX ignored_idx (id)",
		"ALTER TABLE plain.p ADD COLUMN kept_c INT",
		"INSERT INTO other.o VALUES (1)",
		"INSERT INTO plain.p (id, kept_c) VALUES (1, 7)",
	)
	e.waitSynced(t, s, r, 30*time.Second)
	rows, err := e.tgtDB.Query("SELECT id, v FROM merged.t ORDER BY id")
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var id int
		var v string
		require.NoError(t, rows.Scan(&id, &v))
		got = append(got, fmt.Sprintf("%d=%s", id, v))
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"2=b", "101=x", "102=yy"}, got)
	var n int
	require.NoError(t, e.tgtDB.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('other', 'shard_1', 'shard_2')").Scan(&n))
	require.Zero(t, n, "unmatched and routed-away schemas must not be created")
	var cols string
	require.NoError(t, e.tgtDB.QueryRow("SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='plain' AND TABLE_NAME='p'").Scan(&cols))
	require.Equal(t, "id,kept_c", cols)
	require.NoError(t, e.tgtDB.QueryRow("SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='plain' AND TABLE_NAME='q'").Scan(&cols))
	require.Equal(t, "id", cols, "ADD COLUMN aaa INT matches the ignore_sql pattern written against the restored form")
	require.NoError(t, e.tgtDB.QueryRow("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='plain' AND INDEX_NAME='ignored_idx'").Scan(&n))
	require.Zero(t, n, "the ALTER matching ignore_sql must not be applied")
	var kept int
	require.NoError(t, e.tgtDB.QueryRow("SELECT kept_c FROM plain.p WHERE id = 1").Scan(&kept))
	require.Equal(t, 7, kept)
	require.NoError(t, r.stop())
}

// TestDDLMidStream: ALTER TABLE ADD COLUMN between rows, replayed after the upstream already
// has the new column; then more DDL and rows while running.
func TestDDLMidStream(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB,
		"CREATE DATABASE d",
		"CREATE TABLE d.t (id INT PRIMARY KEY, a VARCHAR(10))",
		"INSERT INTO d.t VALUES (1, 'x'), (2, 'y')",
		"UPDATE d.t SET a = 'xx' WHERE id = 1",
		"ALTER TABLE d.t ADD COLUMN b INT NOT NULL DEFAULT 5",
		"INSERT INTO d.t VALUES (3, 'z', 7)",
		"UPDATE d.t SET b = 9 WHERE id = 2",
	)
	s := mustNew(t, e.config(t, 4, 10))
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "d.t")
	execAll(t, e.srcDB,
		"INSERT INTO d.t VALUES (4, 'w', 1)",
		"ALTER TABLE d.t ADD COLUMN c DATETIME NULL, ADD UNIQUE KEY (a)",
		"INSERT INTO d.t VALUES (5, 'v', 2, '2020-01-01 00:00:00')",
		"CREATE TABLE d.u LIKE d.t",
		"INSERT INTO d.u SELECT * FROM d.t",
		"TRUNCATE TABLE d.t",
		"INSERT INTO d.t VALUES (6, 'q', 3, NULL)",
		"RENAME TABLE d.u TO d.u2",
		"DELETE FROM d.u2 WHERE id = 1",
	)
	e.waitSynced(t, s, r, 30*time.Second)
	e.sameData(t, "d.t", "d.u2")
	require.NoError(t, r.stop())
}

// TestStatus: synced with lag 0 when idle; behind with a lag while the target is blocked;
// metrics.
func TestStatus(t *testing.T) {
	e := newEnv(t)
	execAll(t, e.srcDB, "CREATE DATABASE st", "CREATE TABLE st.t (id INT PRIMARY KEY)")
	cfg := e.config(t, 2, 10)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s := mustNew(t, cfg)
	r := e.run(t, s, e.start)
	e.waitSynced(t, s, r, 30*time.Second)
	waitFor(t, 10*time.Second, func() bool {
		st := s.Status()
		return st.Synced && st.SecondsBehindMaster == 0
	}, "synced and no lag when idle")

	// Block the table on the target, then write old-stamped rows upstream.
	lock, err := e.tgtDB.Conn(context.Background())
	require.NoError(t, err)
	defer lock.Close()
	_, err = lock.ExecContext(context.Background(), "LOCK TABLES st.t WRITE")
	require.NoError(t, err)
	conn, err := e.srcDB.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), "SET TIMESTAMP = UNIX_TIMESTAMP() - 100")
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), "INSERT INTO st.t VALUES (1), (2)")
	require.NoError(t, err)
	waitFor(t, 10*time.Second, func() bool {
		st := s.Status()
		return !st.Synced && st.SecondsBehindMaster >= 90
	}, "behind with a lag while the target is blocked")
	require.GreaterOrEqual(t, metricValue(t, s.metrics.lag), 90.0)
	_, err = lock.ExecContext(context.Background(), "UNLOCK TABLES")
	require.NoError(t, err)
	e.waitSynced(t, s, r, 30*time.Second)
	waitFor(t, 10*time.Second, func() bool {
		st := s.Status()
		return st.Synced && st.SecondsBehindMaster == 0
	}, "synced again")
	st := s.Status()
	require.Equal(t, "remote", st.BinlogType)
	require.Equal(t, st.MasterBinlog, st.SyncerBinlog)
	require.NotEmpty(t, st.SyncerBinlogGTID)

	families, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, name := range []string{"dm_syncer_finished_jobs_total", "dm_syncer_binlog_pos", "dm_syncer_binlog_file",
		"dm_syncer_replication_lag_gauge", "dm_syncer_queue_size", "dm_syncer_txn_duration_time",
		"dm_syncer_replication_lag", "dm_syncer_add_job_duration", "dm_syncer_added_jobs_total", "dm_syncer_conflict_detect_duration",
		"dm_syncer_remaining_time", "dm_syncer_finished_transaction_total", "dm_syncer_replication_transaction_batch",
		"dm_syncer_flush_checkpoints_time_interval", "dm_syncer_read_binlog_duration", "dm_syncer_binlog_event_size"} {
		require.True(t, names[name], "metric %s", name)
	}
	require.Equal(t, 2.0, metricValue(t, s.metrics.finished(ChangeInsert, 0, "st", "t"))+metricValue(t, s.metrics.finished(ChangeInsert, 1, "st", "t")))
	require.Equal(t, 2.0, metricValue(t, s.metrics.jobCounter(s.metrics.added, s.metrics.c.addedJobs, ChangeInsert, 0, "st", "t"))+
		metricValue(t, s.metrics.jobCounter(s.metrics.added, s.metrics.c.addedJobs, ChangeInsert, 1, "st", "t")))
	require.NoError(t, r.stop())
	// A second Syncer on the same registry reuses the collectors.
	_ = mustNew(t, cfg)
}

func waitFor(t testing.TB, timeout time.Duration, f func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCheckpointTable: the checkpoint table's columns are not reserved words (checked against
// the server and a list of MySQL 8 / TiDB reserved words), and the exported helpers work.
func TestCheckpointTable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	loc, found, err := LoadCheckpoint(ctx, e.tgtDB, "dm_meta", "t1", "src1")
	require.NoError(t, err)
	require.False(t, found)
	require.True(t, loc.IsZero())
	require.NoError(t, SaveStart(ctx, e.tgtDB, "dm_meta", "t1", "src1", e.start))
	loc, found, err = LoadCheckpoint(ctx, e.tgtDB, "dm_meta", "t1", "src1")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, e.start, loc)

	rows, err := e.tgtDB.Query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'dm_meta' AND TABLE_NAME = 't1_syncer_checkpoint'")
	require.NoError(t, err)
	var cols []string
	for rows.Next() {
		var c string
		require.NoError(t, rows.Scan(&c))
		cols = append(cols, c)
	}
	require.ElementsMatch(t, checkpointColumns, cols)
	for _, c := range cols {
		_, err := e.tgtDB.Exec("SELECT 1 AS " + c + " FROM dual WHERE 1 = 0")
		require.NoError(t, err, "column %s must not be a reserved word", c)
		require.False(t, reservedWords[strings.ToUpper(c)], "column %s is a reserved word", c)
	}
	require.NoError(t, DropCheckpoint(ctx, e.tgtDB, "dm_meta", "t1"))
	_, found, err = LoadCheckpoint(ctx, e.tgtDB, "dm_meta", "t1", "src1")
	require.NoError(t, err)
	require.False(t, found)
}

// reservedWords: MySQL 8.4 and TiDB reserved words that look like column names.
var reservedWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`ACCESSIBLE ADD ALL ALTER ANALYZE AND AS ASC BEFORE BETWEEN BIGINT BINARY BLOB BOTH BY CALL
		CASCADE CASE CHANGE CHAR CHARACTER CHECK COLLATE COLUMN CONDITION CONSTRAINT CONTINUE CONVERT CREATE CROSS CUBE
		CUME_DIST CURRENT_DATE CURRENT_ROLE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATABASE DATABASES DAY_HOUR
		DEC DECIMAL DECLARE DEFAULT DELAYED DELETE DENSE_RANK DESC DESCRIBE DETERMINISTIC DISTINCT DIV DOUBLE DROP DUAL
		EACH ELSE ELSEIF EMPTY ENCLOSED ESCAPED EXCEPT EXISTS EXIT EXPLAIN FALSE FETCH FIRST_VALUE FLOAT FOR FORCE FOREIGN
		FROM FULLTEXT FUNCTION GENERATED GET GRANT GROUP GROUPING GROUPS HAVING HIGH_PRIORITY IF IGNORE IN INDEX INFILE
		INNER INOUT INSENSITIVE INSERT INT INTEGER INTERSECT INTERVAL INTO IS ITERATE JOIN JSON_TABLE KEY KEYS KILL LAG
		LAST_VALUE LATERAL LEAD LEADING LEAVE LEFT LIKE LIMIT LINEAR LINES LOAD LOCALTIME LOCALTIMESTAMP LOCK LONG LOOP
		MATCH MAXVALUE MOD MODIFIES NATURAL NOT NTH_VALUE NTILE NULL NUMERIC OF ON OPTIMIZE OPTION OR ORDER OUT OUTER
		OVER PARTITION PERCENT_RANK PRECISION PRIMARY PROCEDURE PURGE RANGE RANK READ READS REAL RECURSIVE REFERENCES
		REGEXP RELEASE RENAME REPEAT REPLACE REQUIRE RESIGNAL RESTRICT RETURN REVOKE RIGHT RLIKE ROW ROWS ROW_NUMBER
		SCHEMA SCHEMAS SELECT SET SHOW SIGNAL SMALLINT SPATIAL SQL STARTING STORED STRAIGHT_JOIN SYSTEM TABLE TABLESAMPLE
		TERMINATED THEN TINYINT TO TRAILING TRIGGER TRUE UNION UNIQUE UNLOCK UNSIGNED UPDATE USAGE USE USING UTC_DATE
		UTC_TIME UTC_TIMESTAMP VALUES VARBINARY VARCHAR VIRTUAL WHEN WHERE WHILE WINDOW WITH WRITE XOR YEAR_MONTH
		ZEROFILL TIDB_CURRENT_TSO SPLIT TABLESAMPLE VARIABLES STATS_EXTENDED`) {
		reservedWords[w] = true
	}
}

func metricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	require.NoError(t, m.Write(&out))
	switch {
	case out.Gauge != nil:
		return out.Gauge.GetValue()
	case out.Counter != nil:
		return out.Counter.GetValue()
	}
	t.Fatalf("not a gauge or counter")
	return 0
}
