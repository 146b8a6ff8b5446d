package syncer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dm-oss/dm/binlog"
	"github.com/dm-oss/dm/binlog/ddl"
	"github.com/dm-oss/dm/binlog/rules"
	"github.com/dm-oss/dm/binlog/tracker"
)

// Stream is go-mysql canal's seam on dm's decoding: it reads an upstream's binlog and hands a
// Handler each row change, decoded with the table's definition as it was at the change's
// position (a schema tracker follows every DDL) and routed by the rules, and each DDL. It does
// no replay and keeps no checkpoint: the Handler records the positions OnCommit gives and opens
// the next reader at the last one. Use a Syncer to replay into a MySQL-compatible target with
// exact resume.
type Stream struct {
	cfg     StreamConfig
	h       Handler
	tracker *tracker.Tracker
	decoder *tableDecoder
	pos     position
	// the open transaction: its start and upstream timestamp; open is false between them
	txnStart binlog.Location
	txnTS    uint32
	open     bool
}

// StreamConfig configures a Stream.
type StreamConfig struct {
	// Upstream is the upstream the binlog comes from: definitions the tracker does not know
	// yet (tables created before the start position) are read from it. Required.
	Upstream *sql.DB
	// Rules select and route tables; nil streams every table of the non-system schemas.
	Rules *rules.Rules
	// Tracker (optional) holds the definitions at the start position, e.g. restored from a
	// Snapshot the Handler saved with its position; nil starts empty.
	Tracker *tracker.Tracker
	Logger  *slog.Logger
}

// Handler receives a Stream's events, in binlog order, one call at a time. An error it returns
// stops Run with that error.
type Handler interface {
	// OnRows gets the row changes of one rows event of a selected table.
	OnRows(ctx context.Context, e RowsEvent) error
	// OnDDL gets a DDL about a selected table or database, after the tracker followed it.
	OnDDL(ctx context.Context, e DDLEvent) error
	// OnCommit says a transaction (or a DDL) is complete; next is where a reader resumes
	// after it.
	OnCommit(ctx context.Context, next binlog.Location) error
}

// RowsEvent is the changes of one rows event.
type RowsEvent struct {
	// Txn is where the transaction starts; Timestamp its upstream time (Unix seconds).
	Txn       binlog.Location
	Timestamp uint32
	Changes   []Change
}

// DDLEvent is one DDL. Render the Statement for a target with ddl.Render, routing it with
// the same rules.
type DDLEvent struct {
	Position  binlog.Location
	Timestamp uint32
	Statement *ddl.Statement
}

// NewStream checks cfg.
func NewStream(cfg StreamConfig, h Handler) (*Stream, error) {
	if cfg.Upstream == nil {
		return nil, errors.New("stream: no upstream connection")
	}
	if h == nil {
		return nil, errors.New("stream: no handler")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tr := cfg.Tracker
	if tr == nil {
		tr = tracker.New(cfg.Logger)
	}
	match := func(schema, table string) bool {
		if cfg.Rules == nil {
			return !rules.IsSystemSchema(schema)
		}
		return cfg.Rules.Match(schema, table)
	}
	st := &Stream{cfg: cfg, h: h, tracker: tr}
	st.decoder = &tableDecoder{match: match, rules: cfg.Rules, schemas: tr.Source(cfg.Upstream), cache: map[uint64]*Table{}}
	return st, nil
}

// Tracker is the Stream's schema tracker: a Handler may save its Snapshot with a position.
func (s *Stream) Tracker() *tracker.Tracker { return s.tracker }

// Run hands the events of rd, which the caller opened at start, to the Handler until ctx
// ends (then it returns ctx's error), the reader fails or the Handler does.
func (s *Stream) Run(ctx context.Context, rd binlog.Reader, start binlog.Location) error {
	if err := s.pos.startAt(start); err != nil {
		return err
	}
	for {
		ev, err := rd.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read binlog: %w", err)
		}
		if err := s.handle(ctx, ev); err != nil {
			return err
		}
	}
}

func (s *Stream) handle(ctx context.Context, ev *replication.BinlogEvent) error {
	startPos, kind := s.pos.follow(ev)
	if kind != eventData {
		return nil
	}
	h := ev.Header
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent, *replication.GTIDEvent:
		s.begin(startPos, h.Timestamp)
		return s.pos.addGTID(e)
	case *replication.QueryEvent:
		return s.query(ctx, ev, e, startPos)
	case *replication.RowsEvent:
		return s.rows(ctx, ev, e, startPos)
	case *replication.XIDEvent:
		return s.commit(ctx, h.LogPos)
	}
	return nil
}

func (s *Stream) begin(startPos, ts uint32) {
	s.txnStart, s.txnTS, s.open = s.pos.at(startPos), ts, true
}

func (s *Stream) commit(ctx context.Context, end uint32) error {
	if !s.open {
		return nil
	}
	s.open = false
	return s.h.OnCommit(ctx, s.pos.at(end))
}

func (s *Stream) query(ctx context.Context, ev *replication.BinlogEvent, e *replication.QueryEvent, startPos uint32) error {
	begin, end, control := ddl.TxnControl(string(e.Query))
	switch {
	case begin:
		if !s.open {
			s.begin(startPos, ev.Header.Timestamp)
		}
		return nil
	case end:
		return s.commit(ctx, ev.Header.LogPos)
	case control:
		return nil
	}
	if !s.open {
		s.begin(startPos, ev.Header.Timestamp)
	}
	st := ddl.Parse(string(e.Query), string(e.Schema))
	if res, err := s.tracker.ExecStatement(st); err != nil || len(res.NeedsReread) > 0 {
		// Forgotten tables are read from the upstream when their next row needs them.
		s.cfg.Logger.Info("stream: a DDL the tracker cannot follow; its tables are read from the upstream when needed", "ddl", truncate(st.Text, 200), "err", err)
	}
	s.decoder.forget()
	if s.selected(st) {
		if err := s.h.OnDDL(ctx, DDLEvent{Position: s.txnStart, Timestamp: ev.Header.Timestamp, Statement: st}); err != nil {
			return err
		}
	}
	return s.commit(ctx, ev.Header.LogPos)
}

// selected reports whether a DDL concerns a selected table or database.
func (s *Stream) selected(st *ddl.Statement) bool {
	if st.Kind == "" {
		return false
	}
	if st.Database != "" {
		return s.decoder.match(st.Database, "")
	}
	for _, t := range append(append([]ddl.TableName{}, st.Tables...), st.Others...) {
		if s.decoder.match(t.Schema, t.Table) {
			return true
		}
	}
	return false
}

func (s *Stream) rows(ctx context.Context, ev *replication.BinlogEvent, e *replication.RowsEvent, startPos uint32) error {
	if !s.open {
		s.begin(startPos, ev.Header.Timestamp)
	}
	if e.Table == nil {
		return nil
	}
	kind, ok, err := rowsKind(ev, e)
	if !ok {
		return err
	}
	t, _, err := s.decoder.table(ctx, e.Table)
	if err != nil {
		return err
	}
	if t.ignored || t.skip[kind] {
		return nil
	}
	out := RowsEvent{Txn: s.txnStart, Timestamp: s.txnTS}
	err = t.eachChange(kind, e, func(before, after []any) error {
		out.Changes = append(out.Changes, Change{Kind: kind, Table: t, Before: before, After: after})
		return nil
	})
	if err != nil || len(out.Changes) == 0 {
		return err
	}
	return s.h.OnRows(ctx, out)
}
