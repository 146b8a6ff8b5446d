package dump

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/internal/durable"
)

// MetadataFile is the name of the metadata file in a dump directory. It is
// written last, after every data and schema file has been synced, so its
// presence means the dump is complete.
const MetadataFile = "metadata"

// Metadata describes a finished dump.
type Metadata struct {
	// ID identifies this dump among all dumps of any task; loaders record it
	// with their checkpoints to tell the rows of an older dump apart.
	ID string `json:"id"`
	// Location is the consistent position: replication continues from it.
	Location binlog.Location `json:"location"`
	Flavor   string          `json:"flavor"`
	// Consistency is the mode that was used (auto resolved to what it chose).
	Consistency string `json:"consistency"`
	// Threads is the number of snapshot connections that read the data.
	Threads   int          `json:"threads"`
	Started   time.Time    `json:"started"`
	Completed time.Time    `json:"completed"`
	Schemas   []SchemaMeta `json:"schemas"`
	// DefaultCollations maps the upstream's character sets to their default collations, so
	// that a loader can make a collation explicit where a definition names only a
	// character set (the target's defaults may differ: TiDB's utf8mb4 is utf8mb4_bin).
	DefaultCollations map[string]string `json:"default_collations,omitempty"`
	Tables            []TableMeta       `json:"tables"`
	// Finished is true in every metadata file Run writes: the file is only
	// written once the dump is complete.
	Finished bool `json:"finished"`
}

// SchemaMeta is one dumped schema (database).
type SchemaMeta struct {
	Name      string `json:"name"`
	Charset   string `json:"charset,omitempty"`
	Collation string `json:"collation,omitempty"`
	// File holds the server's CREATE DATABASE statement.
	File string `json:"file"`
}

// TableMeta is one dumped table, under its source name.
type TableMeta struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// SchemaFile holds the CREATE TABLE statement, beginning with
	// CreateTablePrefix.
	SchemaFile string `json:"schema_file"`
	// Columns are the columns the data files insert, in order (generated
	// columns are left out: the target computes them).
	Columns []string `json:"columns"`
	// KeyColumns is the primary key, or else a unique key of NOT NULL
	// columns; empty when the table has neither. Chunks are ranges of it.
	KeyColumns []string `json:"key_columns,omitempty"`
	Rows       int64    `json:"rows"`
	Bytes      int64    `json:"bytes"`
	Chunks     []Chunk  `json:"chunks"`
}

// Chunk is one data file: INSERT statements, one per line, each beginning
// with the table's InsertPrefix and ending with ";".
type Chunk struct {
	File  string `json:"file"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
	// MinKey and MaxKey are the key values of the chunk's first and last row
	// as SQL literals, one per key column (nil for a table without key). The
	// rows of a chunk all lie in [MinKey, MaxKey].
	MinKey []string `json:"min_key,omitempty"`
	MaxKey []string `json:"max_key,omitempty"`
}

// TotalBytes is the size of all data files.
func (m Metadata) TotalBytes() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Bytes
	}
	return n
}

// TotalRows is the number of dumped rows.
func (m Metadata) TotalRows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// ReadMetadata reads dir's metadata file. ok is false (and err nil) when
// there is none, i.e. no dump was completed in dir.
func ReadMetadata(dir string) (Metadata, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetadataFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Metadata{}, false, nil
	}
	if err != nil {
		return Metadata{}, false, fmt.Errorf("read dump metadata: %w", err)
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return Metadata{}, false, fmt.Errorf("read dump metadata %s: %w", filepath.Join(dir, MetadataFile), err)
	}
	return m, true, nil
}

// writeMetadata writes the metadata file atomically and durably.
func writeMetadata(dir string, m Metadata) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(dir, MetadataFile, append(b, '\n'), filePerm)
}

// defaultCollations reads the upstream's default collation of each character set.
func defaultCollations(ctx context.Context, c *sql.Conn) (map[string]string, error) {
	rows, err := c.QueryContext(ctx, "SELECT CHARACTER_SET_NAME, DEFAULT_COLLATE_NAME FROM information_schema.CHARACTER_SETS")
	if err != nil {
		return nil, fmt.Errorf("read the default collations: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var cs, co string
		if err := rows.Scan(&cs, &co); err != nil {
			return nil, fmt.Errorf("read the default collations: %w", err)
		}
		out[strings.ToLower(cs)] = strings.ToLower(co)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the default collations: %w", err)
	}
	return out, nil
}
