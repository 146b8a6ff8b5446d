package dmyaml

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// reader collects what reading one file finds: the warnings, and the problems that refuse it.
type reader struct {
	warnings []Warning
	problems []Problem
}

func lineOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

func (r *reader) warn(n *yaml.Node, key, format string, args ...any) {
	r.warnings = append(r.warnings, Warning{Line: lineOf(n), Key: key, Message: fmt.Sprintf(format, args...)})
}

func (r *reader) fail(n *yaml.Node, key, format string, args ...any) {
	r.problems = append(r.problems, Problem{Line: lineOf(n), Key: key, Message: fmt.Sprintf(format, args...)})
}

// err is the file's error (nil without problems).
func (r *reader) err(file string) error {
	if len(r.problems) == 0 {
		return nil
	}
	return &Error{File: file, Problems: r.problems}
}

// document parses data and returns its root mapping. A syntax error is a problem with the line
// yaml.v3 reports.
func (r *reader) document(data []byte, file string) *mapping {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				r.fail(nil, "", "%s", strings.TrimPrefix(msg, "yaml: "))
			}
		} else {
			r.fail(nil, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil
	}
	if len(doc.Content) == 0 {
		r.fail(nil, "", "the %s is empty", file)
		return nil
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		r.fail(root, "", "the %s must be a mapping of keys to values", file)
		return nil
	}
	return r.mapping(root, "")
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") }

// mapping is a YAML mapping being read. Every key must be read or declared ignored before
// finish; the others are unknown keys, problems that name their line.
type mapping struct {
	r     *reader
	path  string
	node  *yaml.Node
	order []string
	keys  map[string]*yaml.Node // key -> its key node (for the line)
	vals  map[string]*yaml.Node
	known map[string]bool
}

// mapping reads n as a mapping at path; nil (after a problem) when n is something else.
// YAML merge keys (<<: *anchor) are honoured: explicit keys win over merged ones.
func (r *reader) mapping(n *yaml.Node, path string) *mapping {
	n = resolve(n)
	m := &mapping{r: r, path: path, node: n, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}, known: map[string]bool{}}
	if isNull(n) {
		return m
	}
	if n.Kind != yaml.MappingNode {
		r.fail(n, path, "must be a mapping of keys to values")
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.Tag == "!!merge" {
			merges = append(merges, resolve(v))
			continue
		}
		if _, dup := m.keys[k.Value]; dup {
			r.fail(k, m.sub(k.Value), "the key is given twice (first on line %d)", m.keys[k.Value].Line)
			continue
		}
		m.add(k, v)
	}
	for _, src := range merges {
		m.merge(src)
	}
	return m
}

func (m *mapping) add(k, v *yaml.Node) {
	m.order = append(m.order, k.Value)
	m.keys[k.Value] = k
	m.vals[k.Value] = v
}

// merge adds the keys of a merged mapping (or sequence of mappings) that are not set yet.
func (m *mapping) merge(src *yaml.Node) {
	switch src.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(src.Content); i += 2 {
			if _, set := m.keys[src.Content[i].Value]; !set {
				m.add(src.Content[i], src.Content[i+1])
			}
		}
	case yaml.SequenceNode:
		for _, c := range src.Content {
			m.merge(resolve(c))
		}
	default:
		m.r.fail(src, m.path, "a merge key (<<) must name a mapping")
	}
}

// sub is the dotted path of key in this mapping.
func (m *mapping) sub(key string) string {
	if m.path == "" {
		return key
	}
	return m.path + "." + key
}

// keyNode is the node of key (for its line), nil when absent.
func (m *mapping) keyNode(key string) *yaml.Node { return m.keys[key] }

// has says whether key is present with a non-null value (and marks it known).
func (m *mapping) has(key string) bool {
	m.known[key] = true
	return !isNull(resolve(m.vals[key]))
}

// value marks key known and returns its value, nil when absent or null.
func (m *mapping) value(key string) *yaml.Node {
	m.known[key] = true
	v := resolve(m.vals[key])
	if isNull(v) {
		return nil
	}
	return v
}

