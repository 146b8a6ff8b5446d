// Package rules compiles a task's table_migrate_rules and binlog_filter_rules for one source
// (DM OpenAPI v1, contract §3) into the questions the dump, load and sync units ask: is this
// table migrated (block-allow list), where does it go (routing, shard merge), and is this event
// ignored (binlog event filter). It is pure logic, with no I/O.
//
// # Patterns
//
// SchemaPattern and TablePattern use glob wildcards, a superset of tidb-tools'
// table-rule-selector:
//
//	pattern  matches
//	-------  -------
//	*        zero or more characters, anywhere in the pattern (DM only allows it at the end)
//	?        exactly one character
//	[abc]    one of a, b, c
//	[a-z]    one character in the range
//	[!a-z]   one character not in the range ([^a-z] is accepted too)
//
// There is no escape character; to match a literal `*`, `?` or `[` use a class: `[*]`, `[[]`.
// A `]` right after `[` (or `[!`) is a literal member, and `-` first or last in a class is
// literal. An unclosed `[` or a reversed range is an error. An empty TablePattern means every
// table ("*"); an empty SchemaPattern is an error. Unless the source is case-sensitive, names
// are compared lowercased, as MySQL does with lower_case_table_names ≠ 0.
//
// # Block-allow list
//
// A table is migrated when any rule matches it (Match); a schema is selected when any rule's
// schema pattern matches it (MatchSchema). The system schemas mysql, information_schema,
// performance_schema and sys never match, whatever the pattern, and Exclude removes more
// (e.g. DM's meta schema "dm_meta").
//
// # Routing
//
// A rule's target is TargetSchema/TargetTable, each "" meaning "keep the source name". When
// several rules match one table, the most specific wins:
//
//  1. a rule whose schema and table patterns are both wildcard-free (exact) beats any rule
//     with a wildcard;
//  2. otherwise the first matching rule in the list wins (also between duplicate exact rules).
//
// Rules without a target count as identity routes in this precedence. Routing several source
// tables to one target (e.g. `shard_*`.`t_*` → `db`.`t`) is a shard merge; Targets groups
// source tables by target to find these groups. RouteSchema gives the target of schema-level
// DDL: the target schema of the first rule whose schema pattern matches.
//
// # Binlog event filters
//
// A rule's FilterRules name Filters (binlog_filter_rules, Ignore action). For an event, the
// filters of every rule matching the table apply; the event is skipped when any of them
// ignores it:
//
//   - IgnoreEvents is scanned in order, as in tidb-tools: `all` matches and `none` stops (no
//     match) for every event; `all dml`/`none dml` do the same for row events only, `all
//     ddl`/`none ddl` for DDL only; a concrete name (insert, update, delete, create database,
//     drop database, create table, drop table, truncate table, rename table, create index,
//     drop index, create view, drop view, alter table) matches that kind. Names are
//     case-insensitive; unknown names are rejected by New (DM accepts and ignores them).
//   - IgnoreSQL regular expressions (Go syntax) are joined with `|`, compiled
//     case-insensitively and searched (unanchored) in the raw text of DDL statements. Row
//     events have no SQL text, so IgnoreSQL never filters DML. An empty expression, which
//     would match every statement, is rejected.
//
// For schema-level DDL (CREATE/DROP DATABASE) SkipDDL takes table "" and applies the filters
// of every rule whose schema pattern matches, whatever its table pattern (DM would only apply
// schema-level filter rules, which the OpenAPI never creates).
//
// # Errors
//
// New rejects bad patterns (ErrBadPattern), wildcards in target names (ErrBadTarget), unknown
// ignore_event names (ErrUnknownEvent), invalid ignore_sql regexps (ErrBadSQLPattern) and a
// FilterRules name missing from the filters (ErrUnknownFilter, DM code 49001); errors name
// the rule or filter and wrap these sentinels for errors.Is.
//
// The package never imports master/, worker/, restapi/ or fsm/.
package rules
