package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/syncer"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/peer"
)

// eventOps are one subtask's operations on binlog events (DM's `binlog skip|replace`) as the
// masters' desired state holds them: the sync unit's syncer.EventOps. Each new view replaces
// them, so an operation armed while the unit runs is met when it reaches the event. Once a
// checkpoint is flushed past an operation's event, the operation is reported done, and the
// masters drop it.
type eventOps struct {
	ctx          context.Context // bounds the reports
	s            *Server
	task, source string

	mu  sync.Mutex
	ops map[string]fsm.BinlogOp // by eventKey
	// reported holds the operations whose report is under way or was accepted, until the view
	// drops them.
	reported map[string]bool
}

func newEventOps(ctx context.Context, s *Server, task, source string) *eventOps {
	return &eventOps{ctx: ctx, s: s, task: task, source: source, ops: map[string]fsm.BinlogOp{}, reported: map[string]bool{}}
}

func eventKey(file string, pos uint32) string {
	return file + ":" + strconv.FormatUint(uint64(pos), 10)
}

// set replaces the operations with the view's.
func (o *eventOps) set(ops []fsm.BinlogOp) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ops = make(map[string]fsm.BinlogOp, len(ops))
	for _, op := range ops {
		o.ops[eventKey(op.File, op.Pos)] = op
	}
	for k := range o.reported {
		if _, ok := o.ops[k]; !ok {
			delete(o.reported, k)
		}
	}
}

// At implements syncer.EventOps.
func (o *eventOps) At(file string, pos uint32) (syncer.EventOp, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	op, ok := o.ops[eventKey(file, pos)]
	if !ok {
		return syncer.EventOp{}, false
	}
	if op.Op == fsm.BinlogOpReplace {
		return syncer.EventOp{Replace: append([]string(nil), op.SQLs...)}, true
	}
	return syncer.EventOp{}, true
}

// Passed implements syncer.EventOps: the operations on events before loc are reported done,
// each once, in the background (the event loop must not wait for the masters).
func (o *eventOps) Passed(loc binlog.Location) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, op := range o.ops {
		if o.reported[k] || !before(op.BinlogEvent, loc) {
			continue
		}
		o.reported[k] = true
		go o.report(k, op)
	}
}

// before reports whether the event starts before loc.
func before(e fsm.BinlogEvent, loc binlog.Location) bool {
	if c := binlog.CompareFileNames(e.File, loc.File); c != 0 {
		return c < 0
	}
	return e.Pos < loc.Pos
}

func (o *eventOps) report(key string, op fsm.BinlogOp) {
	err := retryMasters(o.ctx, func() error {
		return o.s.client.BinlogOpDone(o.ctx, peer.BinlogOpDoneRequest{Task: o.task, Event: op.BinlogEvent})
	})
	if err != nil {
		// The next checkpoint tries again.
		o.mu.Lock()
		delete(o.reported, key)
		o.mu.Unlock()
		if o.ctx.Err() == nil {
			o.s.logger.Warn("could not report a binlog operation done", "task", o.task, "source", o.source, "position", op.String(), "err", err)
		}
		return
	}
	o.s.logger.Info("binlog operation done", "task", o.task, "source", o.source, "op", op.Op, "position", op.String())
}

// failedEvent is the binlog event err stopped the sync unit on, if it did.
func failedEvent(err error) *peer.FailedEvent {
	var ee *syncer.EventError
	if !errors.As(err, &ee) {
		return nil
	}
	return &peer.FailedEvent{File: ee.Event.File, Pos: ee.Event.Pos, GTID: ee.GTID, Statement: ee.Statement}
}

// failedEventHint tells the operator how to go on past the event: DM's workaround.
func failedEventHint(task string, f *peer.FailedEvent) string {
	return fmt.Sprintf("; to go on, skip the event, or run other statements in its place, at binlog position %s (dmctl binlog skip|replace %s -b %s, or POST /api/v1/tasks/%s/binlog-operations)",
		eventKey(f.File, f.Pos), task, eventKey(f.File, f.Pos), task)
}
