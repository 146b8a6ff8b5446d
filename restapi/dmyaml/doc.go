// Package dmyaml owns the conversion between DM's own files, source.yaml and task.yaml (the
// keys of DM v5.3 up to the newest DM), and the API's model (restapi.Source, restapi.Task), in
// both directions, for dmctl, the POST /api/v1/tasks/converters route and any other Go tool.
//
//	ParseSource(data, opts) (SourceFile, []Warning, error)  source.yaml → API source (+ relay)
//	SourceYAML(SourceFile) ([]byte, error)                   and back
//	ParseTask(data, opts) (restapi.Task, []Warning, error)   task.yaml → API task
//	TaskYAML(restapi.Task) ([]byte, error)                   and back
//
// # What is refused, what is a warning
//
// The files are read as strictly as DM reads them (yaml.v2 UnmarshalStrict): a misspelt or
// unknown key is an error naming the key, its line and the nearest known key. A key DM has but
// this project does not implement is accepted with a Warning naming it and its line, unless
// ignoring it would change which data moves; then it is an error. Every problem of a file is
// reported at once (*Error lists them). Examples of warnings: timezone, heartbeat-*, session
// variables, max-allowed-packet, physical-import knobs, safe-mode, validators, checker,
// server-id, flavor, ignore-checking-items, deprecated keys (is-sharding, online-ddl-scheme,
// black-white-list, relay-dir, remove-meta). Examples of errors: case-sensitive: true (names
// are compared case-insensitively), expression-filters in use, column mappings, route
// extract-*, custom shadow/trash table rules, mydumpers where and table-choosing extra-args,
// s3:// dump directories, task modes dump/load, binlog event filters of a source, a Do filter
// that cannot be inverted, a pattern that cannot be written exactly.
//
// # Task: from DM's rule sets to table_migrate_rule
//
// The API expresses, per source, a list of table_migrate_rule entries: a table moves when one
// matches it; the first matching entry (one naming a single table beats any wildcard one)
// gives its target; the binlog_filter_rule names of every matching entry apply. DM instead
// combines, per mysql-instances entry, a block-allow list, routes and Ignore/Do event filters.
// ParseTask converts one into the other exactly:
//
//   - The block-allow list becomes the set of tables it selects, as (schema, table) pattern
//     pairs, by DM's algorithm: schemas in do-dbs (else not in ignore-dbs), tables in do-tables
//     (else not in ignore-tables). Exclusions are written as the patterns of their complement
//     (not "account" = [!a]*, a[!c]*, ..., account?*), and intersections of patterns are
//     computed exactly; "~" regular expressions become the wildcard patterns matching the same
//     names (^shop_(a|b)$ → shop_[a-b]), or are refused when there are none. Without a list,
//     every table moves. ignore-* next to do-* has no effect, as in DM (a warning says so).
//     System schemas and the meta schema are never migrated, so excluding them adds nothing.
//   - Routes: each selected pattern pair is intersected with every route of the entry,
//     table-level routes first, then schema-level ones, then the pair itself without a target;
//     so the first match gives DM's route (a table-level route wins over a schema-level one).
//     An entry naming a single table gets the route DM gives that table.
//   - Filters: a filter is named on the entries whose tables it covers; where it covers only
//     part of an entry, that part is added just before it as an entry of its own. An Ignore
//     filter keeps its events and sql-pattern; a Do filter (keep only these events) becomes the
//     ignore list of the other events (Do [all dml] = ignore [all ddl]). Filters that ignore
//     the same events and statements are one binlog_filter_rule, named after the first one
//     read (a DM filter has one pattern, so TaskYAML may write one API filter as several); a
//     listed filter that matches no migrated table is left out, with a warning.
//   - Entries another one makes useless (matched first, same filters) are dropped. Routed
//     entries naming a single table come before the routed wildcard ones (they win wherever
//     they stand), the order TaskYAML writes routes in.
//
// DM replicates CREATE DATABASE of any schema when a list has do-tables but no do-dbs; here a
// schema is created when a table of it moves. The per-instance mydumpers/loaders/syncers
// (named, inline or thread overrides) become the task-wide full_migrate_conf and
// incr_migrate_conf: the first instance's values are used, another instance's different ones
// are a warning (its on-duplicate an error, as it changes what the load writes). DM's defaults
// that differ from the API's are written out: collation_compatible loose, on_duplicate
// replace, clean_dump_file and online DDL true.
//
// TaskYAML writes, per source, a block-allow list of the rules' patterns (do-dbs and
// do-tables), one route per rule with a target (single-table ones first) and one filter per
// binlog_filter_rule, scoped by the rule pattern that covers exactly the rules naming it (or
// one per rule); ParseTask reads that back into the same task. A task whose rule without a
// target shadows a routed one cannot be written (DM's routes always apply): an error.
//
// # Passwords and TLS material
//
// A password is taken as written, or, when Options.Decrypter opens it, decrypted: the caller
// passes the key (the cluster's cipher, or DMDecrypter with DM's secret-key-path key for the
// output of DM's `dmctl encrypt`). This package has no key of its own, and deliberately not DM's
// built-in one: a value no given key opens is used as written (DM's "decrypt or plaintext"),
// with a warning when it looks like DM ciphertext. Passwords never appear in warnings or
// errors. TLS material is read from ssl-*-bytes (PEM text), ssl-*-base64, or the files named
// by ssl-ca/ssl-cert/ssl-key through Options.ReadFile; without ReadFile (a server converting a
// client's file) file paths are refused. The written files carry the PEM text in ssl-*-bytes.
package dmyaml
