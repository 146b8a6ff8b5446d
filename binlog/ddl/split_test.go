package ddl

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSplitStatements(t *testing.T) {
	for in, want := range map[string][]string{
		"":          nil,
		" ; ;\n":    nil,
		"SELECT 1":  {"SELECT 1"},
		"SELECT 1;": {"SELECT 1"},
		"a; b ;c":   {"a", "b", "c"},
		"ALTER TABLE t ADD c INT; ALTER TABLE t ADD d INT;": {"ALTER TABLE t ADD c INT", "ALTER TABLE t ADD d INT"},
		"INSERT INTO t VALUES ('a;b', \"c;\"); UPDATE `x;y` SET v = 'it''s; fine'": {
			"INSERT INTO t VALUES ('a;b', \"c;\")", "UPDATE `x;y` SET v = 'it''s; fine'"},
		"SELECT 'back\\';slash'; SELECT 2":                 {"SELECT 'back\\';slash'", "SELECT 2"},
		"SELECT 1 /* one; */; -- two;\n SELECT 2 # three;": {"SELECT 1 /* one; */", "-- two;\n SELECT 2 # three;"},
		"/* only a comment */; SELECT 3":                   {"SELECT 3"},
	} {
		assert.Equal(t, want, SplitStatements(in), "%q", in)
	}
}
