package dmyaml

import (
	"errors"
	"fmt"
	"regexp/syntax"
)

// DM's block-allow lists accept regular expressions ("~" then the expression, searched
// unanchored and case-insensitively in the name). The API's patterns are globs, so an
// expression is turned into the globs matching exactly the same names; expressions beyond
// that (a repeated group, a word boundary, ...) are refused rather than approximated.

// maxRegexGlobs bounds the globs one expression expands into (alternations multiply).
const maxRegexGlobs = 64

type rkind uint8

const (
	rChar rkind = iota
	rStar
	rBegin
	rEnd
)

type rtok struct {
	kind rkind
	set  charSet
}

type rseq []rtok

var errRegexNotGlob = errors.New("the expression cannot be written as the API's wildcard patterns")

// regexGlobs returns the globs matching exactly the names the expression finds a match in.
func regexGlobs(expr string) ([]glob, error) {
	re, err := syntax.Parse(expr, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return nil, fmt.Errorf("bad regular expression: %w", err)
	}
	seqs, err := regexSeqs(re.Simplify())
	if err != nil {
		return nil, err
	}
	var out []glob
	for _, s := range seqs {
		g, err := seqGlob(s)
		if err != nil {
			return nil, err
		}
		if !containsGlob(out, g) {
			out = append(out, g)
		}
	}
	return out, nil
}

func containsGlob(gs []glob, g glob) bool {
	for _, x := range gs {
		if x.equal(g) {
			return true
		}
	}
	return false
}

// seqGlob turns one alternative into a glob: anchors only at its ends, and an unanchored end
// becomes a star (the expression is searched, not matched whole).
func seqGlob(s rseq) (glob, error) {
	start, end := 0, len(s)
	anchoredStart, anchoredEnd := false, false
	for start < end && s[start].kind == rBegin {
		start, anchoredStart = start+1, true
	}
	for end > start && s[end-1].kind == rEnd {
		end, anchoredEnd = end-1, true
	}
	var g glob
	addStar := func() {
		if n := len(g.toks); n == 0 || !g.toks[n-1].star {
			g.toks = append(g.toks, gtok{star: true})
		}
	}
	if !anchoredStart {
		addStar()
	}
	for _, t := range s[start:end] {
		switch t.kind {
		case rChar:
			g.toks = append(g.toks, gtok{set: t.set})
		case rStar:
			addStar()
		default:
			return glob{}, fmt.Errorf("%w: an anchor (^ or $) inside it", errRegexNotGlob)
		}
	}
	if !anchoredEnd {
		addStar()
	}
	return g, nil
}

func regexSeqs(re *syntax.Regexp) ([]rseq, error) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []rseq{nil}, nil
	case syntax.OpLiteral:
		var s rseq
		for _, r := range re.Rune {
			s = append(s, rtok{kind: rChar, set: oneChar(r)})
		}
		return []rseq{s}, nil
	case syntax.OpCharClass:
		var rs []runeRange
		for i := 0; i+1 < len(re.Rune); i += 2 {
			rs = append(rs, runeRange{re.Rune[i], re.Rune[i+1]})
		}
		return []rseq{{{kind: rChar, set: classSet(rs, false)}}}, nil
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return []rseq{{{kind: rChar, set: anyChar()}}}, nil
	case syntax.OpBeginLine, syntax.OpBeginText:
		return []rseq{{{kind: rBegin}}}, nil
	case syntax.OpEndLine, syntax.OpEndText:
		return []rseq{{{kind: rEnd}}}, nil
	case syntax.OpCapture:
		return regexSeqs(re.Sub[0])
	case syntax.OpConcat:
		out := []rseq{nil}
		for _, sub := range re.Sub {
			alts, err := regexSeqs(sub)
			if err != nil {
				return nil, err
			}
			if out, err = product(out, alts); err != nil {
				return nil, err
			}
		}
		return out, nil
	case syntax.OpAlternate:
		var out []rseq
		for _, sub := range re.Sub {
			alts, err := regexSeqs(sub)
			if err != nil {
				return nil, err
			}
			out = append(out, alts...)
		}
		return limitSeqs(out)
	case syntax.OpQuest:
		alts, err := regexSeqs(re.Sub[0])
		if err != nil {
			return nil, err
		}
		return limitSeqs(append([]rseq{nil}, alts...))
	case syntax.OpStar, syntax.OpPlus:
		if !anyCharOp(re.Sub[0]) {
			return nil, fmt.Errorf("%w: only '.' may be repeated (%s)", errRegexNotGlob, re)
		}
		if re.Op == syntax.OpPlus {
			return []rseq{{{kind: rChar, set: anyChar()}, {kind: rStar}}}, nil
		}
		return []rseq{{{kind: rStar}}}, nil
	}
	return nil, fmt.Errorf("%w: %s", errRegexNotGlob, re)
}

func anyCharOp(re *syntax.Regexp) bool {
	return re.Op == syntax.OpAnyChar || re.Op == syntax.OpAnyCharNotNL
}

func product(a, b []rseq) ([]rseq, error) {
	var out []rseq
	for _, x := range a {
		for _, y := range b {
			s := make(rseq, 0, len(x)+len(y))
			out = append(out, append(append(s, x...), y...))
		}
	}
	return limitSeqs(out)
}

func limitSeqs(s []rseq) ([]rseq, error) {
	if len(s) > maxRegexGlobs {
		return nil, fmt.Errorf("%w: it expands into more than %d patterns", errRegexNotGlob, maxRegexGlobs)
	}
	return s, nil
}
