// Package integration holds the real-process test harness (MariaDB servers,
// dm clusters, the row-count and CHECKSUM TABLE comparisons every test uses) and the
// end-to-end tests.
package integration
