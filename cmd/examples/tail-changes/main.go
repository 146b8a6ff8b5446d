// Command tail-changes prints a MariaDB's (or MySQL's) row changes and DDL as JSON lines, decoded
// with the table definitions as they were when each change was written. It shows dm's Stream:
// the binlog reader, the schema tracker, the rules, and a Handler of one's own.
//
//	tail-changes -host 127.0.0.1 -port 3306 -user repl -schema 'shop*'   (password: $MYSQL_PWD)
//
// It starts at the upstream's current position and runs until interrupted.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/syncer"
	"github.com/dm-oss/dm/binlog/upstream"
)

// printer is the Handler: one JSON object per change, per DDL and per commit.
type printer struct{ out *json.Encoder }

func (p printer) OnRows(_ context.Context, e syncer.RowsEvent) error {
	for _, c := range e.Changes {
		schema, table := c.Table.Source()
		line := map[string]any{"kind": c.Kind.String(), "table": schema + "." + table}
		if c.Before != nil {
			line["before"] = row(c.Table.Columns(), c.Before)
		}
		if c.After != nil {
			line["after"] = row(c.Table.Columns(), c.After)
		}
		if err := p.out.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

func (p printer) OnDDL(_ context.Context, e syncer.DDLEvent) error {
	return p.out.Encode(map[string]any{"kind": "ddl", "ddl": e.Statement.Text, "at": e.Position.String()})
}

func (p printer) OnCommit(_ context.Context, next binlog.Location) error {
	return p.out.Encode(map[string]any{"kind": "commit", "next": next.String(), "gtid": next.GTIDSet})
}

// row names the values of a row image by column.
func row(cols []string, vals []any) map[string]any {
	out := make(map[string]any, len(cols))
	for i, c := range cols {
		if b, ok := vals[i].([]byte); ok {
			vals[i] = string(b)
		}
		out[c] = vals[i]
	}
	return out
}

func main() {
	cfg := upstream.Config{Password: os.Getenv("MYSQL_PWD")}
	flag.StringVar(&cfg.Host, "host", "127.0.0.1", "upstream host")
	flag.IntVar(&cfg.Port, "port", 3306, "upstream port")
	flag.StringVar(&cfg.User, "user", "root", "upstream user (REPLICATION SLAVE, REPLICATION CLIENT, SELECT)")
	serverID := flag.Uint("server-id", 4242, "server_id to read the binlog with (unique among the upstream's replicas)")
	schema := flag.String("schema", "*", "schema pattern of the tables to show")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, uint32(*serverID), *schema); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "tail-changes:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg upstream.Config, serverID uint32, schema string) error {
	db, err := upstream.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	info, err := upstream.Inspect(ctx, db)
	if err != nil {
		return err
	}
	rl, err := rules.New([]rules.MigrateRule{{SchemaPattern: schema, TablePattern: "*"}}, nil, false)
	if err != nil {
		return err
	}
	return tail(ctx, db, cfg, info, serverID, rl)
}

func tail(ctx context.Context, db *sql.DB, cfg upstream.Config, info upstream.Info, serverID uint32, rl *rules.Rules) error {
	start := binlog.Location{File: info.BinlogFile, Pos: info.BinlogPos}
	rd, err := reader.NewRemote(ctx, reader.RemoteConfig{Upstream: cfg, Flavor: string(info.Flavor), ServerID: serverID, Start: start})
	if err != nil {
		return err
	}
	defer rd.Close()
	s, err := syncer.NewStream(syncer.StreamConfig{Upstream: db, Rules: rl}, printer{json.NewEncoder(os.Stdout)})
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "tail-changes: reading from", start.String())
	return s.Run(ctx, rd, start)
}
