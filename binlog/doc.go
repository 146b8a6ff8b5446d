// Package binlog is the binlog library other Go tools import: relay log, binlog readers, schema
// tracking, filters, routing and DML replay. It never imports master/, worker/, restapi/ or
// fsm/. (Filled in by the relay and replication work.)
package binlog
