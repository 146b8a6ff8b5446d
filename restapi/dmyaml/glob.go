package dmyaml

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dm-oss/dm/binlog/rules"
)

// glob is a name pattern of the API (binlog/rules syntax: *, ?, [class]) as a sequence of
// tokens, so that patterns can be intersected, compared and complemented exactly. The algebra
// is complete for "simple" globs, whose only star is the last token (DM's own wildcard syntax
// is of that kind); a glob with a star elsewhere takes part only in trivial combinations.
type glob struct{ toks []gtok }

type gtok struct {
	star bool
	set  charSet // when !star
}

// errComplexPattern is wrapped when two patterns cannot be combined into one exactly.
var errComplexPattern = errors.New("patterns with a '*' before the end cannot be combined exactly")

var starGlob = glob{toks: []gtok{{star: true}}}

// parseGlob reads a pattern of the API's syntax; "" is not a pattern.
func parseGlob(p string) (glob, error) {
	if p == "" {
		return glob{}, errors.New("empty pattern")
	}
	if _, err := rules.CompilePattern(p, false); err != nil {
		return glob{}, err
	}
	var g glob
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '*':
			if n := len(g.toks); n == 0 || !g.toks[n-1].star {
				g.toks = append(g.toks, gtok{star: true})
			}
		case '?':
			g.toks = append(g.toks, gtok{set: anyChar()})
		case '[':
			set, end := parseGlobClass(rs, i)
			g.toks = append(g.toks, gtok{set: set})
			i = end
		default:
			g.toks = append(g.toks, gtok{set: oneChar(rs[i])})
		}
	}
	return g, nil
}

// parseGlobClass reads the class at rs[start] ('['), which rules.CompilePattern accepted.
func parseGlobClass(rs []rune, start int) (charSet, int) {
	i, neg := start+1, false
	if i < len(rs) && (rs[i] == '!' || rs[i] == '^') {
		neg = true
		i++
	}
	var ranges []runeRange
	for first := true; i < len(rs); i++ {
		c := rs[i]
		if c == ']' && !first {
			break
		}
		first = false
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] != ']' {
			ranges = append(ranges, runeRange{c, rs[i+2]})
			i += 2
			continue
		}
		ranges = append(ranges, runeRange{c, c})
	}
	return classSet(ranges, neg), i
}

func (g glob) isStar() bool { return len(g.toks) == 1 && g.toks[0].star }

// literal is the one name the glob matches, if it has no wildcard at all.
func (g glob) literal() (string, bool) {
	var b strings.Builder
	for _, t := range g.toks {
		c, ok := t.set.single()
		if t.star || !ok {
			return "", false
		}
		b.WriteRune(c)
	}
	return b.String(), true
}

// simple: no star but possibly the last token. parts splits it into its fixed part and
// whether it ends with a star.
func (g glob) simple() bool {
	for i, t := range g.toks {
		if t.star && i != len(g.toks)-1 {
			return false
		}
	}
	return true
}

func (g glob) parts() ([]charSet, bool) {
	var fixed []charSet
	star := false
	for _, t := range g.toks {
		if t.star {
			star = true
			continue
		}
		fixed = append(fixed, t.set)
	}
	return fixed, star
}

func fromParts(fixed []charSet, star bool) glob {
	g := glob{toks: make([]gtok, 0, len(fixed)+1)}
	for _, s := range fixed {
		g.toks = append(g.toks, gtok{set: s})
	}
	if star {
		g.toks = append(g.toks, gtok{star: true})
	}
	return g
}

func (g glob) equal(o glob) bool {
	return slices.EqualFunc(g.toks, o.toks, func(a, b gtok) bool { return a.star == b.star && (a.star || a.set.equal(b.set)) })
}

// intersect is the glob matching the names both match; ok is false when there is none.
func (g glob) intersect(o glob) (glob, bool, error) {
	switch {
	case g.isStar():
		return o, true, nil
	case o.isStar() || g.equal(o):
		return g, true, nil
	case !g.simple() || !o.simple():
		return glob{}, false, fmt.Errorf("%w: %s and %s", errComplexPattern, g, o)
	}
	ge, gs := g.parts()
	oe, os := o.parts()
	if (!gs && len(oe) > len(ge)) || (!os && len(ge) > len(oe)) {
		return glob{}, false, nil
	}
	n := max(len(ge), len(oe))
	out := make([]charSet, n)
	for i := range n {
		out[i] = elemAt(ge, i).intersect(elemAt(oe, i))
		if out[i].empty() {
			return glob{}, false, nil
		}
	}
	return fromParts(out, gs && os), true, nil
}

func elemAt(e []charSet, i int) charSet {
	if i < len(e) {
		return e[i]
	}
	return anyChar()
}

// contains reports whether every name o matches, g matches too.
func (g glob) contains(o glob) (bool, error) {
	if g.isStar() || g.equal(o) {
		return true, nil
	}
	if !g.simple() || !o.simple() {
		if lit, ok := o.literal(); ok {
			m, err := rules.CompilePattern(g.String(), false)
			return err == nil && m.Match(lit), err
		}
		return false, fmt.Errorf("%w: %s and %s", errComplexPattern, g, o)
	}
	ge, gs := g.parts()
	oe, os := o.parts()
	if gs {
		if len(oe) < len(ge) {
			return false, nil
		}
	} else if os || len(oe) != len(ge) {
		return false, nil
	}
	for i := range ge {
		if !ge[i].contains(oe[i]) {
			return false, nil
		}
	}
	return true, nil
}

