package netpol

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// pinKey is the pod label admission pins in the shared namespace.
const pinKey = tenantplan.LabelTenant

// kubeSystem hosts the cluster DNS every tenant namespace may query.
const kubeSystem = "kube-system"

var dnsPorts = graph.Ports(graph.PortRange{Protocol: "UDP", From: 53, To: 53}, graph.PortRange{Protocol: "TCP", From: 53, To: 53})

// Analyze adds to b every route the Kubernetes objects open between different owners, and every
// one-sided opening (exposure). Traffic from a pod of S to a pod of D needs both: an egress
// alternative of S admitting D and an ingress alternative of D admitting S. The work is split so
// no phase loops over all pairs of endpoints:
//
//   - A: egress rules naming peers → the endpoints they name → their ingress alternatives;
//   - B: ingress rules naming peers → the endpoints they name → those endpoints' open egress;
//   - C: open egress × open ingress, grouped by owner (every such pair is an edge).
func Analyze(ctx context.Context, s *graph.Scope, objs []unstructured.Unstructured, b *graph.Builder, opts ...Option) error {
	w, err := newWorld(s, objs)
	if err != nil {
		return err
	}
	for _, o := range opts {
		o(w)
	}
	for _, p := range w.problems {
		b.Unresolved("%s", p)
	}
	w.allowAllExposures(b)
	v := &visitor{}
	for _, src := range w.eps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if src.isPod() {
			w.egressPhase(v, src, b)
		}
	}
	for _, dst := range w.eps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if dst.isPod() {
			w.ingressPhase(v, dst, b)
		}
	}
	w.openPhase(b)
	return nil
}

// Option tunes Analyze.
type Option func(*world)

// WithCrossings hands every path between pods and an address range (a VNet, a node, the
// platform's space) to fn instead of adding it to the graph: whether such a path exists also
// depends on the network under the cluster, which the caller knows (graph.Crossing).
func WithCrossings(fn func(graph.Crossing)) Option { return func(w *world) { w.cross = fn } }

// allowAllExposures records every rule that names no peer: it admits every tenant.
func (w *world) allowAllExposures(b *graph.Builder) {
	for _, e := range w.eps {
		if !e.isPod() {
			continue
		}
		for _, side := range []struct {
			dir  string
			alts []alt
		}{{"egress", e.egressAny}, {"ingress", e.ingressAny}} {
			dir := side.dir
			for _, a := range side.alts {
				if a.open {
					continue
				}
				b.Expose(graph.Exposure{
					Tenant: e.owner, Peer: graph.AnyTenant, Kind: graph.KindNetworkPolicy, Resource: a.pol.ref,
					Detail: fmt.Sprintf("%s rule %d of %s names no peer: it admits every tenant", dir, a.rule.idx, a.pol.resource()),
				}, "")
			}
		}
	}
}

// egressPhase is phase A for one source endpoint.
func (w *world) egressPhase(v *visitor, src *endpoint, b *graph.Builder) {
	for _, a := range src.egressSpecific {
		for qi := range a.rule.peers {
			q := &a.rule.peers[qi]
			w.candidates(v, q, src.ns, func(dst *endpoint) {
				if dst.owner == src.owner {
					return
				}
				m := w.matchPeer(q, src.ns, dst)
				if !m.ok || (dst.isPod() && !w.cache.sat(dst.pin, m.cons, nil, nil)) {
					return
				}
				b.Expose(graph.Exposure{
					Tenant: src.owner, Peer: dst.owner, Kind: graph.KindNetworkPolicy, Resource: a.pol.ref,
					Detail: fmt.Sprintf("egress rule %d of %s admits %s: %s", a.rule.idx, a.pol.resource(), dst, m.detail),
				}, builtin(src, dst, a.rule.ports))
				if !dst.isPod() {
					w.addPath(b, src, a, q, m, dst, alt{open: true}, nil, match{ok: true}, a.rule.ports)
					return
				}
				w.ingressOf(src, a, q, m, dst, b, dst.ingressSpecific)
				w.ingressOf(src, a, q, m, dst, b, dst.ingressAny)
			})
		}
	}
}

// ingressOf checks dst's ingress alternatives against a source already admitted by egress
// alternative a through peer q.
func (w *world) ingressOf(src *endpoint, a alt, q *peer, m match, dst *endpoint, b *graph.Builder, alts []alt) {
	for _, i := range alts {
		ports := a.rule.ports.Intersect(i.ports())
		if ports.IsEmpty() || !w.cache.sat(dst.pin, m.cons, i.selector(), i.escape(dst)) {
			continue
		}
		if i.open || i.rule.peers == nil {
			if w.cache.sat(src.pin, a.pol.sel, nil, nil) {
				w.addPath(b, src, a, q, m, dst, i, nil, match{ok: true}, ports)
			}
			continue
		}
		for qi := range i.rule.peers {
			q2 := &i.rule.peers[qi]
			m2 := w.matchPeer(q2, dst.ns, src)
			if m2.ok && w.cache.sat(src.pin, a.pol.sel, m2.cons, nil) {
				w.addPath(b, src, a, q, m, dst, i, q2, m2, ports)
			}
		}
	}
}

