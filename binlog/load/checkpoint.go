package load

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dm-oss/dm/binlog/internal/fence"

	"github.com/go-sql-driver/mysql"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/upstream"
)

// CheckpointTableSuffix follows the task name in the checkpoint table's
// name, as in DM: <meta_schema>.<task>_loader_checkpoint.
const CheckpointTableSuffix = "_loader_checkpoint"

// summaryFile is cp_file of the row that describes a source's whole load.
const summaryFile = ""

// checkpointColumns are the checkpoint table's columns. None of them is a
// reserved word in MySQL, MariaDB or TiDB (DM's `offset` breaks MariaDB
// 10.6+), and all are prefixed so that none ever becomes one.
var checkpointColumns = []string{
	"cp_source", "cp_file", "cp_dump_id", "cp_src_schema", "cp_src_table", "cp_tgt_schema", "cp_tgt_table",
	"cp_key_cols", "cp_key_min", "cp_key_max", "cp_row_count", "cp_byte_count", "cp_done",
	"cp_binlog_name", "cp_binlog_pos", "cp_binlog_gtid", "cp_updated_at",
}

// CheckpointColumns lists the checkpoint table's column names.
func CheckpointColumns() []string { return append([]string(nil), checkpointColumns...) }

// checkpointDDL creates the checkpoint table. One row per loaded chunk
// (cp_file = the data file) and one summary row per source (cp_file = ”)
// that carries the dump's position and whether the load is done.
const checkpointDDL = `CREATE TABLE IF NOT EXISTS %s (
  cp_source VARCHAR(128) NOT NULL,
  cp_file VARCHAR(255) NOT NULL,
  cp_dump_id VARCHAR(64) NOT NULL,
  cp_src_schema VARCHAR(64) NOT NULL DEFAULT '',
  cp_src_table VARCHAR(64) NOT NULL DEFAULT '',
  cp_tgt_schema VARCHAR(64) NOT NULL DEFAULT '',
  cp_tgt_table VARCHAR(64) NOT NULL DEFAULT '',
  cp_key_cols TEXT NULL,
  cp_key_min MEDIUMTEXT NULL,
  cp_key_max MEDIUMTEXT NULL,
  cp_row_count BIGINT NOT NULL DEFAULT 0,
  cp_byte_count BIGINT NOT NULL DEFAULT 0,
  cp_done TINYINT NOT NULL DEFAULT 0,
  cp_binlog_name VARCHAR(255) NOT NULL DEFAULT '',
  cp_binlog_pos BIGINT UNSIGNED NOT NULL DEFAULT 0,
  cp_binlog_gtid TEXT NULL,
  cp_updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (cp_source, cp_file)
) DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`

// checkpointTable is `meta`.`task_loader_checkpoint`.
func checkpointTable(metaSchema, task string) string {
	return upstream.QuoteName(metaSchema) + "." + upstream.QuoteName(task+CheckpointTableSuffix)
}

// cpRow is one checkpoint row.
type cpRow struct {
	file, dumpID            string
	tgtSchema, tgtTable     string
	keyCols, keyMin, keyMax []string
	done                    bool
	loc                     binlog.Location
	bytes                   int64
}

func createCheckpointTable(ctx context.Context, c *sql.Conn, metaSchema, task string) error {
	if _, err := c.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+upstream.QuoteName(metaSchema)); err != nil {
		return fmt.Errorf("create meta schema %s: %w", upstream.QuoteName(metaSchema), err)
	}
	if _, err := c.ExecContext(ctx, fmt.Sprintf(checkpointDDL, checkpointTable(metaSchema, task))); err != nil {
		return fmt.Errorf("create checkpoint table %s: %w", checkpointTable(metaSchema, task), err)
	}
	return nil
}

