package ddl

import "strings"

// SplitStatements splits sql at the semicolons that end statements (not those in strings,
// quoted names or comments) and returns the statements, trimmed, leaving out the empty ones
// and those of comments only. Compound statements (BEGIN ... END), whose bodies hold semicolons
// of their own, are not told apart.
func SplitStatements(sql string) []string {
	var out []string
	add := func(piece string) {
		if len(significant(lex(piece))) > 0 {
			out = append(out, strings.TrimSpace(piece))
		}
	}
	start := 0
	for _, t := range lex(sql) {
		if t.kind == tkPunct && t.text == ";" {
			add(sql[start:t.start])
			start = t.end
		}
	}
	add(sql[start:])
	return out
}
