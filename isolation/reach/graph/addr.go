package graph

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Trie maps address prefixes to values. Lookups walk at most the prefix length (32 or 128 steps)
// plus the entries they return, so finding which of 10,000 tenants' ranges meet a prefix costs
// the same as finding one of ten: no pairwise comparison.
type Trie[V any] struct {
	v4, v6 *trieNode[V]
	n      int
}

type trieNode[V any] struct {
	child  [2]*trieNode[V]
	prefix netip.Prefix
	values []V
}

// Len is the number of values inserted.
func (t *Trie[V]) Len() int { return t.n }

func (t *Trie[V]) root(a netip.Addr, create bool) *trieNode[V] {
	slot := &t.v6
	if a.Is4() {
		slot = &t.v4
	}
	if *slot == nil && create {
		bits := 128
		if a.Is4() {
			bits = 32
		}
		*slot = &trieNode[V]{prefix: netip.PrefixFrom(netip.IPv6Unspecified(), 0)}
		if bits == 32 {
			(*slot).prefix = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		}
	}
	return *slot
}

func bit(a netip.Addr, i int) int {
	b := a.As16()
	if a.Is4() {
		i += 96
	}
	return int(b[i/8]>>(7-uint(i%8))) & 1
}

// Canon unmaps IPv4-in-IPv6 addresses and clears host bits, so equal networks compare equal.
func Canon(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() {
		bits := p.Bits() - 96
		if bits < 0 {
			bits = 0
		}
		p = netip.PrefixFrom(a.Unmap(), bits)
	}
	return p.Masked()
}

// Insert adds v under p.
func (t *Trie[V]) Insert(p netip.Prefix, v V) {
	p = Canon(p)
	n := t.root(p.Addr(), true)
	for i := 0; i < p.Bits(); i++ {
		b := bit(p.Addr(), i)
		if n.child[b] == nil {
			n.child[b] = &trieNode[V]{prefix: netip.PrefixFrom(p.Addr(), i+1).Masked()}
		}
		n = n.child[b]
	}
	n.values = append(n.values, v)
	t.n++
}

// Covering calls fn for every value whose prefix contains p (p itself included), from the widest
// prefix to the narrowest, until fn returns false.
func (t *Trie[V]) Covering(p netip.Prefix, fn func(netip.Prefix, V) bool) {
	p = Canon(p)
	n := t.root(p.Addr(), false)
	for i := 0; n != nil; i++ {
		for _, v := range n.values {
			if !fn(n.prefix, v) {
				return
			}
		}
		if i == p.Bits() {
			return
		}
		n = n.child[bit(p.Addr(), i)]
	}
}

// Longest returns the values of the narrowest prefix containing p.
func (t *Trie[V]) Longest(p netip.Prefix) (netip.Prefix, []V, bool) {
	var best *trieNode[V]
	p = Canon(p)
	n := t.root(p.Addr(), false)
	for i := 0; n != nil; i++ {
		if len(n.values) > 0 {
			best = n
		}
		if i == p.Bits() {
			break
		}
		n = n.child[bit(p.Addr(), i)]
	}
	if best == nil {
		return netip.Prefix{}, nil, false
	}
	return best.prefix, best.values, true
}

// Within calls fn for every value whose prefix lies inside p (p itself included), in address
// order, until fn returns false.
func (t *Trie[V]) Within(p netip.Prefix, fn func(netip.Prefix, V) bool) {
	p = Canon(p)
	n := t.root(p.Addr(), false)
	for i := 0; n != nil && i < p.Bits(); i++ {
		n = n.child[bit(p.Addr(), i)]
	}
	if n != nil {
		walk(n, fn)
	}
}

func walk[V any](n *trieNode[V], fn func(netip.Prefix, V) bool) bool {
	for _, v := range n.values {
		if !fn(n.prefix, v) {
			return false
		}
	}
	for _, c := range n.child {
		if c != nil && !walk(c, fn) {
			return false
		}
	}
	return true
}

