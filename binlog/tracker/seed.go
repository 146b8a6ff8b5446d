package tracker

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dm-oss/dm/binlog/dump"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/upstream"
)

// A sync unit's tracker starts from the tables as they were at the position replication
// starts from: a full dump's schema files (taken at the dump's position), or, for an
// incremental task, the upstream's current definitions, the best there is for its start.
// A table that cannot be tracked is left out with a warning: it is read from the upstream when
// a row event first needs it.

// SeedFromDump tracks the tables of the finished dump in dir, and its schemas' default
// character sets and collations. It reports false when dir holds no finished dump.
func (t *Tracker) SeedFromDump(dir string) (bool, error) {
	meta, ok, err := dump.ReadMetadata(dir)
	if err != nil || !ok || !meta.Finished {
		return false, err
	}
	for _, sm := range meta.Schemas {
		t.SetSchemaDefaults(sm.Name, sm.Charset, sm.Collation)
	}
	for _, tm := range meta.Tables {
		b, err := os.ReadFile(filepath.Join(dir, tm.SchemaFile))
		if err != nil {
			return false, fmt.Errorf("read dumped schema of `%s`.`%s`: %w", tm.Schema, tm.Table, err)
		}
		if err := t.CreateTable(tm.Schema, tm.Table, strings.TrimSuffix(strings.TrimSpace(string(b)), ";")); err != nil {
			t.log.Warn("dumped schema not tracked; the table is read from the upstream when first needed",
				"table", TableRef{tm.Schema, tm.Table}.String(), "err", err)
		}
	}
	return true, nil
}

// SeedFromUpstream tracks every table rl selects as db has it now.
func (t *Tracker) SeedFromUpstream(ctx context.Context, db *sql.DB, rl *rules.Rules) error {
	schemas, err := upstream.ListSchemas(ctx, db)
	if err != nil {
		return fmt.Errorf("seed schema tracker: %w", err)
	}
	for _, sch := range schemas {
		if rl != nil && !rl.MatchSchema(sch) {
			continue
		}
		tables, err := upstream.ListTables(ctx, db, sch)
		if err != nil {
			return fmt.Errorf("seed schema tracker: %w", err)
		}
		for _, tb := range tables {
			if rl != nil && !rl.Match(sch, tb) {
				continue
			}
			create, err := ShowCreateTable(ctx, db, sch, tb)
			if err == nil {
				err = t.CreateTable(sch, tb, create)
			}
			if err != nil {
				t.log.Warn("table not tracked at start; it is read from the upstream when first needed", "table", TableRef{sch, tb}.String(), "err", err)
			}
		}
	}
	return nil
}
