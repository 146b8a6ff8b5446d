package binlog

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParsePosition(t *testing.T) {
	for in, want := range map[string]struct {
		file string
		pos  uint32
	}{
		"mysql-bin.000001:4321":       {"mysql-bin.000001", 4321},
		" mysql-bin.000001 : 4 ":      {"mysql-bin.000001", 4},
		"(mysql-bin.000002, 1979)":    {"mysql-bin.000002", 1979},
		"(mysql-bin.000002,1979)":     {"mysql-bin.000002", 1979},
		"host:3306-bin.000001:120":    {"host:3306-bin.000001", 120},
		"mysql-bin.000001:4294967295": {"mysql-bin.000001", 4294967295},
	} {
		file, pos, err := ParsePosition(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want.file, file, in)
			assert.Equal(t, want.pos, pos, in)
		}
	}
	for _, in := range []string{"", "mysql-bin.000001", "mysql-bin.000001:", ":4", "mysql-bin.000001:0", "mysql-bin.000001:-4",
		"mysql-bin.000001:4294967296", "mysql-bin.000001:x", "(mysql-bin.000001 4)", "(, 4)"} {
		_, _, err := ParsePosition(in)
		assert.Error(t, err, "%q", in)
	}
}
