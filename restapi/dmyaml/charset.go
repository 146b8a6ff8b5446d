package dmyaml

import (
	"slices"
	"unicode"
)

// charSet is a set of characters as the API's patterns compare them: folded to lower case
// (the master compiles table patterns case-insensitively). neg means "every character but
// ranges". Ranges are sorted, disjoint, not adjacent, and hold no upper-case ASCII letter.
type charSet struct {
	neg    bool
	ranges []runeRange
}

type runeRange struct{ lo, hi rune }

const maxRune = unicode.MaxRune

func anyChar() charSet { return charSet{neg: true} }

func oneChar(c rune) charSet {
	return charSet{ranges: []runeRange{{unicode.ToLower(c), unicode.ToLower(c)}}}
}

// classSet is a character class as written (ranges), folded.
func classSet(rs []runeRange, neg bool) charSet { return charSet{neg: neg, ranges: fold(rs)} }

func (s charSet) empty() bool { return !s.neg && len(s.ranges) == 0 }
func (s charSet) any() bool   { return s.neg && len(s.ranges) == 0 }

// single is the one character of the set, if it has exactly one.
func (s charSet) single() (rune, bool) {
	if !s.neg && len(s.ranges) == 1 && s.ranges[0].lo == s.ranges[0].hi {
		return s.ranges[0].lo, true
	}
	return 0, false
}

func (s charSet) complement() charSet { return charSet{neg: !s.neg, ranges: s.ranges} }

func (s charSet) intersect(o charSet) charSet {
	switch {
	case !s.neg && !o.neg:
		return charSet{ranges: intersectRanges(s.ranges, o.ranges)}
	case !s.neg && o.neg:
		return charSet{ranges: subtractRanges(s.ranges, o.ranges)}
	case s.neg && !o.neg:
		return charSet{ranges: subtractRanges(o.ranges, s.ranges)}
	default:
		return charSet{neg: true, ranges: normalize(append(slices.Clone(s.ranges), o.ranges...))}
	}
}

// contains reports whether every character of o is in s.
func (s charSet) contains(o charSet) bool { return o.intersect(s.complement()).empty() }

func (s charSet) equal(o charSet) bool {
	return s.neg == o.neg && slices.Equal(s.ranges, o.ranges)
}

// fold maps upper-case ASCII letters to lower case, then normalizes.
func fold(rs []runeRange) []runeRange {
	var out []runeRange
	for _, r := range rs {
		if r.hi < 'A' || r.lo > 'Z' {
			out = append(out, r)
			continue
		}
		if r.lo < 'A' {
			out = append(out, runeRange{r.lo, 'A' - 1})
		}
		out = append(out, runeRange{unicode.ToLower(max(r.lo, 'A')), unicode.ToLower(min(r.hi, 'Z'))})
		if r.hi > 'Z' {
			out = append(out, runeRange{'Z' + 1, r.hi})
		}
	}
	return normalize(out)
}

// normalize sorts and merges overlapping or adjacent ranges.
func normalize(rs []runeRange) []runeRange {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b runeRange) int { return int(a.lo - b.lo) })
	var out []runeRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func intersectRanges(a, b []runeRange) []runeRange {
	var out []runeRange
	for _, x := range a {
		for _, y := range b {
			if lo, hi := max(x.lo, y.lo), min(x.hi, y.hi); lo <= hi {
				out = append(out, runeRange{lo, hi})
			}
		}
	}
	return normalize(out)
}

func subtractRanges(a, b []runeRange) []runeRange {
	out := slices.Clone(a)
	for _, y := range b {
		var next []runeRange
		for _, x := range out {
			if y.hi < x.lo || y.lo > x.hi {
				next = append(next, x)
				continue
			}
			if x.lo < y.lo {
				next = append(next, runeRange{x.lo, y.lo - 1})
			}
			if x.hi > y.hi {
				next = append(next, runeRange{y.hi + 1, x.hi})
			}
		}
		out = next
	}
	return normalize(out)
}
