// Command replay-archive replays a MariaDB's (or MySQL's) changes into another server with a
// filter of its own: DELETEs are not applied, so the target keeps every row the upstream ever
// had. It shows a Syncer with a custom Applier that wraps the default one — exact resume,
// parallel replay and DDL come with it; the filter is five lines.
//
//	replay-archive -from 127.0.0.1:3306 -to 127.0.0.1:4000 -schema shop   ($SOURCE_PWD, $TARGET_PWD)
//
// The first run starts at the upstream's current position; later runs resume from the
// checkpoint in the target (dm_meta.archive_syncer_checkpoint). It runs until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/syncer"
	"github.com/dm-oss/dm/binlog/tracker"
	"github.com/dm-oss/dm/binlog/upstream"
)

// archive is the custom filter: every change but DELETEs goes to the default applier.
type archive struct{ syncer.Applier }

func (a archive) Apply(ctx context.Context, b syncer.Batch) error {
	kept := b.Changes[:0]
	for _, c := range b.Changes {
		if c.Kind != syncer.ChangeDelete {
			kept = append(kept, c)
		}
	}
	b.Changes = kept // the checkpoint still records the deletes as done
	return a.Applier.Apply(ctx, b)
}

func main() {
	from := flag.String("from", "127.0.0.1:3306", "upstream host:port")
	to := flag.String("to", "127.0.0.1:4000", "target host:port")
	user := flag.String("user", "root", "user on both servers")
	schema := flag.String("schema", "*", "schema pattern to replay")
	serverID := flag.Uint("server-id", 4343, "server_id to read the binlog with")
	flag.Parse()
	src, err := hostPort(*from, *user, os.Getenv("SOURCE_PWD"))
	if err == nil {
		var tgt upstream.Config
		tgt, err = hostPort(*to, *user, os.Getenv("TARGET_PWD"))
		if err == nil {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = run(ctx, src, tgt, *schema, uint32(*serverID))
			if ctx.Err() != nil {
				err = nil
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay-archive:", err)
		os.Exit(1)
	}
}

func hostPort(addr, user, password string) (upstream.Config, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return upstream.Config{}, err
	}
	p, err := strconv.Atoi(port)
	return upstream.Config{Host: host, Port: p, User: user, Password: password}, err
}

func run(ctx context.Context, srcCfg, tgtCfg upstream.Config, schema string, serverID uint32) error {
	up, err := upstream.Open(ctx, srcCfg)
	if err != nil {
		return err
	}
	defer up.Close()
	target, err := upstream.Open(ctx, tgtCfg)
	if err != nil {
		return err
	}
	defer target.Close()
	info, err := upstream.Inspect(ctx, up)
	if err != nil {
		return err
	}
	rl, err := rules.New([]rules.MigrateRule{{SchemaPattern: schema, TablePattern: "*"}}, nil, false)
	if err != nil {
		return err
	}
	tr := tracker.New(nil)
	s, err := syncer.New(syncer.Config{Task: "archive", Source: "upstream", Target: target, Upstream: up,
		Rules: rl, Tracker: tr, Applier: archive{syncer.NewSQLApplier(target)}})
	if err != nil {
		return err
	}
	start, err := s.ResumeLocation(ctx)
	if err != nil {
		return err
	}
	if start.IsZero() { // first run: from now on, with the tables as they are now
		start = binlog.Location{File: info.BinlogFile, Pos: info.BinlogPos}
		if err := syncer.SaveStart(ctx, target, "", "archive", "upstream", start); err != nil {
			return err
		}
		if err := tr.SeedFromUpstream(ctx, up, rl); err != nil {
			return err
		}
	}
	rd, err := reader.NewRemote(ctx, reader.RemoteConfig{Upstream: srcCfg, Flavor: string(info.Flavor), ServerID: serverID, Start: start})
	if err != nil {
		return err
	}
	defer rd.Close()
	fmt.Fprintln(os.Stderr, "replay-archive: replaying from", start.String())
	return s.Run(ctx, rd, start)
}
