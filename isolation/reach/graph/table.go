package graph

import (
	"net/netip"
	"slices"
)

// smallTable is how many prefixes a Table keeps in a plain list before it builds a trie: most
// tables (a spoke's system routes, a route table, a VirtualNetwork tag) hold a handful, and a
// trie costs a node per prefix bit.
const smallTable = 24

// Table is a Trie for sets that are usually small: a sorted list up to smallTable prefixes, a
// trie beyond (a hub's system routes hold one per peered spoke). Covering and Longest behave as
// the Trie's; Within reports in no particular order.
type Table[V any] struct {
	list []tableEntry[V]
	trie *Trie[V]
}

type tableEntry[V any] struct {
	p netip.Prefix
	v V
}

// Insert adds v under p.
func (t *Table[V]) Insert(p netip.Prefix, v V) {
	p = Canon(p)
	if t.trie != nil {
		t.trie.Insert(p, v)
		return
	}
	t.list = append(t.list, tableEntry[V]{p, v})
	if len(t.list) > smallTable {
		t.trie = &Trie[V]{}
		for _, e := range t.list {
			t.trie.Insert(e.p, e.v)
		}
		t.list = nil
		return
	}
	// Widest first, as the trie walks them.
	slices.SortStableFunc(t.list, func(a, b tableEntry[V]) int { return a.p.Bits() - b.p.Bits() })
}

func contains(outer, inner netip.Prefix) bool {
	return outer.Addr().Is4() == inner.Addr().Is4() && outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// Covering calls fn for every value whose prefix contains p, widest first, until fn returns
// false.
func (t *Table[V]) Covering(p netip.Prefix, fn func(netip.Prefix, V) bool) {
	if t.trie != nil {
		t.trie.Covering(p, fn)
		return
	}
	p = Canon(p)
	for _, e := range t.list {
		if contains(e.p, p) && !fn(e.p, e.v) {
			return
		}
	}
}

// Within calls fn for every value whose prefix lies inside p, until fn returns false.
func (t *Table[V]) Within(p netip.Prefix, fn func(netip.Prefix, V) bool) {
	if t.trie != nil {
		t.trie.Within(p, fn)
		return
	}
	p = Canon(p)
	for _, e := range t.list {
		if contains(p, e.p) && !fn(e.p, e.v) {
			return
		}
	}
}

// Longest returns the values of the narrowest prefix containing p.
func (t *Table[V]) Longest(p netip.Prefix) (netip.Prefix, []V, bool) {
	if t.trie != nil {
		return t.trie.Longest(p)
	}
	p = Canon(p)
	var best netip.Prefix
	var vals []V
	for _, e := range t.list {
		if !contains(e.p, p) {
			continue
		}
		if !best.IsValid() || e.p.Bits() > best.Bits() {
			best, vals = e.p, nil
		}
		if e.p == best {
			vals = append(vals, e.v)
		}
	}
	return best, vals, best.IsValid()
}
