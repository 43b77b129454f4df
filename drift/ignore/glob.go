package ignore

import (
	"strings"
	"unicode"
)

type op uint8

const (
	opLit  op = iota // one literal rune
	opAny            // ? : exactly one rune
	opStar           // * : any run of runes, including none, '/' and '.'
)

type elem struct {
	op op
	r  rune
}

// pattern is a compiled rule value. Matching is iterative (one remembered star), so it stays
// linear in practice and quadratic at worst, even for hostile patterns like "*a*a*a*b".
type pattern struct {
	elems    []elem
	foldCase bool
}

// literal reports whether the pattern has no wildcard, i.e. matches exactly one string.
func (p pattern) literal() bool {
	for _, e := range p.elems {
		if e.op != opLit {
			return false
		}
	}
	return true
}

func (p pattern) match(s string) bool {
	if p.foldCase {
		s = strings.ToLower(s)
	}
	rs := []rune(s)
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(rs) {
		if pi < len(p.elems) {
			e := p.elems[pi]
			switch {
			case e.op == opAny || (e.op == opLit && e.r == rs[si]):
				pi++
				si++
				continue
			case e.op == opStar:
				starP, starS = pi, si
				pi++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		pi, si = starP+1, starS
	}
	for pi < len(p.elems) && p.elems[pi].op == opStar {
		pi++
	}
	return pi == len(p.elems)
}

// String writes the pattern back in rule syntax (escaped, quoted when needed).
func (p pattern) String() string {
	var b strings.Builder
	quote := len(p.elems) == 0
	for _, e := range p.elems {
		switch e.op {
		case opAny:
			b.WriteByte('?')
		case opStar:
			b.WriteByte('*')
		default:
			if unicode.IsSpace(e.r) || e.r == '#' {
				quote = true
			}
			if strings.ContainsRune(`\*?"`, e.r) {
				b.WriteByte('\\')
			}
			b.WriteRune(e.r)
		}
	}
	if quote {
		return `"` + b.String() + `"`
	}
	return b.String()
}

// literalPattern makes a pattern that matches exactly s. The grammar has no escape for control
// characters, so each becomes a single-rune wildcard: still exactly one rune, still round-trips.
func literalPattern(s string) pattern {
	p := pattern{elems: make([]elem, 0, len(s))}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' {
			p.elems = append(p.elems, elem{op: opAny})
			continue
		}
		p.elems = append(p.elems, elem{op: opLit, r: r})
	}
	return p
}

func (p pattern) withFoldCase() pattern {
	out := pattern{elems: make([]elem, len(p.elems)), foldCase: true}
	for i, e := range p.elems {
		if e.op == opLit {
			e.r = unicode.ToLower(e.r)
		}
		out.elems[i] = e
	}
	return out
}
