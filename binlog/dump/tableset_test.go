package dump

import "testing"

func TestSameTables(t *testing.T) {
	ts := func(quoted, create string) *tableState { return &tableState{quoted: quoted, create: create} }
	a := []*tableState{ts("`d`.`t`", "CREATE TABLE `t` (id INT) ENGINE=InnoDB AUTO_INCREMENT=5")}
	if !sameTables(a, []*tableState{ts("`d`.`t`", "CREATE TABLE `t` (id INT) ENGINE=InnoDB AUTO_INCREMENT=9")}) {
		t.Fatal("a moving AUTO_INCREMENT counter is not a change of definition")
	}
	if sameTables(a, []*tableState{ts("`d`.`t`", "CREATE TABLE `t` (id INT, c INT) ENGINE=InnoDB")}) {
		t.Fatal("an altered table must be seen")
	}
	if sameTables(a, append(a, ts("`d`.`w`", "CREATE TABLE `w` (id INT)"))) {
		t.Fatal("a new table must be seen")
	}
	if sameTables(a, []*tableState{ts("`d`.`u`", "CREATE TABLE `t` (id INT) ENGINE=InnoDB")}) {
		t.Fatal("a renamed table must be seen")
	}
}
