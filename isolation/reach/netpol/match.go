package netpol

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// match is the outcome of a peer meeting an endpoint.
type match struct {
	ok bool
	// cons constrains the labels of the matched endpoint's pods (the peer's podSelector).
	cons *selector
	// unknown says why the snapshot cannot decide the match; ok is true then too.
	unknown string
	detail  string
}

// matchPeer decides whether peer q of a policy in namespace polNS names endpoint e.
func (w *world) matchPeer(q *peer, polNS *namespace, e *endpoint) match {
	switch {
	case q.block != nil:
		return blockMatch(q.block, e)
	case !e.isPod():
		return match{}
	case q.ns == nil:
		if e.ns != polNS {
			return match{}
		}
		return match{ok: true, cons: q.pod, detail: "podSelector " + q.pod.text + " in " + polNS.name}
	case q.ns.matches(e.ns.labels):
		m := match{ok: true, cons: q.pod, detail: "namespaceSelector " + q.ns.text + " matches namespace " + e.ns.name + labelsNote(q.ns, e.ns.labels)}
		if q.pod != nil {
			m.detail += ", podSelector " + q.pod.text
		}
		return m
	}
	return match{}
}

// labelsNote shows the namespace labels a selector looked at, so a reader sees why it matched.
func labelsNote(s *selector, labels map[string]string) string {
	if s.empty() {
		return " (an empty selector matches every namespace)"
	}
	var parts []string
	for _, r := range s.reqs {
		if v, ok := labels[r.key]; ok {
			parts = append(parts, r.key+"="+v)
		} else {
			parts = append(parts, "no "+r.key)
		}
	}
	return fmt.Sprintf(" (live labels: %v)", parts)
}

// blockMatch compares an ipBlock with an endpoint's addresses. A pod endpoint's range is where
// pod IPs come from, not where pods are, so an ipBlock covering only part of it is decided by the
// live pods' addresses, and is unknown when no live pod sits in the covered part.
func blockMatch(b *ipBlock, e *endpoint) match {
	if len(e.ranges) == 0 {
		if slices.ContainsFunc(b.allowed, func(p netip.Prefix) bool { return p.Bits() == 0 }) {
			return match{ok: true, detail: "ipBlock " + b.text + " admits every address"}
		}
		return match{ok: true, unknown: fmt.Sprintf("ipBlock %s: the addresses of %s are not in the snapshot or the environment", b.text, e), detail: "ipBlock " + b.text}
	}
	full, some := true, false
	for _, r := range e.ranges {
		switch graph.Cover(r, b.allowed) {
		case graph.CoverFull:
			some = true
		case graph.CoverPartial:
			some, full = true, false
		default:
			full = false
		}
	}
	switch {
	case !some:
		return match{}
	case full && e.isPod():
		return match{ok: true, detail: fmt.Sprintf("ipBlock %s covers %v, where %s get addresses from (%s)", b.text, e.ranges, e, e.plan())}
	case full:
		return match{ok: true, detail: fmt.Sprintf("ipBlock %s covers %v (%s)", b.text, e.ranges, e)}
	case !e.isPod():
		return match{ok: true, detail: fmt.Sprintf("ipBlock %s covers part of %v (%s)", b.text, e.ranges, e)}
	}
	for _, p := range e.pods {
		for _, ip := range p.ips {
			if graph.Cover(netip.PrefixFrom(ip, ip.BitLen()), b.allowed) == graph.CoverFull {
				return match{ok: true, detail: fmt.Sprintf("ipBlock %s covers pod %s/%s at %s", b.text, p.ns, p.name, ip)}
			}
		}
	}
	return match{ok: true, unknown: fmt.Sprintf("ipBlock %s covers part of %v, the range %s get addresses from (%s); which pods land there is decided at run time", b.text, e.ranges, e, e.plan()),
		detail: fmt.Sprintf("ipBlock %s covers part of %v (%s)", b.text, e.ranges, e)}
}

// plan says which address plan gave a pod endpoint its ranges.
func (e *endpoint) plan() string {
	if e.rangesHow == "" {
		return "no address plan in the snapshot; live pod IPs only"
	}
	return e.rangesHow
}

// visitor deduplicates endpoints within one candidate enumeration.
type visitor struct {
	stamp []uint32
	gen   uint32
}

func (v *visitor) reset(n int) {
	if len(v.stamp) < n {
		v.stamp = make([]uint32, n)
	}
	v.gen++
}

func (v *visitor) first(e *endpoint) bool {
	if v.stamp[e.id] == v.gen {
		return false
	}
	v.stamp[e.id] = v.gen
	return true
}

// candidates calls fn for every endpoint peer q of a policy in polNS may name, using the
// namespace label index, the shared namespace's tenant index and the address trie, so the cost
// follows the number of endpoints named rather than the number of endpoints.
func (w *world) candidates(v *visitor, q *peer, polNS *namespace, fn func(*endpoint)) {
	v.reset(len(w.eps))
	visit := func(e *endpoint) {
		if v.first(e) {
			fn(e)
		}
	}
	switch {
	case q.block != nil:
		var found []*endpoint
		for _, piece := range q.block.allowed {
			w.trie.Overlapping(piece, func(_ netip.Prefix, e *endpoint) bool {
				if v.first(e) {
					found = append(found, e)
				}
				return true
			})
		}
		slices.SortFunc(found, func(a, b *endpoint) int { return cmp.Compare(a.id, b.id) })
		for _, e := range found {
			fn(e)
		}
	case q.ns == nil:
		inNamespace(polNS, q.pod, visit)
	default:
		for _, n := range w.selectNamespaces(q.ns) {
			inNamespace(n, q.pod, visit)
		}
	}
}

// inNamespace calls fn for the endpoints of n whose pins do not rule out pod selector sel.
func inNamespace(n *namespace, sel *selector, fn func(*endpoint)) {
	if n.byPin != nil && sel != nil {
		for _, r := range sel.reqs {
			if r.key != pinKey || r.op != opIn {
				continue
			}
			for _, v := range r.values {
				for _, e := range n.byPin[v] {
					fn(e)
				}
			}
			for _, e := range n.unpinned {
				fn(e)
			}
			return
		}
	}
	for _, e := range n.eps {
		fn(e)
	}
}

// selectNamespaces returns the namespaces sel matches, starting from the smallest index bucket
// one of its positive requirements allows.
func (w *world) selectNamespaces(sel *selector) []*namespace {
	if sel.empty() {
		return w.nsList
	}
	var best []*namespace
	bestSet := false
	for _, r := range sel.reqs {
		var cand []*namespace
		switch r.op {
		case opIn:
			for _, v := range r.values {
				cand = append(cand, w.nsIndex[r.key][v]...)
			}
		case opExists:
			for _, ns := range w.nsIndex[r.key] {
				cand = append(cand, ns...)
			}
		default:
			continue
		}
		if !bestSet || len(cand) < len(best) {
			best, bestSet = cand, true
		}
	}
	if !bestSet {
		best = w.nsList
	}
	out := make([]*namespace, 0, len(best))
	for _, n := range best {
		if sel.matches(n.labels) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b *namespace) int { return cmp.Compare(a.name, b.name) })
	return slices.CompactFunc(out, func(a, b *namespace) bool { return a == b })
}
