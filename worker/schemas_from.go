package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dm-oss/dm/binlog/schema"
	"github.com/dm-oss/dm/binlog/tracker"
	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/dm-oss/dm/restapi/peer"
	"github.com/dm-oss/dm/worker/settings"
)

// showCreateTimeout bounds the connection and the SHOW CREATE TABLE of --from-source/--from-target.
const showCreateTimeout = 10 * time.Second

// newStructure is the CREATE TABLE a PUT sets for schema.table, and what it came from (for
// the error when the tracker cannot use it): the request's sql_content, or SHOW CREATE TABLE
// of the upstream table or of the target table the task's rules route it to.
func (r *runner) newStructure(ctx context.Context, req peer.SetTableStructure, schemaName, table string) (string, string, error) {
	switch {
	case req.SqlContent != nil:
		return *req.SqlContent, "sql_content", nil
	case req.FromSource != nil && *req.FromSource:
		return r.upstreamStructure(ctx, schemaName, table)
	case req.FromTarget != nil && *req.FromTarget:
		return r.targetStructure(ctx, schemaName, table)
	}
	return "", "", apierr.Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid,
		"give the new structure: sql_content, from_source: true or from_target: true")
}

// upstreamStructure reads the table's CREATE TABLE from the source the subtask replicates.
func (r *runner) upstreamStructure(ctx context.Context, schemaName, table string) (string, string, error) {
	cfg, _, err := r.s.boundUpstream(r.source)
	if err != nil {
		return "", "", apierr.Errorf(http.StatusBadRequest, fsm.CodeWorkerNoStart, "%v", err)
	}
	origin := fmt.Sprintf("the CREATE TABLE of `%s`.`%s` on source %q", schemaName, table, r.source)
	sql, err := showCreate(ctx, cfg, "source "+r.source, schemaName, table)
	return sql, origin, err
}

// targetStructure reads the CREATE TABLE of the target table the task's rules send the
// upstream table to (its own name when no rule renames it).
func (r *runner) targetStructure(ctx context.Context, schemaName, table string) (string, string, error) {
	rl, err := settings.Rules(r.spec, r.source)
	if err != nil {
		return "", "", apierr.Errorf(http.StatusBadRequest, fsm.CodeOpenAPICommon, "%v", err)
	}
	cfg, err := r.s.targetConfig(r.spec.Target)
	if err != nil {
		return "", "", err
	}
	to := rl.Route(schemaName, table)
	origin := fmt.Sprintf("the CREATE TABLE of target table %s (the route of `%s`.`%s`)", to, schemaName, table)
	sql, err := showCreate(ctx, cfg, "target", to.Schema, to.Table)
	return sql, origin, err
}

// showCreate connects with cfg and reads SHOW CREATE TABLE of schemaName.table; where names
// the server in errors.
func showCreate(ctx context.Context, cfg upstream.Config, where, schemaName, table string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, showCreateTimeout)
	defer cancel()
	db, err := upstream.Open(cctx, cfg)
	if err != nil {
		return "", apierr.Errorf(http.StatusBadRequest, fsm.CodeDBDriver, "%s: %v", where, err)
	}
	defer db.Close()
	sql, err := tracker.ShowCreateTable(cctx, db, schemaName, table)
	switch {
	case errors.Is(err, schema.ErrTableNotFound):
		return "", apierr.Errorf(http.StatusBadRequest, fsm.CodeOpenAPICommon, "%s has no table `%s`.`%s` to take the structure from", where, apierr.Clip(schemaName), apierr.Clip(table))
	case err != nil:
		return "", apierr.Errorf(http.StatusBadRequest, fsm.CodeDBDriver, "%s: %v", where, err)
	}
	return sql, nil
}
