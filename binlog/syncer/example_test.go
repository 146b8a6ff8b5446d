package syncer_test

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/reader"
	"github.com/dm-oss/dm/binlog/syncer"
	"github.com/dm-oss/dm/binlog/upstream"
)

// printChanges is a Handler that prints what it is given.
type printChanges struct{}

func (printChanges) OnRows(_ context.Context, e syncer.RowsEvent) error {
	for _, c := range e.Changes {
		schema, table := c.Table.Source()
		fmt.Println(c.Kind, schema, table, c.Table.Columns(), c.Before, c.After)
	}
	return nil
}

func (printChanges) OnDDL(_ context.Context, e syncer.DDLEvent) error {
	fmt.Println(e.Statement.Text)
	return nil
}

func (printChanges) OnCommit(_ context.Context, next binlog.Location) error {
	return nil // a tool would record next (and the tracker's Snapshot) to resume from
}

// Consuming an upstream's decoded changes without the replay (cmd/examples/tail-changes is
// the whole program, run by the integration tests).
func ExampleNewStream() {
	ctx := context.Background()
	cfg := upstream.Config{Host: "127.0.0.1", Port: 3306, User: "repl", Password: "secret"}
	db, err := upstream.Open(ctx, cfg)
	if err != nil {
		return
	}
	start := binlog.Location{File: "mysql-bin.000001", Pos: 4}
	rd, err := reader.NewRemote(ctx, reader.RemoteConfig{Upstream: cfg, Flavor: binlog.FlavorMariaDB, ServerID: 4242, Start: start})
	if err != nil {
		return
	}
	defer rd.Close()
	s, err := syncer.NewStream(syncer.StreamConfig{Upstream: db}, printChanges{})
	if err != nil {
		return
	}
	_ = s.Run(ctx, rd, start)
}

// skipDeletes wraps the default Applier: the target keeps the rows the upstream deletes.
type skipDeletes struct{ syncer.Applier }

func (a skipDeletes) Apply(ctx context.Context, b syncer.Batch) error {
	kept := b.Changes[:0]
	for _, c := range b.Changes {
		if c.Kind != syncer.ChangeDelete {
			kept = append(kept, c)
		}
	}
	b.Changes = kept
	return a.Applier.Apply(ctx, b)
}

// Replaying with a filter of one's own, keeping exact resume (cmd/examples/replay-archive is
// the whole program, run by the integration tests).
func ExampleNewSQLApplier() {
	ctx := context.Background()
	target, err := upstream.Open(ctx, upstream.Config{Host: "127.0.0.1", Port: 4000, User: "root"})
	if err != nil {
		return
	}
	var up *sql.DB // the upstream, opened the same way
	s, err := syncer.New(syncer.Config{Task: "archive", Source: "upstream", Target: target, Upstream: up,
		Applier: skipDeletes{syncer.NewSQLApplier(target)}})
	if err != nil {
		return
	}
	_ = s // s.Run(ctx, reader, start)
}
