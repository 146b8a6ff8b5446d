// Package bench measures dm against baselines run on the same machine in the same run:
// throughput and ratios, never asserted in tests (speed belongs here). Run with `make bench`.
package bench
