package syncer

import "testing"

func TestCompareTypesForOptimisticMerge(t *testing.T) {
	cases := []struct {
		have, want string
		cmp        int
		comparable bool
	}{
		{"int(11)", "bigint(20)", -1, true},
		{"bigint(20)", "int", 1, true},
		{"int(11)", "int", 0, true},
		{"int(10) unsigned", "int(11)", 0, false},
		{"varchar(20)", "varchar(50)", -1, true},
		{"varchar(50)", "varchar(30)", 1, true},
		{"varchar(20)", "text", -1, true},
		{"mediumtext", "varchar(100)", 1, true},
		{"decimal(10,2)", "decimal(12,2)", -1, true},
		{"decimal(10,2)", "decimal(10,4)", 0, false},
		{"decimal(12,4)", "decimal(10,2)", 1, true},
		{"float", "double", -1, true},
		{"int(11)", "varchar(20)", 0, false},
		{"datetime", "datetime", 0, true},
		{"datetime", "datetime(3)", 0, false},
		{"varbinary(10)", "blob", -1, true},
	}
	for _, c := range cases {
		cmp, ok := compareTypes(c.have, c.want)
		if ok != c.comparable || (ok && cmp != c.cmp) {
			t.Errorf("compareTypes(%q, %q) = %d, %v; want %d, %v", c.have, c.want, cmp, ok, c.cmp, c.comparable)
		}
	}
}

func TestNormTypeIgnoresIntegerDisplayWidth(t *testing.T) {
	for in, want := range map[string]string{
		"int(11)":             "int",
		"INT":                 "int",
		"bigint(20) unsigned": "bigint unsigned",
		"VARCHAR(20)":         "varchar(20)",
		" tinyint(4) ":        "tinyint",
	} {
		if got := normType(in); got != want {
			t.Errorf("normType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitQuoted(t *testing.T) {
	s, tb, ok := splitQuoted(tableKey("a`b", "t.1"))
	if !ok || s != "a`b" || tb != "t.1" {
		t.Fatalf("got %q %q %v", s, tb, ok)
	}
	if _, _, ok := splitQuoted("plain.name"); ok {
		t.Fatal("unquoted name accepted")
	}
}