// scalar is the text of a scalar value; ok is false when absent, or (after a problem) when
// the value is not a scalar.
func (m *mapping) scalar(key, what string) (string, *yaml.Node, bool) {
	v := m.value(key)
	if v == nil {
		return "", nil, false
	}
	if v.Kind != yaml.ScalarNode {
		m.r.fail(v, m.sub(key), "must be %s", what)
		return "", v, false
	}
	return v.Value, v, true
}

func (m *mapping) str(key string) (string, bool) {
	s, _, ok := m.scalar(key, "a string")
	return s, ok
}

func (m *mapping) boolean(key string) (bool, bool) {
	s, v, ok := m.scalar(key, "true or false")
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	m.r.fail(v, m.sub(key), "must be true or false, not %q", s)
	return false, false
}

// integer reads an integer in [lo, hi].
func (m *mapping) integer(key string, lo, hi int64) (int64, bool) {
	s, v, ok := m.scalar(key, "an integer")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
	if err != nil {
		m.r.fail(v, m.sub(key), "must be an integer, not %q", s)
		return 0, false
	}
	if n < lo || n > hi {
		m.r.fail(v, m.sub(key), "must be between %d and %d, not %d", lo, hi, n)
		return 0, false
	}
	return n, true
}

// list reads a sequence of scalars.
func (m *mapping) list(key string) ([]string, bool) {
	v := m.value(key)
	if v == nil {
		return nil, false
	}
	if v.Kind != yaml.SequenceNode {
		m.r.fail(v, m.sub(key), "must be a list")
		return nil, false
	}
	out := make([]string, 0, len(v.Content))
	for i, c := range v.Content {
		c = resolve(c)
		if c.Kind != yaml.ScalarNode {
			m.r.fail(c, fmt.Sprintf("%s[%d]", m.sub(key), i), "must be a string")
			return nil, false
		}
		out = append(out, c.Value)
	}
	return out, true
}

// child reads a nested mapping; nil when absent (or not a mapping, after a problem).
func (m *mapping) child(key string) *mapping {
	v := m.value(key)
	if v == nil {
		return nil
	}
	return m.r.mapping(v, m.sub(key))
}

// entries reads a mapping of names to mappings (DM's named rule sets), in file order.
func (m *mapping) entries(key string) []namedMapping {
	set := m.child(key)
	if set == nil {
		return nil
	}
	var out []namedMapping
	for _, name := range set.order {
		sub := set.child(name)
		if sub != nil {
			out = append(out, namedMapping{name: name, line: lineOf(set.keys[name]), m: sub})
		}
	}
	return out
}

type namedMapping struct {
	name string
	line int
	m    *mapping
}

// ignore accepts key with a warning: DM has it, this project does nothing with it.
func (m *mapping) ignore(key, why string) {
	if m.has(key) {
		m.r.warn(m.keys[key], m.sub(key), "%s", why)
	}
}

// refuse makes key a problem when it is set: ignoring it would change which data moves.
func (m *mapping) refuse(key, why string) {
	if m.has(key) {
		m.r.fail(m.keys[key], m.sub(key), "%s", why)
	}
}

// finish reports every key that was neither read nor declared: misspelt or unknown keys.
func (m *mapping) finish() {
	if m == nil {
		return
	}
	for _, key := range m.order {
		if m.known[key] {
			continue
		}
		msg := "unknown key"
		if near := closest(key, m.known); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		m.r.fail(m.keys[key], m.sub(key), "%s", msg)
	}
}

// closest is the known key nearest to key by edit distance, "" when none is near enough.
func closest(key string, known map[string]bool) string {
	best, bestD := "", 3
	for k := range known {
		d := editDistance(strings.ToLower(key), k)
		if d < bestD || (d == bestD && best != "" && k < best) {
			best, bestD = k, d
		}
	}
	if bestD > max(1, len(key)/3) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