// complement is the globs matching exactly the (non-empty) names g does not match.
func (g glob) complement() ([]glob, error) {
	if !g.simple() {
		return nil, fmt.Errorf("%w: %s cannot be excluded", errComplexPattern, g)
	}
	fixed, star := g.parts()
	var out []glob
	for i := range fixed {
		// Names that match the first i characters and differ at the next.
		if not := fixed[i].complement(); !not.empty() {
			prefix := append(slices.Clone(fixed[:i]), not)
			out = append(out, fromParts(prefix, true))
		}
	}
	for k := 1; k < len(fixed); k++ {
		out = append(out, fromParts(slices.Clone(fixed[:k]), false)) // shorter names
	}
	if !star {
		out = append(out, fromParts(append(slices.Clone(fixed), anyChar()), true)) // longer names
	}
	return out, nil
}

// String writes the glob in the API's syntax.
func (g glob) String() string {
	var b strings.Builder
	for _, t := range g.toks {
		switch {
		case t.star:
			b.WriteByte('*')
		case t.set.any():
			b.WriteByte('?')
		default:
			if c, ok := t.set.single(); ok {
				if strings.ContainsRune("*?[", c) {
					b.WriteString("[" + string(c) + "]")
				} else {
					b.WriteRune(c)
				}
				continue
			}
			b.WriteString(classString(t.set))
		}
	}
	return b.String()
}

// classString writes a set as a class that binlog/rules reads back as the same set: ']' goes
// first, '-' last, and no '!' or '^' first in a positive class.
func classString(s charSet) string {
	rs := subtractRanges(s.ranges, []runeRange{{']', ']'}, {'-', '-'}})
	hasBracket := len(intersectRanges(s.ranges, []runeRange{{']', ']'}})) > 0
	hasDash := len(intersectRanges(s.ranges, []runeRange{{'-', '-'}})) > 0
	var items []string
	if hasBracket {
		items = append(items, "]")
	}
	for _, r := range rs {
		if r.lo == r.hi {
			items = append(items, string(r.lo))
		} else {
			items = append(items, string(r.lo)+"-"+string(r.hi))
		}
	}
	if hasDash {
		items = append(items, "-")
	}
	if !s.neg && len(items) > 1 && (strings.HasPrefix(items[0], "!") || strings.HasPrefix(items[0], "^")) {
		for i := 1; i < len(items); i++ {
			if !strings.HasPrefix(items[i], "!") && !strings.HasPrefix(items[i], "^") && items[i] != "-" {
				items[0], items[i] = items[i], items[0]
				break
			}
		}
	}
	prefix := "["
	if s.neg {
		prefix = "[!"
	}
	return prefix + strings.Join(items, "") + "]"
}

// tablePair is a (schema pattern, table pattern) pair: a set of tables.
type tablePair struct{ schema, table glob }

func (p tablePair) String() string { return p.schema.String() + "." + p.table.String() }

func (p tablePair) intersect(o tablePair) (tablePair, bool, error) {
	s, ok, err := p.schema.intersect(o.schema)
	if err != nil || !ok {
		return tablePair{}, false, err
	}
	t, ok, err := p.table.intersect(o.table)
	if err != nil || !ok {
		return tablePair{}, false, err
	}
	return tablePair{s, t}, true, nil
}

func (p tablePair) contains(o tablePair) (bool, error) {
	s, err := p.schema.contains(o.schema)
	if err != nil || !s {
		return false, err
	}
	return p.table.contains(o.table)
}

// exact: both patterns are literal names, so the pair is one table.
func (p tablePair) exact() (schema, table string, ok bool) {
	s, ok1 := p.schema.literal()
	t, ok2 := p.table.literal()
	return s, t, ok1 && ok2
}

// complement is the pairs matching exactly the tables p does not match.
func (p tablePair) complement() ([]tablePair, error) {
	notSchema, err := p.schema.complement()
	if err != nil {
		return nil, err
	}
	notTable, err := p.table.complement()
	if err != nil {
		return nil, err
	}
	var out []tablePair
	for _, s := range notSchema {
		out = append(out, tablePair{s, starGlob})
	}
	for _, t := range notTable {
		out = append(out, tablePair{p.schema, t})
	}
	return out, nil
}

// maxPairs bounds the sets built from exclusions, so that a file cannot make the task huge.
const maxPairs = 256

// intersectSets is the union of the pairwise intersections of two unions of pairs, without
// the pairs another one contains.
func intersectSets(a, b []tablePair) ([]tablePair, error) {
	var out []tablePair
	for _, x := range a {
		for _, y := range b {
			p, ok, err := x.intersect(y)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, p)
			}
		}
	}
	return prune(out)
}

// prune drops the pairs that an earlier pair (or a later, larger one) contains, keeping order.
func prune(ps []tablePair) ([]tablePair, error) {
	var out []tablePair
	for i, p := range ps {
		covered := false
		for j, q := range ps {
			if i == j {
				continue
			}
			in, err := q.contains(p)
			if err != nil {
				return nil, err
			}
			if !in {
				continue
			}
			// Of two equal pairs, keep the first.
			back, err := p.contains(q)
			if err != nil {
				return nil, err
			}
			if !back || j < i {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	if len(out) > maxPairs {
		return nil, fmt.Errorf("the table patterns combine into more than %d patterns", maxPairs)
	}
	return out, nil
}
