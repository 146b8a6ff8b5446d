// Package demo is `make demo`: a source and a target MariaDB, a one-master one-worker cluster,
// sample data, a source and an `all` task created through the API, and rows written while it
// replicates, left running until Ctrl-C (DM_DEMO=wait).
package demo
