// Package dump is the full-copy export unit: it reads a consistent snapshot
// of the tables a task migrates from a MySQL or MariaDB upstream and writes
// it to a directory (the worker's data_dir/<task>/<source>) as schema files,
// data chunks and a metadata file holding the binlog position replication
// continues from. The directory is 0700 and its files 0600: they hold a copy
// of the upstream's data. Config.Counters follow a running dump.
//
// # Files
//
//	<schema>-schema-create.sql          the server's CREATE DATABASE
//	<schema>.<table>-schema.sql         CREATE TABLE `table` (...), as SHOW CREATE TABLE prints it
//	<schema>.<table>.<range>.<part>.sql data: one multi-row INSERT per line
//	metadata                            JSON (Metadata), written last
//
// Names in file names are escaped (bytes outside [A-Za-z0-9_-] become %XX)
// and cut to a safe length; Metadata maps them back, so readers go by the
// metadata, never by parsing file names. The dump keeps source names:
// routing is the loader's job.
//
// Every data statement starts with TableMeta.InsertPrefix and holds up to
// about 1 MB of rows. Values are written exactly: integers, DECIMAL and
// DOUBLE as the server prints them, FLOAT widened to DOUBLE (the server
// prints a FLOAT with 6 digits, which would not round-trip), YEAR as a
// number, BINARY/VARBINARY/BLOB/BIT and spatial values as hex literals,
// everything else (text, JSON, dates, times, ENUM, SET) as a quoted literal
// with mysql_real_escape_string's backslash escapes, NULL as NULL. So no
// rendered row contains a raw newline and a file has one statement per
// line. Reading sessions use time_zone '+00:00' (TIMESTAMPs are read in
// UTC; the loader writes them in UTC), utf8mb4, and an empty sql_mode;
// generated columns are left out (the target computes them).
//
// Run writes the metadata file last, after every other file is fsynced, so
// a directory with a metadata file holds a complete dump; Run clears an
// earlier dump's files (metadata first) before it starts.
//
// # Chunks
//
// A table is read in ranges of its key: the primary key, or else a unique
// key of NOT NULL, non-prefix columns. A single integer key is split
// arithmetically between MIN and MAX into ranges of about ChunkRows keys
// (at most a few per thread beyond the row estimate, for sparse keys); any
// other key by walking the key in key order, every ChunkRows-th key
// starting a range (when the table has more than 1.5 chunks' worth of rows
// by the estimate). The outer ranges are open-ended, so rows inserted after
// planning still belong to a range. A table without such a key is one
// range. Each range is read with ORDER BY the key by one connection and cut
// into files of at most ChunkRows rows (or 64 MB), each recording the key
// of its first and last row (Chunk.MinKey, MaxKey); the loader uses these
// to find what an earlier load of an older dump wrote. Ranges are handed to
// the connections largest first.
//
// # Consistency
//
// Several connections share one snapshot only if they start it when nothing
// commits in between. The modes:
//
//   - flush: FLUSH TABLES WITH READ LOCK on a separate connection, then
//     each of the Threads connections runs START TRANSACTION WITH
//     CONSISTENT SNAPSHOT, the binlog position is read (SHOW MASTER STATUS;
//     MariaDB's GTID via BINLOG_GTID_POS(file, pos), MySQL's
//     Executed_Gtid_Set) and UNLOCK TABLES follows at once. Needs RELOAD.
//   - lock: the same with LOCK TABLES ... READ on the dumped tables instead
//     of the global lock; writes to other tables go on. Needs LOCK TABLES.
//   - snapshot: lock-free where the server reports the binlog position of a
//     snapshot (MariaDB, Percona Server: binlog_snapshot_file and
//     binlog_snapshot_position). Each connection starts a snapshot and reads
//     its position; connections whose snapshots sit at the same position
//     see the same data (the server takes the snapshot and the position
//     atomically with respect to commits). The positions are read one
//     connection at a time, each until two reads agree: the server computes
//     a session's Binlog_snapshot_* into global variables that any
//     concurrent SHOW STATUS overwrites (read in parallel, they gave
//     positions that did not match the data). Up to 8 attempts try to get all
//     Threads connections onto one position; then the largest group is
//     kept and the others are closed, so on a busy server the dump may read
//     with fewer connections, at worst one. The position's GTID comes from
//     BINLOG_GTID_POS. On MySQL, which cannot tell a snapshot's position,
//     snapshot falls back to flush, and to lock where FTWRL is denied. On a
//     MariaDB without binlog, one connection reads and there is no position.
//   - auto: snapshot on MariaDB (lock-free, and parallel whenever the server
//     lets the snapshots agree, which on a quiet server is at once); on
//     MySQL flush, or lock when FLUSH TABLES WITH READ LOCK is not
//     permitted. This differs from a plain "snapshot when export_threads is
//     1, else flush": on MariaDB a global read lock, which waits for every
//     running query and meanwhile blocks all writes, is never needed.
//   - none: the position is read first, then the data is read with no
//     guarantee (each connection in autocommit).
//
// Table definitions and the chunk plan are read before the snapshot, so the
// locks are held only for as long as it takes to start the snapshots. DDL
// on dumped tables during a dump is not supported (InnoDB then usually
// fails the read with "table definition has changed"). Non-transactional
// tables (MyISAM, Aria) are not covered by any snapshot; in snapshot mode
// writes with sql_log_bin=0 do not move the position and so may make two
// connections' snapshots differ.
//
// The package is part of the binlog library and imports nothing from dm's
// master, worker, restapi or fsm packages.
package dump
