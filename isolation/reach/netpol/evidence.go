package netpol

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// evidence is the chain of one path: who owns the source, what lets its traffic out, what lets
// it into the destination, who owns the destination.
func (w *world) evidence(src *endpoint, a alt, q *peer, m match, dst *endpoint, i alt, q2 *peer, m2 match, ports graph.PortSet) []graph.EvidenceStep {
	steps := []graph.EvidenceStep{ownerStep(src)}
	steps = append(steps, sideStep("egress", src, a, q, m, m2.cons))
	steps = append(steps, sideStep("ingress", dst, i, q2, m2, m.cons))
	steps = append(steps, ownerStep(dst))
	steps = append(steps, graph.EvidenceStep{Kind: "ports", Detail: "ports both sides admit: " + ports.String()})
	return steps
}

func ownerStep(e *endpoint) graph.EvidenceStep {
	if !e.isPod() {
		return graph.EvidenceStep{Kind: "owner", Resource: e.what, Detail: fmt.Sprintf("%v is %s", e.ranges, e)}
	}
	return graph.EvidenceStep{Kind: "owner", Resource: e.ns.resource(), Detail: fmt.Sprintf("%s belong to %s: %s", e, e.owner, e.ns.how)}
}

// sideStep explains one direction: the rule (and peer) that admits the traffic, or why no policy
// applies.
func sideStep(dir string, self *endpoint, a alt, q *peer, m match, cons *selector) graph.EvidenceStep {
	if !self.isPod() {
		return graph.EvidenceStep{Kind: "address", Resource: self.what,
			Detail: fmt.Sprintf("%s is not a pod: no NetworkPolicy governs its %s", self, dir)}
	}
	var escape *policySet
	if a.open {
		escape = self.inSet
		if dir == "egress" {
			escape = self.outSet
		}
	}
	pods := podsDescription(self, collect(self.pin, a.selector(), cons), escape.list())
	title := strings.ToUpper(dir[:1]) + dir[1:]
	if a.open {
		return graph.EvidenceStep{Kind: "networkpolicy", Resource: self.ns.resource(),
			Detail: fmt.Sprintf("%s open: no %s policy in %s selects %s", dir, title, self.ns.name, pods)}
	}
	peerText := "every peer (the rule names none)"
	if q != nil {
		peerText = q.String()
		if m.detail != "" {
			peerText = m.detail
		}
	}
	if m.unknown != "" {
		peerText += "; undecided: " + m.unknown
	}
	word := "to"
	if dir == "ingress" {
		word = "from"
	}
	return graph.EvidenceStep{Kind: "networkpolicy", Resource: a.pol.resource(), Opens: true, Ref: a.pol.ref,
		Detail: fmt.Sprintf("podSelector %s selects %s; %s rule %d %s %s; ports %s", a.pol.sel, pods, dir, a.rule.idx, word, peerText, a.rule.ports)}
}

// podsDescription names a live pod that satisfies the constraints, or the labels a pod the owner
// could create would need.
func podsDescription(e *endpoint, all []*selector, none []*selector) string {
	for _, p := range e.pods {
		if l := p.labels(); matchesAll(l, all) && !matchesAny(l, none) {
			return fmt.Sprintf("live pod %s/%s", p.ns, p.name)
		}
	}
	labels, ok := labelSet(all, none)
	if !ok {
		return "no pod"
	}
	if len(labels) == 0 {
		return "any pod of " + e.owner + " (no labels needed)"
	}
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return fmt.Sprintf("a pod of %s labelled {%s}", e.owner, strings.Join(parts, ", "))
}

func matchesAll(labels map[string]string, sels []*selector) bool {
	for _, s := range sels {
		if !s.matches(labels) {
			return false
		}
	}
	return true
}

func matchesAny(labels map[string]string, sels []*selector) bool {
	for _, s := range sels {
		if s.matches(labels) {
			return true
		}
	}
	return false
}
