// Package demo is `make demo`: a working migration on one machine, from nothing. As a plain
// test (make test) it runs the same steps and checks the rows arrived; with DM_DEMO=wait it
// also prints where to look and keeps everything up until Ctrl-C.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dm-oss/dm/integration"
)

func TestDemo(t *testing.T) {
	say := func(format string, args ...any) { fmt.Printf("demo: "+format+"\n", args...) }
	say("starting a source and a target MariaDB")
	src := integration.StartMariaDB(t, integration.MariaDBOptions{Binlog: true})
	dst := integration.StartMariaDB(t, integration.MariaDBOptions{})
	say("starting one dm-master and one dm-worker")
	c := integration.NewCluster(t)
	m := c.StartMasters(1, integration.MasterOptions{})[0]
	c.StartWorker("worker1", 10)

	say("loading sample data into the source (shop.customers, shop.orders)")
	for _, q := range []string{
		"CREATE DATABASE shop",
		"CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(50), email VARCHAR(80))",
		"CREATE TABLE shop.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT, amount DECIMAL(10,2), placed_at DATETIME(3))",
		"INSERT INTO shop.customers SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.com') FROM shop.seq_1_to_1000",
		"INSERT INTO shop.orders (customer_id, amount, placed_at) SELECT 1 + seq % 1000, seq % 500 + 0.99, NOW(3) FROM shop.seq_1_to_20000",
	} {
		src.Exec(t, q)
	}

	call := func(method, path string, body any) integration.Response {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		resp, err := integration.Call(ctx, method, m.APIAddr, path, body)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp
	}
	integration.Eventually(t, 20*time.Second, func() error {
		if resp := call(http.MethodGet, "/api/v1/cluster/workers", nil); !strings.Contains(string(resp.Body), `"free"`) {
			return fmt.Errorf("worker not ready: %s", resp.Body)
		}
		return nil
	})
	say("creating source mysql-01 through the API")
	resp := call(http.MethodPost, "/api/v1/sources", map[string]any{
		"source_name": "mysql-01", "host": src.Host(), "port": src.Port(), "user": src.User(), "password": src.Password(), "enable_gtid": true,
	})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create source: %d %s", resp.Status, resp.Body)
	}
	integration.Eventually(t, 20*time.Second, func() error {
		if resp := call(http.MethodGet, "/api/v1/cluster/workers", nil); !strings.Contains(string(resp.Body), `"bound"`) {
			return fmt.Errorf("source not bound: %s", resp.Body)
		}
		return nil
	})
	say("creating an `all` task (full copy, then binlog replication) into the target")
	resp = call(http.MethodPost, "/api/v1/tasks", map[string]any{"remove_meta": true, "task": map[string]any{
		"name": "demo", "task_mode": "all", "on_duplicate": "error", "enhance_online_schema_change": true,
		"target_config":      map[string]any{"host": dst.Host(), "port": dst.Port(), "user": dst.User(), "password": dst.Password()},
		"table_migrate_rule": []map[string]any{{"source": map[string]any{"source_name": "mysql-01", "schema": "shop", "table": "*"}}},
		"source_config":      map[string]any{"source_conf": []map[string]any{{"source_name": "mysql-01"}}},
	}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create task: %d %s", resp.Status, resp.Body)
	}
	waitSynced := func() {
		integration.Eventually(t, 2*time.Minute, func() error {
			var gtid string
			if err := src.DB(t).QueryRow("SELECT @@gtid_binlog_pos").Scan(&gtid); err != nil {
				return err
			}
			resp := call(http.MethodGet, "/api/v1/tasks/demo/status", nil)
			if strings.Contains(string(resp.Body), `"error_msg"`) {
				t.Fatalf("task failed: %s", resp.Body)
			}
			if !strings.Contains(string(resp.Body), `"synced":true`) || !strings.Contains(string(resp.Body), `"syncer_binlog_gtid":"`+gtid+`"`) {
				return fmt.Errorf("not synced to %s: %s", gtid, resp.Body)
			}
			return nil
		})
	}
	waitSynced()
	say("writing a few rows on the source while the task replicates")
	src.Exec(t, "INSERT INTO shop.customers VALUES (1001, 'new customer', 'new@example.com')")
	src.Exec(t, "UPDATE shop.orders SET amount = amount + 1 WHERE id <= 10")
	src.Exec(t, "DELETE FROM shop.orders WHERE id BETWEEN 11 AND 20")
	integration.Eventually(t, time.Minute, func() error {
		for _, table := range []string{"shop.customers", "shop.orders"} {
			if err := integration.CompareTable(t.Context(), src.DB(t), table, dst.DB(t), table); err != nil {
				return err
			}
		}
		return nil
	})
	waitSynced()
	resp = call(http.MethodGet, "/api/v1/tasks/demo/status", nil)
	var pretty any
	_ = json.Unmarshal(resp.Body, &pretty)
	out, _ := json.MarshalIndent(pretty, "", "  ")
	say("task status:\n%s", out)
	say("the source and the target have the same rows (CHECKSUM TABLE equal)")
	if page := call(http.MethodGet, "/dashboard/", nil); page.Status != http.StatusOK {
		t.Fatalf("GET /dashboard/: %d %s", page.Status, page.Body)
	}

	if os.Getenv("DM_DEMO") != "wait" {
		return
	}
	say("look at:")
	say("  dashboard         http://%s/dashboard/", m.APIAddr)
	say("  Swagger UI        http://%s/api/v1/docs", m.APIAddr)
	say("  task status       curl http://%s/api/v1/tasks/demo/status", m.APIAddr)
	say("  sources           curl http://%s/api/v1/sources?with_status=true", m.APIAddr)
	say("  members           curl http://%s/api/v1/cluster/workers", m.APIAddr)
	say("  master metrics    http://%s/metrics", m.APIAddr)
	say("  worker metrics    http://%s/metrics", c.Workers[0].APIAddr)
	say("  source database   mariadb -h127.0.0.1 -P%d -u%s -p'%s' shop", src.Port(), src.User(), src.Password())
	say("  target database   mariadb -h127.0.0.1 -P%d -u%s -p'%s' shop", dst.Port(), dst.User(), dst.Password())
	say("press Ctrl-C to stop everything")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}
