// Package load is the full-copy import unit: it loads a finished dump
// (package dump) into a MySQL, MariaDB or TiDB target, under the routed
// names, in parallel, resumably.
//
// # Loading
//
// Run first creates the target schemas and tables: each source table's
// CREATE TABLE is renamed to its routed target and run as CREATE TABLE IF
// NOT EXISTS, once per target table, so several sources or tables routed
// into one table (shard merge) create it once. Then Threads sessions load
// the chunks (one data file each) in parallel. A chunk is one target
// transaction: its INSERT statements, each rewritten to the target name
// and to the verb on_duplicate asks for (replace/overwrite: REPLACE,
// ignore: INSERT IGNORE, error: INSERT, which fails the load with an error
// that says so), and its checkpoint row, committed together. A chunk is
// therefore either wholly in the target with its checkpoint or not at all.
//
// Sessions use utf8mb4, time_zone '+00:00' (TIMESTAMP values were dumped in
// UTC), sql_mode 'NO_AUTO_VALUE_ON_ZERO' (explicit zeros in AUTO_INCREMENT
// columns stay, zero dates load; backslash escapes are on, as the dump
// writes them), foreign_key_checks=0 (tables load in any order) and
// unique_checks=1 (on_duplicate depends on it).
//
// Speed: the target does nearly all the work (parsing and inserting);
// against MariaDB a load costs about the same server CPU per row as
// `mariadb-dump | mariadb`, and parallel chunks use every core the target
// has. Chunks are large transactions in key order.
//
// # Checkpoints
//
// <meta_schema>.<task>_loader_checkpoint has one row per loaded chunk and
// one summary row per source (its cp_file is the empty string), which holds
// the dump's ID and binlog position, and cp_done = 1 once every chunk is in.
// Every column name starts with cp_: none is a reserved word on MySQL,
// MariaDB or TiDB (DM's column `offset` breaks on MariaDB 10.6+). A rerun
// after a crash or cancel skips the chunks that have a row for the same
// dump, so no row is loaded twice; a finished load returns at once.
// Finished reads the summary row, DropCheckpoint (remove_meta) drops the
// table.
//
// # Target errors
//
// A transient target error (the target is down or restarting, a lost
// connection, a deadlock: the sync unit's list) does not end Run: it waits
// (50 ms, doubling up to 5 s) and loads again from the checkpoints, which
// skip every committed chunk (a chunk whose COMMIT was lost in flight too),
// until RetryFor passes without a chunk committed. Progress().Retrying
// reports the retry (since when, the last error) while the target does not
// answer.
//
// # Resuming with another dump
//
// A load may resume on a worker that lacks the dump files and so dumps
// again: the target may then hold rows of an unfinished load of the older
// dump, and the load must end with exactly the new snapshot. Each chunk's
// checkpoint records its key columns and the keys of its first and last
// row, and every row of a chunk lies between them. Before loading, Run
// removes what every chunk of another dump wrote: for a table with key, the
// rows in [min key, max key] of each such chunk, deleted in one transaction
// with the chunk's checkpoint row; a table without key is emptied (in
// batches, its checkpoint rows removed after). Every step is idempotent, so
// a crash in between is repaired by the next run. Then the new dump loads
// as usual, and on_duplicate governs only rows the task did not write
// itself: rows outside the old chunks' key spans stay (in a shard merge,
// other shards' rows whose keys interleave with ours within a chunk's span
// are removed too, and a shard-merged table without key is emptied: give
// such tables a key). Removing the old rows first, rather than replacing
// each new chunk's key range as it loads, also keeps a value that moved
// between rows of a secondary UNIQUE key from colliding with the old row
// that still holds it. The loader recognises an older dump by its ID in
// any case; Config.Redumped only says that this is expected.
//
// The package is part of the binlog library and imports nothing from dm's
// master, worker, restapi or fsm packages.
package load
