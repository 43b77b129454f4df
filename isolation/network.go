package isolation

import (
	"fmt"
	"net/netip"
	"sort"
)

// parsePrefix parses a CIDR in canonical form; problem says why s is not one.
func parsePrefix(s string) (p netip.Prefix, problem string) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("%s is not a CIDR (want e.g. 10.20.0.0/16)", shown(s))
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Sprintf("%s has host bits set; the network is %s", s, p.Masked())
	}
	return p, ""
}

// span is one address range taking part in an overlap check.
type span struct {
	prefix netip.Prefix
	// platform marks ranges the platform owns; overlaps among platform ranges are by design
	// (the hub lies inside the platform space) and are not reported.
	platform bool
}

// overlap is a pair of indices into the spans given to findOverlaps: inner lies inside outer
// (CIDR prefixes either nest or are disjoint).
type overlap struct{ outer, inner int }

// findOverlaps reports the overlapping ranges in O(n log n): sort by address with wider prefixes
// first, then sweep keeping the chain of ranges that contain the current address. Every range
// inside another is reported once against the innermost range containing it and, when that is a
// tenant's, once more against the innermost platform range containing it, so a fleet of n
// identical ranges yields n-1 findings rather than n².
func findOverlaps(spans []span) []overlap {
	order := make([]int, len(spans))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		pa, pb := spans[order[a]].prefix, spans[order[b]].prefix
		if c := pa.Addr().Compare(pb.Addr()); c != 0 {
			return c < 0
		}
		return pa.Bits() < pb.Bits()
	})
	type open struct {
		idx          int
		nearPlatform int // innermost platform range on the chain at or below this one, or -1
	}
	var chain []open
	var out []overlap
	for _, i := range order {
		p := spans[i].prefix
		for len(chain) > 0 && !spans[chain[len(chain)-1].idx].prefix.Contains(p.Addr()) {
			chain = chain[:len(chain)-1]
		}
		near := -1
		if len(chain) > 0 {
			top := chain[len(chain)-1]
			if !(spans[top.idx].platform && spans[i].platform) {
				out = append(out, overlap{outer: top.idx, inner: i})
			}
			near = top.nearPlatform
			if !spans[top.idx].platform && near >= 0 && !spans[i].platform {
				out = append(out, overlap{outer: near, inner: i})
			}
		}
		if spans[i].platform {
			near = i
		}
		chain = append(chain, open{idx: i, nearPlatform: near})
	}
	return out
}

// within reports whether p lies entirely inside one of the ranges.
func within(p netip.Prefix, ranges []netip.Prefix) bool {
	for _, r := range ranges {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// parsedPrefixes returns the ranges of list that parse, ignoring the rest (they are reported by
// the document's own checks).
func parsedPrefixes(list ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if s == "" {
			continue
		}
		if p, problem := parsePrefix(s); problem == "" {
			out = append(out, p)
		}
	}
	return out
}

func prefixesOf(list []indexedPrefix) []netip.Prefix {
	out := make([]netip.Prefix, len(list))
	for i, p := range list {
		out[i] = p.prefix
	}
	return out
}
