package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/syncer"
	"github.com/dm-oss/dm/internal/backoff"
)

// A subtask's start (its first target connection, the checkpoints it reads, the handover from
// load to sync, the binlog reader it opens) talks to both databases before any unit runs, and
// so before any unit's own retry of a transient error can help. A target restarting as a
// subtask resumes would pause it at once; instead the runner starts the pipeline again, from
// the checkpoints, for as long as a unit would retry (syncer.DefaultRetryFor), and its status
// says so meanwhile.

// unitError is an error a unit's Run returned: the unit retried what was worth it already.
type unitError struct{ err error }

func (e unitError) Error() string { return e.err.Error() }
func (e unitError) Unwrap() error { return e.err }

// unitGaveUp marks err (if any) as a unit's final error, never retried by the runner.
func unitGaveUp(err error) error {
	if err == nil {
		return nil
	}
	return unitError{err}
}

// pipelineRetrying runs the pipeline, starting it again while it fails on a transient error
// before a unit's Run has taken over, for syncer.DefaultRetryFor from the first failure since a
// unit last took over (unitTakesOver).
func (r *runner) pipelineRetrying(ctx context.Context) error {
	defer r.setStartRetry(nil)
	wait := backoff.Backoff{First: time.Second, Max: 5 * time.Second}
	for {
		err := r.pipeline(ctx)
		if err == nil || ctx.Err() != nil || errors.As(err, new(unitError)) || !binlog.IsTransient(err) {
			return err
		}
		since := time.Now()
		r.mu.Lock()
		if r.startRetry != nil {
			since = r.startRetry.Since
		}
		r.mu.Unlock()
		if time.Since(since) >= syncer.DefaultRetryFor {
			return fmt.Errorf("gave up starting after %v: %w", syncer.DefaultRetryFor, err)
		}
		r.setStartRetry(&binlog.Retrying{Since: since, Error: err.Error(), For: syncer.DefaultRetryFor})
		r.s.logger.Warn("the subtask could not start on a transient error: starting it again from its checkpoints",
			"task", r.task, "source", r.source, "retrying_since", since, "err", err)
		if wait.Wait(ctx) != nil {
			return nil // paused or stopped meanwhile
		}
	}
}

// unitTakesOver ends the start's retry: a unit runs, and retries its own errors.
func (r *runner) unitTakesOver() { r.setStartRetry(nil) }

func (r *runner) setStartRetry(rt *binlog.Retrying) {
	r.mu.Lock()
	r.startRetry = rt
	r.mu.Unlock()
}

// startRetryMessage is the error_msg of a subtask whose start is being retried: it stays
// Running and pauses with the error only if it lasts rt.For.
func startRetryMessage(rt *binlog.Retrying) string {
	return fmt.Sprintf("retrying the start of the subtask since %s (it pauses if this lasts %v): %s",
		rt.Since.UTC().Format(time.RFC3339), rt.For, rt.Error)
}