// readCheckpoints returns the source's rows by file.
func readCheckpoints(ctx context.Context, c *sql.Conn, metaSchema, task, source string) (map[string]cpRow, error) {
	rows, err := c.QueryContext(ctx, `SELECT cp_file, cp_dump_id, cp_tgt_schema, cp_tgt_table, cp_key_cols, cp_key_min, cp_key_max,
		cp_done, cp_binlog_name, cp_binlog_pos, cp_binlog_gtid, cp_byte_count FROM `+checkpointTable(metaSchema, task)+
		` WHERE cp_source = ?`, source)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	out := map[string]cpRow{}
	for rows.Next() {
		var r cpRow
		var keyCols, keyMin, keyMax, gtid sql.NullString
		if err := rows.Scan(&r.file, &r.dumpID, &r.tgtSchema, &r.tgtTable, &keyCols, &keyMin, &keyMax,
			&r.done, &r.loc.File, &r.loc.Pos, &gtid, &r.bytes); err != nil {
			return nil, fmt.Errorf("read checkpoints: %w", err)
		}
		r.loc.GTIDSet = gtid.String
		for _, f := range []struct {
			s   sql.NullString
			dst *[]string
		}{{keyCols, &r.keyCols}, {keyMin, &r.keyMin}, {keyMax, &r.keyMax}} {
			if f.s.Valid && f.s.String != "" {
				if err := json.Unmarshal([]byte(f.s.String), f.dst); err != nil {
					return nil, fmt.Errorf("checkpoint of %s: bad key %q: %w", r.file, f.s.String, err)
				}
			}
		}
		out[r.file] = r
	}
	return out, rows.Err()
}

func jsonOrNull(v []string) any {
	if len(v) == 0 {
		return nil
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// isMissingTable: the table or its schema does not exist.
func isMissingTable(err error) bool {
	var myErr *mysql.MySQLError
	return errors.As(err, &myErr) && (myErr.Number == 1146 || myErr.Number == 1049)
}

// Finished reports whether the source's load of the task completed, and the
// dump position recorded with it (where replication continues). A missing
// checkpoint table or row is not an error: the load has not finished.
func Finished(ctx context.Context, target *sql.DB, metaSchema, task, source string) (bool, binlog.Location, error) {
	var done bool
	var loc binlog.Location
	var gtid sql.NullString
	err := target.QueryRowContext(ctx, "SELECT cp_done, cp_binlog_name, cp_binlog_pos, cp_binlog_gtid FROM "+
		checkpointTable(metaSchema, task)+" WHERE cp_source = ? AND cp_file = ?", source, summaryFile).
		Scan(&done, &loc.File, &loc.Pos, &gtid)
	switch {
	case errors.Is(err, sql.ErrNoRows), isMissingTable(err):
		return false, binlog.Location{}, nil
	case err != nil:
		return false, binlog.Location{}, fmt.Errorf("read load checkpoint: %w", err)
	}
	loc.GTIDSet = gtid.String
	return done, loc, nil
}

// DropCheckpoint removes the task's load checkpoints (remove_meta): the next
// load starts from scratch.
func DropCheckpoint(ctx context.Context, target *sql.DB, metaSchema, task string) error {
	for _, table := range []string{checkpointTable(metaSchema, task), ownerTable(metaSchema, task)} {
		_, err := target.ExecContext(ctx, "DROP TABLE IF EXISTS "+table)
		if err != nil && !isMissingTable(err) {
			return fmt.Errorf("drop load checkpoint: %w", err)
		}
	}
	return nil
}

// ownerTable is `<meta>`.`<task>_loader_owner`, the load's owner fence.
func ownerTable(metaSchema, task string) string {
	return upstream.QuoteName(metaSchema) + "." + upstream.QuoteName(task+"_loader_owner")
}

// claim takes the (task, source) over for this attempt (fence.Claim), before the checkpoints
// are read.
func (l *Loader) claim(ctx context.Context, ctl *sql.Conn) error {
	if l.fence == nil {
		return nil
	}
	if _, err := ctl.ExecContext(ctx, fence.CreateSQL(ownerTable(l.cfg.MetaSchema, l.cfg.Task))); err != nil {
		return fmt.Errorf("create owner table: %w", err)
	}
	return l.fence.Claim(ctx, ctl, l.cfg.Threads, l.cfg.Worker)
}

// ResetOwners forgets the loads' owner fence of the task's sources, when the task is created
// (fence.Reset says why).
func ResetOwners(ctx context.Context, target *sql.DB, metaSchema, task string, sources []string) error {
	return fence.Reset(ctx, target, ownerTable(metaSchema, task), task, sources)
}
