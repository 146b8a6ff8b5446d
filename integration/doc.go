// Package integration holds the real-process test harness (MariaDB servers,
// dm clusters) and the end-to-end tests.
package integration
