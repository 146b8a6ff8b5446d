package upstream

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/dm-oss/dm/integration"
	"github.com/go-sql-driver/mysql"
)

func TestScratchExplore(t *testing.T) {
	m := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	m.Exec(t, "CREATE ROLE r1")
	m.Exec(t, "GRANT SELECT, RELOAD ON *.* TO r1")
	m.Exec(t, "CREATE ROLE r2")
	m.Exec(t, "GRANT LOCK TABLES ON *.* TO r2")
	m.Exec(t, "GRANT r2 TO r1")
	m.Exec(t, "GRANT SELECT ON `test`.* TO PUBLIC")
	m.Exec(t, "GRANT SHOW VIEW ON *.* TO PUBLIC")
	m.CreateUser(t, "u1", "p1", "REPLICATION SLAVE, REPLICATION CLIENT ON *.*", "ALL ON app.*", "r1")
	m.Exec(t, "SET DEFAULT ROLE r1 FOR u1")
	m.Exec(t, "CREATE DATABASE x; CREATE TABLE x.t (a int)"); m.CreateUser(t, "u2", "p2", "ALL PRIVILEGES ON *.*", "SELECT (a) ON x.t")
	m.Exec(t, "CREATE USER u3@'%' IDENTIFIED BY 'secret3' REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 10")
	m.Exec(t, "CREATE DATABASE `a``b`")
	for _, u := range [][2]string{{"u1", "p1"}, {"u2", "p2"}, {"root", m.Password()}} {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = u[0], u[1], "tcp", m.Addr()
		c, _ := mysql.NewConnector(cfg)
		db := sql.OpenDB(c)
		for _, q := range []string{"SHOW GRANTS FOR CURRENT_USER()", "SHOW GRANTS", "SELECT CURRENT_ROLE()", "SHOW GRANTS FOR r1", "SHOW GRANTS FOR r2", "SHOW GRANTS FOR PUBLIC", "SHOW MASTER STATUS", "SELECT @@gtid_binlog_pos, @@version, @@server_id", "SHOW GRANTS FOR u3"} {
			rows, err := db.Query(q)
			if err != nil {
				fmt.Printf("%s %s: ERR %v\n", u[0], q, err)
				continue
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]sql.NullString, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				rows.Scan(ptrs...)
				fmt.Printf("%s %s: %v\n", u[0], q, vals)
			}
			rows.Close()
		}
		db.Close()
	}
}
