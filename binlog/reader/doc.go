// Package reader provides the two binlog.Reader implementations: Remote reads straight
// from an upstream MySQL/MariaDB over a replication connection (go-mysql's BinlogSyncer),
// and Relay reads a relay directory written by package relay, following it as it grows.
//
// Both decode events the same way: DECIMAL values as exact strings, DATETIME/TIMESTAMP
// and the other temporal types as strings (TIMESTAMP rendered in UTC), JSON as text. Both
// start with the events that tell where the stream is: a ROTATE naming the file, then the
// FORMAT_DESCRIPTION event. Neither returns heartbeats.
//
// The relay reader returns what the relay files hold, which is what the upstream's binlog
// holds: with MariaDB that includes the ANNOTATE_ROWS events (the SQL text of row events)
// that a remote reader does not ask for. Consumers that act on data events see the same
// sequence from both.
//
// The package is part of the binlog library and imports nothing from dm's master, worker,
// restapi or fsm packages.
package reader
