// Package upstream owns everything dm needs to know about an upstream MySQL or
// MariaDB server before it replicates from it: connecting to it (Open, with
// TLS from PEM contents), learning what it is (Inspect: flavor, version,
// server_id, binlog settings, GTID and binlog position), deciding whether it
// can serve as a replication source (CheckSource: binlog settings, GTID
// settings and the replication user's privileges, each problem phrased with
// its fix) and listing its schemas and tables (ListSchemas, ListTables).
//
// Errors never contain the password: no DSN is ever formatted, and lines of
// SHOW GRANTS are cut before any IDENTIFIED clause when quoted in an error.
//
// The package is part of the binlog library and imports nothing from dm's
// master, worker, restapi or fsm packages.
package upstream
