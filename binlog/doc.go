// Package binlog is the binlog library other Go tools import: relay log, binlog readers, schema
// tracking, filters, routing, dump/load and DML replay, in its sub-packages. This root package
// holds the few types they share: a Location in an upstream's binlog and the Reader seam
// between reading binlog events and acting on them.
//
// It never imports master/, worker/, restapi/ or fsm/.
//
// Stability: the exported API of this package and its sub-packages (not binlog/internal/...)
// follows semantic versioning from v1.0; until then a change that breaks callers comes only
// in a minor release, listed in its notes with the replacement.
package binlog