// ingressPhase is phase B for one destination endpoint: sources its ingress rules name whose
// egress is open (no egress policy selects them, a rule admitting every destination, or not a
// pod at all).
func (w *world) ingressPhase(v *visitor, dst *endpoint, b *graph.Builder) {
	for _, i := range dst.ingressSpecific {
		for qi := range i.rule.peers {
			q2 := &i.rule.peers[qi]
			w.candidates(v, q2, dst.ns, func(src *endpoint) {
				if src.owner == dst.owner {
					return
				}
				m2 := w.matchPeer(q2, dst.ns, src)
				if !m2.ok || (src.isPod() && !w.cache.sat(src.pin, m2.cons, nil, nil)) {
					return
				}
				b.Expose(graph.Exposure{
					Tenant: dst.owner, Peer: src.owner, Kind: graph.KindNetworkPolicy, Resource: i.pol.ref,
					Detail: fmt.Sprintf("ingress rule %d of %s admits %s: %s", i.rule.idx, i.pol.resource(), src, m2.detail),
				}, builtin(src, dst, i.rule.ports))
				if !src.isPod() {
					w.addPath(b, src, alt{open: true}, nil, match{ok: true}, dst, i, q2, m2, i.rule.ports)
					return
				}
				for _, a := range src.egressAny {
					ports := a.ports().Intersect(i.rule.ports)
					if !ports.IsEmpty() && w.cache.sat(src.pin, a.selector(), m2.cons, a.escapeOut(src)) {
						w.addPath(b, src, a, nil, match{ok: true}, dst, i, q2, m2, ports)
					}
				}
			})
		}
	}
}

// openPhase is phase C: every endpoint whose egress admits any destination meets every endpoint
// whose ingress admits any source. Both sides are independent of each other, so the pairs are
// grouped by owner and one representative pair per owner pair carries the evidence.
func (w *world) openPhase(b *graph.Builder) {
	type side struct {
		ep    *endpoint
		a     alt
		ports graph.PortSet
	}
	var outs, ins []side
	outIdx, inIdx := map[string]int{}, map[string]int{}
	for _, e := range w.eps {
		if !e.isPod() {
			continue
		}
		for _, a := range e.egressAny {
			if !w.cache.sat(e.pin, a.selector(), nil, a.escapeOut(e)) {
				continue
			}
			if i, ok := outIdx[e.owner]; ok {
				outs[i].ports = outs[i].ports.Union(a.ports())
			} else {
				outIdx[e.owner] = len(outs)
				outs = append(outs, side{e, a, a.ports()})
			}
		}
		for _, a := range e.ingressAny {
			if !w.cache.sat(e.pin, a.selector(), nil, a.escape(e)) {
				continue
			}
			if i, ok := inIdx[e.owner]; ok {
				ins[i].ports = ins[i].ports.Union(a.ports())
			} else {
				inIdx[e.owner] = len(ins)
				ins = append(ins, side{e, a, a.ports()})
			}
		}
	}
	for _, o := range outs {
		for _, in := range ins {
			if o.ep.owner == in.ep.owner {
				continue
			}
			ports := o.ports.Intersect(in.ports)
			if !ports.IsEmpty() {
				w.addPath(b, o.ep, o.a, nil, match{ok: true}, in.ep, in.a, nil, match{ok: true}, ports)
			}
		}
	}
}

// selector is the pod selector an alternative requires (nil for the open one).
func (a alt) selector() *selector {
	if a.open {
		return nil
	}
	return a.pol.sel
}

// escape is what a pod must avoid for the open ingress alternative to apply.
func (a alt) escape(e *endpoint) *policySet {
	if a.open {
		return e.inSet
	}
	return nil
}

func (a alt) escapeOut(e *endpoint) *policySet {
	if a.open {
		return e.outSet
	}
	return nil
}

// builtin names the platform contract a path follows: the platform ingress reaching tenants,
// tenants querying cluster DNS.
func builtin(src, dst *endpoint, ports graph.PortSet) string {
	switch {
	case src.owner == isolation.Platform && src.ns != nil && src.ns.ingress:
		return "platform ingress"
	case dst.owner == isolation.Platform && dst.ns != nil && dst.ns.name == kubeSystem && ports.Intersect(dnsPorts).String() == ports.String():
		return "cluster DNS"
	}
	return ""
}

func (w *world) addPath(b *graph.Builder, src *endpoint, a alt, q *peer, m match, dst *endpoint, i alt, q2 *peer, m2 match, ports graph.PortSet) {
	unknown := m.unknown
	if unknown == "" {
		unknown = m2.unknown
	}
	p := graph.Path{
		From: src.owner, To: dst.owner, Kind: graph.KindNetworkPolicy, Ports: ports, Unknown: unknown,
		Builtin:  builtin(src, dst, ports),
		Evidence: func() []graph.EvidenceStep { return w.evidence(src, a, q, m, dst, i, q2, m2, ports) },
	}
	if w.cross != nil && src.owner != dst.owner && src.isPod() != dst.isPod() {
		w.crossing(p, src, q, dst, q2)
		return
	}
	b.Add(p)
}

// crossing hands a path between pods and an address endpoint to the caller, with the part of
// the addresses the ipBlock that named them admits.
func (w *world) crossing(p graph.Path, src *endpoint, q *peer, dst *endpoint, q2 *peer) {
	c := graph.Crossing{Path: p, Egress: src.isPod()}
	pods, addrs, block := src, dst, q
	if !c.Egress {
		pods, addrs, block = dst, src, q2
	}
	c.PodOwner, c.Namespace, c.AddrOwner, c.AddrWhat = pods.owner, pods.ns.name, addrs.owner, addrs.what
	for _, r := range addrs.ranges {
		if block != nil && block.block != nil {
			c.Addrs = append(c.Addrs, graph.Intersect(r, block.block.allowed)...)
		} else {
			c.Addrs = append(c.Addrs, r)
		}
	}
	c.Addrs = graph.Merge(c.Addrs)
	w.cross(c)
}
