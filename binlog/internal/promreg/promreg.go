// Package promreg registers the binlog units' Prometheus collectors so that two units of one
// kind in a process (two relays, two sync units of a task) share their series.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c, or returns the collector already registered under the same
// description. An incompatible collector under the same name leaves c unregistered: a unit
// never fails over its metrics.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
