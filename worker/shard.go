package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dm-oss/dm/binlog/syncer"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/dm-oss/dm/restapi/peer"
)

// coordinator is the sync unit's link to the masters for shard-merge DDLs (syncer.Coordinator).
// Masters that cannot be reached, or that have no leader for a while, are retried until the
// context ends: a source waiting on a lock must not pause because of an election. What the
// leader refuses (a conflict, an unknown task) is returned and pauses the subtask.
type coordinator struct {
	client       *peer.Client
	task, source string
}

func (c coordinator) ReportDDL(ctx context.Context, target string, ddls []string) (syncer.LockState, error) {
	var st peer.ShardLockState
	err := retryMasters(ctx, func() error {
		var err error
		st, err = c.client.ReportShardDDL(ctx, peer.ShardDDLReport{Task: c.task, Source: c.source, Target: target, DDLs: ddls})
		return err
	})
	if err != nil {
		return syncer.LockState{}, err
	}
	return syncer.LockState{ID: st.ID, Owner: st.Owner, Resolved: st.Resolved, Action: st.Action, Done: st.Done, Synced: st.Synced, Unsynced: st.Unsynced}, nil
}

func (c coordinator) DDLDone(ctx context.Context, lockID string) error {
	return retryMasters(ctx, func() error {
		return c.client.ShardDDLDone(ctx, peer.ShardDDLDoneRequest{ID: lockID, Source: c.source})
	})
}

func (c coordinator) ClaimColumns(ctx context.Context, target, table string, cols []syncer.ColumnClaim) error {
	defs := make([]fsm.ColumnDef, len(cols))
	for i, col := range cols {
		defs[i] = fsm.ColumnDef{Name: col.Name, Def: col.Def}
	}
	return retryMasters(ctx, func() error {
		return c.client.ClaimShardColumns(ctx, peer.ShardColumnClaim{Task: c.task, Target: target, Source: c.source, Table: table, Columns: defs})
	})
}

// retryMasters runs f until it succeeds, the leader refuses the request (a 4xx answer), or ctx
// ends.
func retryMasters(ctx context.Context, f func() error) error {
	b := newBackoff()
	for {
		err := f()
		if err == nil {
			return nil
		}
		var apiErr *apierr.Error
		if errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500 && apiErr.Status != http.StatusRequestTimeout {
			return err
		}
		if ctx.Err() == nil {
			b.Wait(ctx)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		}
	}
}
