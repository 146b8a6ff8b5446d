package dump

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAppendValue(t *testing.T) {
	for _, c := range []struct {
		v    []byte
		k    valueKind
		want string
	}{
		{nil, kindString, "NULL"},
		{nil, kindBinary, "NULL"},
		{[]byte{}, kindString, "''"},
		{[]byte{}, kindBinary, "''"},
		{[]byte("-12.50"), kindNumber, "-12.50"},
		{[]byte("0.30000001192092896"), kindFloat32, "0.30000001192092896"},
		{[]byte("it's \\ \"x\"\n\r\x00\x1a😀"), kindString, `'it\'s \\ \"x\"\n\r\0\Z😀'`},
		{[]byte{0, 0xff, '\''}, kindBinary, "0x00ff27"},
	} {
		require.Equal(t, c.want, string(appendValue(nil, c.v, c.k)), "%q", c.v)
	}
	require.Equal(t, `'a\'b'`, QuoteString("a'b"))
}

func TestKindOf(t *testing.T) {
	require.Equal(t, kindNumber, kindOf("BIGINT"))
	require.Equal(t, kindNumber, kindOf("year"))
	require.Equal(t, kindFloat32, kindOf("float"))
	require.Equal(t, kindBinary, kindOf("longblob"))
	require.Equal(t, kindBinary, kindOf("bit"))
	require.Equal(t, kindString, kindOf("json"))
	require.Equal(t, kindString, kindOf("datetime"))
	require.Equal(t, kindString, kindOf("enum"))
}

func TestRangeConditions(t *testing.T) {
	require.Equal(t, "1=1", KeyRange([]string{"id"}, nil, nil))
	require.Equal(t, "`id` >= 5 AND `id` <= 9", KeyRange([]string{"id"}, []string{"5"}, []string{"9"}))
	require.Equal(t, "`id` >= 5 AND `id` < 9", rangeCond([]string{"id"}, []string{"5"}, true, []string{"9"}, false))
	require.Equal(t, "(`a` > 1 OR (`a` = 1 AND `b` >= 'x'))",
		rangeCond([]string{"a", "b"}, []string{"1", "'x'"}, true, nil, false))
	require.Equal(t, "(`a` < 2 OR (`a` = 2 AND (`b` < 'y' OR (`b` = 'y' AND `c` <= 3))))",
		KeyRange([]string{"a", "b", "c"}, nil, []string{"2", "'y'", "3"}))
}

func TestFileNames(t *testing.T) {
	n := newFileNames()
	require.Equal(t, "db.t", n.base(escapeName("db")+"."+escapeName("t")))
	require.Equal(t, "we%60ird%2Edb.t%2Fa%20b", n.base(escapeName("we`ird.db")+"."+escapeName("t/a b")))
	require.Equal(t, "DB.t~2", n.base("DB.t"), "unique also case-insensitively")
	long := n.base(escapeName(string(make([]byte, 200))))
	require.Len(t, long, 120)
	require.Equal(t, long+"~2", n.base(escapeName(string(make([]byte, 201)))))
}

func TestTableMetaPrefixes(t *testing.T) {
	tm := TableMeta{Schema: "s", Table: "t`x", Columns: []string{"a", "b c"}}
	require.Equal(t, "INSERT INTO `t``x` (`a`,`b c`) VALUES ", tm.InsertPrefix())
	require.Equal(t, "CREATE TABLE `t``x` (", tm.CreateTablePrefix())
}
