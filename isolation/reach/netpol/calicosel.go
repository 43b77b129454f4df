package netpol

import (
	"fmt"
	"strings"
	"unicode"
)

// calicoSelector is a parsed Calico selector expression, the language of IPPool nodeSelector and
// namespaceSelector: all(), has(k), k == 'v', k != 'v', k in {'a','b'}, k not in {...},
// k contains / starts with / ends with 'v', combined with !, &&, || and parentheses.
type calicoSelector struct {
	eval func(map[string]string) bool
}

func (s *calicoSelector) matches(labels map[string]string) bool { return s.eval(labels) }

type selParser struct {
	src string
	pos int
}

func parseCalicoSelector(src string) (*calicoSelector, error) {
	p := &selParser{src: src}
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("unexpected %q at %d", p.src[p.pos:], p.pos)
	}
	return &calicoSelector{eval: f}, nil
}

type pred = func(map[string]string) bool

func (p *selParser) space() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *selParser) eat(tok string) bool {
	p.space()
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *selParser) or() (pred, error) {
	return p.chain("||", p.and, func(a, b bool) bool { return a || b })
}

func (p *selParser) and() (pred, error) {
	return p.chain("&&", p.unary, func(a, b bool) bool { return a && b })
}

// chain parses operands joined by op, left to right.
func (p *selParser) chain(op string, operand func() (pred, error), join func(a, b bool) bool) (pred, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for p.eat(op) {
		r, err := operand()
		if err != nil {
			return nil, err
		}
		a := l
		l = func(m map[string]string) bool { return join(a(m), r(m)) }
	}
	return l, nil
}

func (p *selParser) unary() (pred, error) {
	switch {
	case p.eat("!"):
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(m map[string]string) bool { return !x(m) }, nil
	case p.eat("("):
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, fmt.Errorf("missing ) at %d", p.pos)
		}
		return x, nil
	case p.eat("all()"):
		return func(map[string]string) bool { return true }, nil
	case p.eat("has("):
		k := p.key()
		if k == "" || !p.eat(")") {
			return nil, fmt.Errorf("bad has() at %d", p.pos)
		}
		return func(m map[string]string) bool { _, ok := m[k]; return ok }, nil
	}
	k := p.key()
	if k == "" {
		return nil, fmt.Errorf("expected a label key at %d", p.pos)
	}
	switch {
	case p.eat("=="):
		v, err := p.str()
		return func(m map[string]string) bool { x, ok := m[k]; return ok && x == v }, err
	case p.eat("!="):
		v, err := p.str()
		return func(m map[string]string) bool { x, ok := m[k]; return !ok || x != v }, err
	case p.eat("not in"):
		set, err := p.set()
		return func(m map[string]string) bool { x, ok := m[k]; return !ok || !set[x] }, err
	case p.eat("in"):
		set, err := p.set()
		return func(m map[string]string) bool { x, ok := m[k]; return ok && set[x] }, err
	case p.eat("contains"):
		v, err := p.str()
		return func(m map[string]string) bool { x, ok := m[k]; return ok && strings.Contains(x, v) }, err
	case p.eat("starts with"):
		v, err := p.str()
		return func(m map[string]string) bool { x, ok := m[k]; return ok && strings.HasPrefix(x, v) }, err
	case p.eat("ends with"):
		v, err := p.str()
		return func(m map[string]string) bool { x, ok := m[k]; return ok && strings.HasSuffix(x, v) }, err
	}
	return nil, fmt.Errorf("expected an operator after %q at %d", k, p.pos)
}

// key reads a label key: letters, digits and . - _ /.
func (p *selParser) key() string {
	p.space()
	start := p.pos
	for p.pos < len(p.src) {
		c := rune(p.src[p.pos])
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("._-/", c)) {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *selParser) str() (string, error) {
	p.space()
	if p.pos >= len(p.src) || (p.src[p.pos] != '\'' && p.src[p.pos] != '"') {
		return "", fmt.Errorf("expected a quoted value at %d", p.pos)
	}
	q := p.src[p.pos]
	end := strings.IndexByte(p.src[p.pos+1:], q)
	if end < 0 {
		return "", fmt.Errorf("unterminated string at %d", p.pos)
	}
	v := p.src[p.pos+1 : p.pos+1+end]
	p.pos += end + 2
	return v, nil
}

func (p *selParser) set() (map[string]bool, error) {
	if !p.eat("{") {
		return nil, fmt.Errorf("expected { at %d", p.pos)
	}
	out := map[string]bool{}
	if p.eat("}") {
		return out, nil
	}
	for {
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		out[v] = true
		if p.eat("}") {
			return out, nil
		}
		if !p.eat(",") {
			return nil, fmt.Errorf("expected , or } at %d", p.pos)
		}
	}
}
