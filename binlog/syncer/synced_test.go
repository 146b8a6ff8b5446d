package syncer

import (
	"testing"

	"github.com/dm-oss/dm/binlog"
)

// TestLocEqualPrefersGTIDSets: the same GTID set at two positions is synced (a run resumed by
// GTID on a failed-over upstream stands at its binlog's header events; a rotated master past a
// new file's); without GTID sets on both sides, positions decide.
func TestLocEqualPrefersGTIDSets(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b binlog.Location
		want bool
	}{
		{"failover: header events vs end of binlog", binlog.Location{File: "mysql-bin.000001", Pos: 328, GTIDSet: "0-1-717"}, binlog.Location{File: "mysql-bin.000001", Pos: 719322, GTIDSet: "0-1-717"}, true},
		{"rotated master", binlog.Location{File: "mysql-bin.000001", Pos: 9000, GTIDSet: "0-1-5"}, binlog.Location{File: "mysql-bin.000002", Pos: 385, GTIDSet: "0-1-5"}, true},
		{"behind by a transaction", binlog.Location{File: "mysql-bin.000001", Pos: 9000, GTIDSet: "0-1-5"}, binlog.Location{File: "mysql-bin.000001", Pos: 9400, GTIDSet: "0-1-6"}, false},
		{"positions only, equal", binlog.Location{File: "mysql-bin.000001", Pos: 9000}, binlog.Location{File: "mysql-bin.000001", Pos: 9000, GTIDSet: "0-1-5"}, true},
		{"positions only, behind", binlog.Location{File: "mysql-bin.000001", Pos: 8000}, binlog.Location{File: "mysql-bin.000001", Pos: 9000}, false},
		{"GTID only", binlog.Location{GTIDSet: "0-1-5"}, binlog.Location{File: "mysql-bin.000001", Pos: 9000, GTIDSet: "0-1-5"}, true},
		{"nothing known", binlog.Location{}, binlog.Location{}, false},
	} {
		if got := locEqual(c.a, c.b); got != c.want {
			t.Errorf("%s: locEqual(%v, %v) = %v, want %v", c.name, c.a, c.b, got, c.want)
		}
	}
}