// Overlapping calls fn for every value whose prefix overlaps p: the covering ones, then the ones
// strictly inside p.
func (t *Trie[V]) Overlapping(p netip.Prefix, fn func(netip.Prefix, V) bool) {
	p = Canon(p)
	stopped := false
	t.Covering(p, func(q netip.Prefix, v V) bool {
		if !fn(q, v) {
			stopped = true
			return false
		}
		return true
	})
	if stopped {
		return
	}
	t.Within(p, func(q netip.Prefix, v V) bool {
		if q.Bits() == p.Bits() {
			return true // already given by Covering
		}
		return fn(q, v)
	})
}

// Coverage says how much of a range a set of prefixes covers.
type Coverage int

const (
	CoverNone Coverage = iota
	CoverPartial
	CoverFull
)

// Cover reports how much of p the prefixes in set cover.
func Cover(p netip.Prefix, set []netip.Prefix) Coverage {
	rest := Subtract(p, set)
	switch {
	case len(rest) == 0:
		return CoverFull
	case len(rest) == 1 && rest[0] == Canon(p):
		return CoverNone
	}
	return CoverPartial
}

// Subtract returns p without the addresses in holes, as a minimal list of prefixes.
func Subtract(p netip.Prefix, holes []netip.Prefix) []netip.Prefix {
	p = Canon(p)
	var relevant []netip.Prefix
	for _, h := range holes {
		h = Canon(h)
		if h.Addr().Is4() != p.Addr().Is4() || !h.Overlaps(p) {
			continue
		}
		if h.Bits() <= p.Bits() {
			return nil
		}
		relevant = append(relevant, h)
	}
	if len(relevant) == 0 {
		return []netip.Prefix{p}
	}
	lo, hi := halves(p)
	return append(Subtract(lo, relevant), Subtract(hi, relevant)...)
}

// Intersect returns the parts of p that lie in set.
func Intersect(p netip.Prefix, set []netip.Prefix) []netip.Prefix {
	p = Canon(p)
	var out []netip.Prefix
	for _, s := range set {
		s = Canon(s)
		if s.Addr().Is4() != p.Addr().Is4() || !s.Overlaps(p) {
			continue
		}
		if s.Bits() <= p.Bits() {
			return []netip.Prefix{p}
		}
		out = append(out, s)
	}
	return Merge(out)
}

// Merge sorts prefixes and drops the ones inside another.
func Merge(ps []netip.Prefix) []netip.Prefix {
	if len(ps) < 2 {
		return ps
	}
	ps = slices.Clone(ps)
	for i := range ps {
		ps[i] = Canon(ps[i])
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Addr().Is4() == p.Addr().Is4() && out[n-1].Bits() <= p.Bits() && out[n-1].Contains(p.Addr()) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func halves(p netip.Prefix) (netip.Prefix, netip.Prefix) {
	lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	b := p.Addr().As16()
	i := p.Bits()
	if p.Addr().Is4() {
		i += 96
	}
	b[i/8] |= 1 << (7 - uint(i%8))
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return lo, netip.PrefixFrom(a, p.Bits()+1)
}

// ParsePrefix reads a CIDR or a bare address (as a host prefix), the forms ARM and Kubernetes
// use for ranges.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("address range %q: %w", s, err)
		}
		return Canon(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address %q: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// RangePrefixes turns an inclusive address range "a-b" (Azure Firewall syntax) into prefixes.
func RangePrefixes(lo, hi netip.Addr) []netip.Prefix {
	lo, hi = lo.Unmap(), hi.Unmap()
	if lo.Is4() != hi.Is4() || hi.Less(lo) {
		return nil
	}
	var out []netip.Prefix
	for {
		bits := lo.BitLen()
		// Widen while the block stays aligned at lo and inside [lo, hi].
		for bits > 0 {
			p := netip.PrefixFrom(lo, bits-1)
			if p.Masked().Addr() != lo || lastAddr(p).Compare(hi) > 0 {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(lo, bits)
		out = append(out, p)
		last := lastAddr(p)
		if last.Compare(hi) >= 0 {
			return out
		}
		lo = last.Next()
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As16()
	start := p.Bits()
	if p.Addr().Is4() {
		start += 96
	}
	for i := start; i < 128; i++ {
		b[i/8] |= 1 << (7 - uint(i%8))
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}
