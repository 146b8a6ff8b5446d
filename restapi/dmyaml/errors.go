package dmyaml

import (
	"fmt"
	"strings"
)

// Warning is a key of a DM file that was accepted but has no effect here (or a deprecated one),
// with the line it is on.
type Warning struct {
	Line    int    // 1-based; 0 when the warning is about the file as a whole
	Key     string // dotted path, e.g. "loaders.global.import-mode"
	Message string
}

func (w Warning) String() string { return locate(w.Line, w.Key, w.Message) }

// Problem is one reason a file was refused.
type Problem struct {
	Line    int // 1-based; 0 when the problem is about the file as a whole
	Key     string
	Message string
}

func (p Problem) String() string { return locate(p.Line, p.Key, p.Message) }

// Error is a file that cannot be converted, with every problem found (not just the first).
type Error struct {
	File     string // "source.yaml" or "task.yaml": what kind of file was read
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("invalid %s: %s", e.File, strings.Join(lines, "; "))
}

func locate(line int, key, msg string) string {
	var b strings.Builder
	if line > 0 {
		fmt.Fprintf(&b, "line %d: ", line)
	}
	if key != "" {
		b.WriteString(key)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	return b.String()
}
