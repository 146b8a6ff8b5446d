package syncer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLiterals(t *testing.T) {
	text := colInfo{kind: kText, charset: "utf8mb4"}
	require.Equal(t, `'a\'b\\c\0\n'`, string(text.appendLiteral(nil, "a'b\\c\x00\n")))
	require.Equal(t, `_latin1 X'e9'`, string((&colInfo{kind: kText, charset: "latin1"}).appendLiteral(nil, "\xe9")))
	bin := colInfo{kind: kBinary}
	require.Equal(t, `X'00ff'`, string(bin.appendLiteral(nil, []byte{0, 255})))
	dec := colInfo{kind: kDecimal}
	require.Equal(t, `-12.50`, string(dec.appendLiteral(nil, "-12.50")))
	require.Equal(t, `'1; DROP'`, string(dec.appendLiteral(nil, "1; DROP")))
	f := colInfo{kind: kFloat}
	v, err := f.convert(float32(0.1))
	require.NoError(t, err)
	require.Equal(t, `0.10000000149011612`, string(f.appendLiteral(nil, v)))
	u := colInfo{kind: kUint, bits: 64}
	v, err = u.convert(int64(-1))
	require.NoError(t, err)
	require.Equal(t, `18446744073709551615`, string(u.appendLiteral(nil, v)))
	u24 := colInfo{kind: kUint, bits: 24}
	v, err = u24.convert(int32(-1))
	require.NoError(t, err)
	require.Equal(t, uint64(16777215), v)
	e := colInfo{kind: kEnum, enum: []string{"a", "b"}}
	v, _ = e.convert(int64(2))
	require.Equal(t, "b", v)
	set := colInfo{kind: kSet, enum: []string{"x", "y", "z"}}
	v, _ = set.convert(int64(5))
	require.Equal(t, "x,z", v)
	ci := colInfo{kind: kText, foldKey: true}
	require.Equal(t, string(ci.appendKey(nil, "Éa  ")), string(ci.appendKey(nil, "ea")))
}
