package peer

import (
	"context"
	"net/http"

	"github.com/dm-oss/dm/fsm"
)

// PathBinlogOpDone: POST BinlogOpDoneRequest → {}, served by every master (forwarded to the
// leader). Only the worker bound to the source may report for it (403 otherwise).
const PathBinlogOpDone = "/internal/v1/binlog-ops/done"

// BinlogOpDoneRequest says that the checkpoint of the task's subtask on Event.Source is past the
// event of an operation (DM's `binlog skip|replace`): the operation is done and the masters drop
// it. An operation that is not there any more is not an error.
type BinlogOpDoneRequest struct {
	Task  string          `json:"task"`
	Event fsm.BinlogEvent `json:"event"`
}

// FailedEvent is the binlog event a subtask stopped on because the target rejected it (or it
// cannot be decoded or rendered): where it starts, its transaction's GTID and the statement that
// failed. An operation on it (binlog skip|replace without a position) targets it.
type FailedEvent struct {
	File      string `json:"file"`
	Pos       uint32 `json:"pos"`
	GTID      string `json:"gtid,omitempty"`
	Statement string `json:"statement,omitempty"`
}

// BinlogOpDone reports an operation done.
func (c *Client) BinlogOpDone(ctx context.Context, r BinlogOpDoneRequest) error {
	return c.do(ctx, http.MethodPost, PathBinlogOpDone, r, nil)
}
