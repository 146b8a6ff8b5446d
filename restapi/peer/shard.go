package peer

import (
	"context"
	"net/http"

	"github.com/dm-oss/dm/fsm"
)

// Shard-DDL coordination routes, served by every master (forwarded to the leader).
const (
	// PathShardDDL: POST ShardDDLReport → ShardLockState, the lock after the report.
	PathShardDDL = "/internal/v1/shard-ddl"
	// PathShardDDLDone: POST ShardDDLDoneRequest → {}.
	PathShardDDLDone = "/internal/v1/shard-ddl/done"
	// PathShardColumns: POST ShardColumnClaim → {}; shards that disagree on a column's definition
	// get 400 with error_code 36069.
	PathShardColumns = "/internal/v1/shard-ddl/columns"
)

// ShardDDLReport says that the source's shard tables routed into Target ("`schema`.`table`")
// reached DDLs (pessimistic mode): the source joins the lock on the target table, creating it if
// it is the first. Sources reporting different DDLs for one lock get error_code 36069.
type ShardDDLReport struct {
	Task   string   `json:"task"`
	Source string   `json:"source"`
	Target string   `json:"target"`
	DDLs   []string `json:"ddls"`
}

// ShardLockState is a lock as a worker needs it: who runs the DDLs downstream, whether it may go
// on, and which sources have (not) reported yet. A lock that no longer exists because it was
// finished is reported with Resolved and Done set.
type ShardLockState struct {
	ID       string   `json:"id"`
	Owner    string   `json:"owner"`
	Resolved bool     `json:"resolved"`
	Action   string   `json:"action"` // fsm.ShardActionExec or fsm.ShardActionSkip once resolved
	Done     bool     `json:"done"`
	Synced   []string `json:"synced"`
	Unsynced []string `json:"unsynced"`
}

// ShardDDLDoneRequest is sent by the lock's owner once it ran the DDLs downstream, and by every
// source (the owner included) once its stream is past them. An unknown lock is not an error.
type ShardDDLDoneRequest struct {
	ID     string `json:"id"`
	Source string `json:"source"`
}

// ShardColumnClaim says that the shard Table ("`schema`.`table`") of Source adds Columns to the
// task's merged Target table (optimistic mode): the first shard adding a column claims it, and a
// shard adding it with another definition is refused (error_code 36069).
type ShardColumnClaim struct {
	Task    string          `json:"task"`
	Target  string          `json:"target"`
	Source  string          `json:"source"`
	Table   string          `json:"table"`
	Columns []fsm.ColumnDef `json:"columns"`
}

// ReportShardDDL joins (or creates) the pessimistic lock of the report and returns the lock.
// A refusal, such as a conflict (36069), comes back as *apierr.Error with the master's code.
func (c *Client) ReportShardDDL(ctx context.Context, r ShardDDLReport) (ShardLockState, error) {
	var st ShardLockState
	err := c.do(ctx, http.MethodPost, PathShardDDL, r, &st)
	return st, err
}

// ShardDDLDone reports that the owner ran the lock's DDLs, or that the source is past them.
func (c *Client) ShardDDLDone(ctx context.Context, r ShardDDLDoneRequest) error {
	return c.do(ctx, http.MethodPost, PathShardDDLDone, r, nil)
}

// ClaimShardColumns claims the columns a shard adds. A conflict comes back as *apierr.Error with
// Code 36069 and the master's message.
func (c *Client) ClaimShardColumns(ctx context.Context, r ShardColumnClaim) error {
	return c.do(ctx, http.MethodPost, PathShardColumns, r, nil)
}
