// Package relay keeps a local, crash-safe copy of one upstream's binlog: the relay log.
//
// A Relay pulls the upstream's binlog with go-mysql's BinlogSyncer and writes it into a
// directory (<relay_dir>/<source>) that holds:
//
//   - the relay files, named like the upstream's binlog files and byte-identical to them:
//     the 4-byte magic "\xfebin" followed by the events exactly as the upstream wrote them,
//     checksums included. Offsets in a relay file therefore equal the upstream's positions,
//     a binlog.Location means the same in both, and mysqlbinlog reads the files. The
//     artificial events a server sends on a replication connection (fake ROTATE, heartbeats,
//     the FORMAT_DESCRIPTION re-sent when a dump starts mid-file) are not written. MariaDB
//     omits ANNOTATE_ROWS events from the stream unless asked, so the relay asks for them;
//     should the stream still skip bytes, the gap is filled with a no-op QUERY event of the
//     same size ("# dummy event ...") so that positions stay equal.
//   - relay.index, the relay files in order, one name per line.
//   - relay.meta, JSON: the position (file, pos) and the GTID set up to which the relay files
//     are durable and complete, plus the upstream's identity (flavor, server_id,
//     server_uuid). It only ever points at a transaction boundary.
//
// # Durability protocol
//
// Events are appended to the active relay file. At a transaction boundary (after XID, after
// the QUERY of a standalone statement such as a DDL, or between event groups) the relay may
// commit: it flushes and fsyncs the relay file, then writes relay.meta to a temporary file,
// fsyncs it, renames it over relay.meta and fsyncs the directory. It commits whenever the
// stream has nothing more buffered, and at least every 100ms or 8 MiB under load, never in
// the middle of a transaction. When a relay starts (Run, or a retry inside Run) it first
// recovers the directory: the file named by the meta is truncated back to the meta position
// (a torn or uncommitted tail from kill -9 is discarded), relay files after it are deleted,
// and pulling resumes from exactly that position. Since the bytes re-pulled are the
// upstream's own, a relay killed at any moment has neither a gap nor a duplicate.
//
// A relay refuses to continue in a directory whose meta names another server (server_id, or
// server_uuid on MySQL): the files would not be a copy of the new server's binlog.
//
// Only one Relay may run in a directory at a time (an exclusive flock on relay.lock); Purge
// and the readers of package reader may work alongside it. Readers poll the directory; a
// Hub that the process creates and gives to its relays and readers wakes them sooner. The
// package keeps no state of its own between calls.
//
// The package is part of the binlog library and imports nothing from dm's master, worker,
// restapi or fsm packages.
package relay
