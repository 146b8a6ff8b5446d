package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Sentinel errors wrapped by New, so callers can map them to DM error codes.
var (
	// ErrUnknownFilter: a table_migrate_rule names a binlog_filter_rule that does not exist
	// (DM code 49001).
	ErrUnknownFilter = errors.New("unknown binlog filter rule")
	// ErrUnknownEvent: an ignore_event entry outside the vocabulary.
	ErrUnknownEvent = errors.New("unknown binlog event type")
	// ErrBadSQLPattern: an ignore_sql entry that is not a valid Go regular expression.
	ErrBadSQLPattern = errors.New("bad ignore_sql regular expression")
)

// EventKind is a name of the ignore_event vocabulary (tidb-tools v5.2 binlog-filter). The
// concrete kinds describe one event; the group kinds (all*, none*) only appear in filters.
type EventKind string

// Group kinds, valid in Filter.IgnoreEvents only.
const (
	EventAll     EventKind = "all"
	EventAllDML  EventKind = "all dml"
	EventAllDDL  EventKind = "all ddl"
	EventNone    EventKind = "none"
	EventNoneDML EventKind = "none dml"
	EventNoneDDL EventKind = "none ddl"
)

// Concrete DML kinds.
const (
	EventInsert EventKind = "insert"
	EventUpdate EventKind = "update"
	EventDelete EventKind = "delete"
)

// Concrete DDL kinds.
const (
	EventCreateDatabase EventKind = "create database"
	EventDropDatabase   EventKind = "drop database"
	EventCreateTable    EventKind = "create table"
	EventDropTable      EventKind = "drop table"
	EventTruncateTable  EventKind = "truncate table"
	EventRenameTable    EventKind = "rename table"
	EventCreateIndex    EventKind = "create index"
	EventDropIndex      EventKind = "drop index"
	EventCreateView     EventKind = "create view"
	EventDropView       EventKind = "drop view"
	EventAlterTable     EventKind = "alter table"
)

var knownEvents = map[EventKind]bool{
	EventAll: true, EventAllDML: true, EventAllDDL: true,
	EventNone: true, EventNoneDML: true, EventNoneDDL: true,
	EventInsert: true, EventUpdate: true, EventDelete: true,
	EventCreateDatabase: true, EventDropDatabase: true,
	EventCreateTable: true, EventDropTable: true, EventTruncateTable: true, EventRenameTable: true,
	EventCreateIndex: true, EventDropIndex: true,
	EventCreateView: true, EventDropView: true,
	EventAlterTable: true,
}

// normalizeEvent lowercases and collapses blanks: "  ALL   DML " → "all dml".
func normalizeEvent(s string) EventKind {
	return EventKind(strings.Join(strings.Fields(strings.ToLower(s)), " "))
}

// ParseEventKind normalises an ignore_event name (case and blanks) and checks it belongs to
// the vocabulary.
func ParseEventKind(s string) (EventKind, error) {
	k := normalizeEvent(s)
	if !knownEvents[k] {
		return "", fmt.Errorf("%w %q", ErrUnknownEvent, s)
	}
	return k, nil
}

// Filter is a named binlog_filter_rule: Ignore-action event/SQL filter.
type Filter struct {
	IgnoreEvents []string
	IgnoreSQL    []string
}

// compiledFilter is a validated Filter.
type compiledFilter struct {
	name   string
	events []EventKind    // normalised, order kept (none* stop the scan)
	sql    *regexp.Regexp // nil when no ignore_sql
}

func compileFilter(name string, f Filter) (*compiledFilter, error) {
	cf := &compiledFilter{name: name}
	for _, e := range f.IgnoreEvents {
		k, err := ParseEventKind(e)
		if err != nil {
			return nil, fmt.Errorf("binlog_filter_rule %q: %w", name, err)
		}
		cf.events = append(cf.events, k)
	}
	if len(f.IgnoreSQL) > 0 {
		parts := make([]string, 0, len(f.IgnoreSQL))
		for _, s := range f.IgnoreSQL {
			if strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("binlog_filter_rule %q: %w: empty pattern would match every statement", name, ErrBadSQLPattern)
			}
			if _, err := regexp.Compile(s); err != nil {
				return nil, fmt.Errorf("binlog_filter_rule %q: %w %q: %v", name, ErrBadSQLPattern, s, err)
			}
			parts = append(parts, "(?:"+s+")")
		}
		re, err := regexp.Compile("(?i)" + strings.Join(parts, "|"))
		if err != nil { // cannot happen when each part compiles, but stay safe
			return nil, fmt.Errorf("binlog_filter_rule %q: %w: %v", name, ErrBadSQLPattern, err)
		}
		cf.sql = re
	}
	return cf, nil
}

// matchEvent is tidb-tools' binlog-filter matchEvent: scan the list in order; `all` matches,
// `none` stops; `all dml`/`none dml` only act on DML, `all ddl`/`none ddl` only on DDL; a
// concrete name matches the same kind.
func (f *compiledFilter) matchEvent(isDDL bool, kind EventKind) bool {
	for _, e := range f.events {
		switch e {
		case EventAll:
			return true
		case EventNone:
			return false
		case EventAllDML:
			if !isDDL {
				return true
			}
		case EventNoneDML:
			if !isDDL {
				return false
			}
		case EventAllDDL:
			if isDDL {
				return true
			}
		case EventNoneDDL:
			if isDDL {
				return false
			}
		default:
			if e == kind {
				return true
			}
		}
	}
	return false
}

// skip reports whether this filter ignores the event. sql is "" for row events.
func (f *compiledFilter) skip(isDDL bool, kind EventKind, sql string) bool {
	if f.matchEvent(isDDL, kind) {
		return true
	}
	return sql != "" && f.sql != nil && f.sql.MatchString(sql)
}
