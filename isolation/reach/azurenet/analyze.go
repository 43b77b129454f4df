package azurenet

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// Analyze adds to b every route the Azure resources open between different owners, and every
// one-sided opening. For each source unit it considers only the units a route could deliver to:
// its own VNet, directly peered VNets (peerings are not transitive) and what its user-defined
// routes send to an appliance; a firewall narrows that to the destinations its allow rules name.
// Each candidate is then checked hop by hop: the longest-prefix route, the peering's state and
// forwarding flags, the firewall's rules, the source's outbound and the destination's inbound
// NSGs.
func Analyze(ctx context.Context, sc *graph.Scope, resources []inventory.AzureResource, b *graph.Builder) error {
	if len(resources) == 0 {
		return nil
	}
	n, err := Build(sc, resources)
	if err != nil {
		return err
	}
	return n.Analyze(ctx, b)
}

// Analyze adds the network's routes and exposures to b (see the package function Analyze).
func (n *Network) Analyze(ctx context.Context, b *graph.Builder) error {
	t, units, byVNet, trie := n.t, n.units, n.byVNet, n.trie
	for _, p := range t.problems {
		b.Unresolved("%s", p)
	}
	t.exposures(b)
	seen := make([]uint32, len(units))
	var gen uint32
	for _, src := range units {
		if err := ctx.Err(); err != nil {
			return err
		}
		if src.kind == unitEndpoint {
			continue // private endpoints receive traffic, they do not originate it
		}
		gen++
		visit := func(dst *unit) {
			if seen[dst.id] == gen || dst.owner == src.owner {
				return
			}
			seen[dst.id] = gen
			t.evalPair(src, dst, b)
		}
		for _, dst := range byVNet[src.vnet] {
			visit(dst)
		}
		for _, p := range src.vnet.peerings {
			if p.remote != nil && p.connected() && p.access {
				for _, dst := range byVNet[p.remote] {
					visit(dst)
				}
			}
		}
		t.applianceCandidates(src, trie, visit)
	}
	return nil
}

// applianceCandidates visits the units a source's user-defined routes may deliver to through a
// virtual appliance or gateway.
func (t *topology) applianceCandidates(src *unit, trie *graph.Trie[*unit], visit func(*unit)) {
	if src.sub.table == nil {
		return
	}
	for _, r := range src.sub.table.routes {
		var dests []netip.Prefix
		var via *vnet
		switch r.nextHop {
		case hopAppliance:
			if fw := t.fwByIP[r.ip]; fw != nil {
				via = fw.vnet
				for _, d := range fw.destinations(src.ranges) {
					dests = append(dests, graph.Intersect(r.prefix, []netip.Prefix{d})...)
				}
			} else {
				if n := t.byIP[r.ip]; n != nil && n.subnet != nil {
					via = n.subnet.vnet
				}
				dests = []netip.Prefix{r.prefix}
			}
		case hopGateway:
			via = gatewayVNet(src.vnet)
			dests = []netip.Prefix{r.prefix}
		default:
			continue
		}
		for _, q := range graph.Merge(dests) {
			trie.Overlapping(q, func(_ netip.Prefix, u *unit) bool {
				if via == nil || u.vnet == via || peered(via, u.vnet) != nil || peered(u.vnet, via) != nil {
					visit(u)
				}
				return true
			})
		}
	}
}

// gatewayVNet is the VNet whose gateway v's gateway routes use: a peer whose gateway it uses, or
// itself.
func gatewayVNet(v *vnet) *vnet {
	for _, p := range v.peerings {
		if p.remoteGateways && p.remote != nil && p.connected() {
			return p.remote
		}
	}
	return v
}

// hopResult is what one route does with traffic towards one piece of a destination.
type hopResult struct {
	ok      bool
	kind    graph.EdgeKind
	builtin string
	unknown string
	ports   graph.PortSet
	steps   func() []graph.EvidenceStep
}

// evalPair checks every piece of dst's ranges along the route it takes from src.
func (t *topology) evalPair(src, dst *unit, b *graph.Builder) {
	t.walk(src, dst, dst.ranges, func(l leg) {
		kind, builtin := l.hop.kind, l.hop.builtin
		if dst.kind == unitEndpoint && dst.owner != dst.vnet.owner {
			kind = graph.KindPrivateEndpoint
			builtin = ""
			if dst.owner == isolation.Platform || src.owner == isolation.Platform {
				builtin = "platform private endpoint"
			}
		}
		b.Add(graph.Path{
			From: src.owner, To: dst.owner, Kind: kind, Ports: l.ports, Unknown: l.unknown, Builtin: builtin,
			Evidence: func() []graph.EvidenceStep {
				steps := []graph.EvidenceStep{t.ownerStep(src)}
				steps = append(steps, l.steps()...)
				return append(steps, t.ownerStep(dst), graph.EvidenceStep{Kind: "ports", Detail: "ports every hop admits: " + l.ports.String()})
			},
		})
	})
}

// leg is one way traffic from a source unit reaches a piece of a destination unit: the route's
// hop, both NSGs' verdicts and the ports all of them admit.
type leg struct {
	src, dst *unit
	hop      hopResult
	out, in  verdictOf
	ports    graph.PortSet
	unknown  string
}

// steps are the leg's Azure hops: the source's outbound NSG rules, the route (peerings,
// firewall), the destination's inbound NSG rules and private endpoint.
func (l leg) steps() []graph.EvidenceStep {
	steps := nsgSteps(l.src, outbound, l.out)
	steps = append(steps, l.hop.steps()...)
	steps = append(steps, nsgSteps(l.dst, inbound, l.in)...)
	if l.dst.kind == unitEndpoint {
		steps = append(steps, endpointStep(l.dst))
	}
	return steps
}

// walk follows every piece of ranges (inside dst) along the route it takes from src and calls fn
// for each one that some port gets through.
func (t *topology) walk(src, dst *unit, ranges []netip.Prefix, fn func(leg)) {
	for _, r := range ranges {
		for _, h := range t.routesFor(src.sub, r) {
			hr := t.evalHop(src, dst, h)
			if !hr.ok {
				continue
			}
			piece := []netip.Prefix{h.piece}
			out := evalAll(src.nsgs, outbound, src.ranges, piece, t.tagFor(src.vnet, src.sub.table))
			in := evalAll(dst.nsgs, inbound, piece, src.ranges, t.tagFor(dst.vnet, dst.sub.table))
			ports := hr.ports.Intersect(out.ports).Intersect(in.ports)
			if ports.IsEmpty() {
				continue
			}
			fn(leg{src: src, dst: dst, hop: hr, out: out, in: in, ports: ports, unknown: firstOf(hr.unknown, out.unknown, in.unknown)})
		}
	}
}

func firstOf(list ...string) string {
	for _, s := range list {
		if s != "" {
			return s
		}
	}
	return ""
}

// evalAll intersects what several NSGs (a NIC's and its subnet's) let through.
func evalAll(nsgs []*nsg, dir direction, local, remote []netip.Prefix, tag *prefixSet) verdictOf {
	out := verdictOf{ports: graph.AllPorts()}
	for _, n := range nsgs {
		v := n.eval(dir, local, remote, tag)
		out.ports = out.ports.Intersect(v.ports)
		out.rules = append(out.rules, v.rules...)
		out.unknown = firstOf(out.unknown, v.unknown)
	}
	return out
}

// evalHop follows one route towards dst.
func (t *topology) evalHop(src, dst *unit, h hop) hopResult {
	v := src.vnet
	routeStep := func(opens bool) graph.EvidenceStep {
		res := "system route of " + v.name
		st := graph.EvidenceStep{Kind: "route", Resource: res, Detail: fmt.Sprintf("from %s, %s takes %s (longest prefix match)", src.sub.name, h.piece, h.route)}
		if h.table != nil {
			st.Resource = h.table.id + "/routes/" + h.route.name
			st.Opens = opens
			st.Ref = graph.ResourceRef{Provider: "azure", Type: TypeRoute, Name: h.table.name + "/" + h.route.name, ID: st.Resource, Owner: src.owner}
		}
		return st
	}
	switch h.route.nextHop {
	case hopVnetLocal:
		if dst.vnet != v {
			return hopResult{}
		}
		return hopResult{ok: true, kind: graph.KindRoute, ports: graph.AllPorts(), steps: func() []graph.EvidenceStep { return []graph.EvidenceStep{routeStep(false)} }}
	case hopPeering:
		p := h.route.via
		if p == nil || p.remote != dst.vnet || !p.access {
			return hopResult{}
		}
		hr := hopResult{ok: true, kind: graph.KindPeering, ports: graph.AllPorts()}
		if v.hub || dst.vnet.hub {
			hr.builtin = "hub peering"
		}
		// A peering with the hub is the platform's; only a peering between two other owners is
		// what opens the route.
		hr.steps = func() []graph.EvidenceStep {
			return append([]graph.EvidenceStep{routeStep(false)}, peeringSteps(p, hr.builtin == "")...)
		}
		return hr
	case hopAppliance:
		return t.applianceHop(src, dst, h, routeStep)
	case hopGateway:
		g := gatewayVNet(v)
		if dst.vnet != g && gatewayVNet(dst.vnet) != g {
			return hopResult{}
		}
		return hopResult{ok: true, kind: graph.KindRoute, ports: graph.AllPorts(),
			unknown: fmt.Sprintf("route %s sends the traffic to the gateway of %s; where the gateway forwards it depends on its BGP and connection configuration, which is not in the snapshot", h.route, g.name),
			steps:   func() []graph.EvidenceStep { return []graph.EvidenceStep{routeStep(true)} }}
	}
	return hopResult{}
}

// applianceHop follows a route to a virtual appliance: the appliance must be reachable from the
// source VNet, its VNet must reach the destination's (directly, or over a peering whose
// destination side accepts forwarded traffic), and an Azure Firewall must allow the traffic.
func (t *topology) applianceHop(src, dst *unit, h hop, routeStep func(bool) graph.EvidenceStep) hopResult {
	ip := h.route.ip
	fw := t.fwByIP[ip]
	var via *vnet
	switch {
	case fw != nil:
		via = fw.vnet
	case t.byIP[ip] != nil && t.byIP[ip].subnet != nil:
		via = t.byIP[ip].subnet.vnet
	default:
		return hopResult{ok: true, kind: graph.KindRoute, ports: graph.AllPorts(),
			unknown: fmt.Sprintf("route %s: next hop %s is not in the snapshot, so what it forwards is unknown", h.route, ip),
			steps:   func() []graph.EvidenceStep { return []graph.EvidenceStep{routeStep(true)} }}
	}
	if via == nil {
		return hopResult{ok: true, kind: graph.KindRoute, ports: graph.AllPorts(),
			unknown: fmt.Sprintf("route %s: the VNet of next hop %s is not in the snapshot", h.route, ip),
			steps:   func() []graph.EvidenceStep { return []graph.EvidenceStep{routeStep(true)} }}
	}
	var in, out *peering
	if via != src.vnet {
		if in = peered(src.vnet, via); in == nil {
			return hopResult{}
		}
	}
	unknown := ""
	if dst.vnet != via {
		if out = peered(via, dst.vnet); out == nil {
			return hopResult{}
		}
		back := out.back()
		switch {
		case back == nil:
			unknown = fmt.Sprintf("the peering of %s to %s is not in the snapshot, so whether it accepts traffic forwarded by the appliance is unknown", dst.vnet.name, via.name)
		case !back.forwarded:
			return hopResult{}
		}
	}
	steps := func(appliance []graph.EvidenceStep) func() []graph.EvidenceStep {
		return func() []graph.EvidenceStep {
			st := []graph.EvidenceStep{routeStep(fw == nil)}
			if in != nil {
				st = append(st, peeringSteps(in, false)...)
			}
			st = append(st, appliance...)
			if out != nil {
				st = append(st, peeringSteps(out, false)...)
			}
			return st
		}
	}
	if fw == nil {
		n := t.byIP[ip]
		return hopResult{ok: true, kind: graph.KindRoute, ports: graph.AllPorts(),
			unknown: firstOf(unknown, fmt.Sprintf("route %s: appliance NIC %s forwards by its own configuration, which is not in the snapshot", h.route, n.name)),
			steps:   steps([]graph.EvidenceStep{{Kind: "appliance", Resource: n.id, Detail: fmt.Sprintf("NIC %s (IP forwarding %v) at %s", n.name, n.forwarding, ip)}})}
	}
	dstPart := graph.Intersect(h.piece, dst.ranges)
	if len(dstPart) == 0 {
		dstPart = []netip.Prefix{h.piece}
	}
	v := fw.eval(src.ranges, dstPart)
	if v.ports.IsEmpty() {
		return hopResult{}
	}
	hr := hopResult{ok: true, kind: graph.KindFirewall, ports: v.ports, unknown: firstOf(unknown, v.unknown)}
	if src.owner == isolation.Platform || dst.owner == isolation.Platform {
		hr.builtin = "hub firewall"
	}
	hr.steps = steps(firewallSteps(fw, v, src.owner))
	return hr
}

func peeringSteps(p *peering, opens bool) []graph.EvidenceStep {
	st := []graph.EvidenceStep{peeringStep(p, opens)}
	if back := p.back(); back != nil {
		st = append(st, peeringStep(back, opens))
	}
	return st
}

func peeringStep(p *peering, opens bool) graph.EvidenceStep {
	return graph.EvidenceStep{Kind: "peering", Resource: p.id, Opens: opens,
		Ref: graph.ResourceRef{Provider: "azure", Type: TypePeering, Name: p.local.name + "/" + p.name, ID: p.id, Owner: p.local.owner},
		Detail: fmt.Sprintf("%s → %s: %s, allowVirtualNetworkAccess %v, allowForwardedTraffic %v, allowGatewayTransit %v, useRemoteGateways %v",
			p.local.name, lastSegment(p.remoteID), p.state, p.access, p.forwarded, p.gatewayTransit, p.remoteGateways)}
}

func firewallSteps(fw *firewall, v verdictOf, owner string) []graph.EvidenceStep {
	if fw.policy != "" {
		return []graph.EvidenceStep{{Kind: "firewall", Resource: fw.id, Detail: v.unknown}}
	}
	var out []graph.EvidenceStep
	for _, h := range v.rules {
		r := h.rule
		out = append(out, graph.EvidenceStep{Kind: "firewall", Resource: fw.id, Detail: fw.String() + ": " + r.String(), Opens: !r.isDefault,
			Ref: graph.ResourceRef{Provider: "azure", Type: TypeFirewall, Name: fw.name + "/" + r.name, ID: fw.id, Owner: fw.vnetOwner()}})
	}
	return out
}

func (fw *firewall) vnetOwner() string {
	if fw.vnet == nil {
		return ""
	}
	return fw.vnet.owner
}

func nsgSteps(u *unit, dir direction, v verdictOf) []graph.EvidenceStep {
	if len(u.nsgs) == 0 {
		detail := fmt.Sprintf("%s: no NSG, all %s traffic allowed", u, dir)
		if u.note != "" {
			detail = fmt.Sprintf("%s: %s", u, u.note)
		}
		return []graph.EvidenceStep{{Kind: "nsg", Resource: u.res, Detail: detail}}
	}
	var out []graph.EvidenceStep
	for _, h := range v.rules {
		r, id := h.rule, h.id()
		out = append(out, graph.EvidenceStep{Kind: "nsg", Resource: id, Detail: fmt.Sprintf("%s of %s: %s", dir, u, r), Opens: !r.isDefault,
			Ref: graph.ResourceRef{Provider: "azure", Type: TypeSecurityRule, Name: h.in.name + "/" + r.name, ID: id, Owner: u.vnet.owner}})
	}
	return out
}

func endpointStep(u *unit) graph.EvidenceStep {
	return graph.EvidenceStep{Kind: "private-endpoint", Resource: u.pe.id, Opens: true,
		Ref:    graph.ResourceRef{Provider: "azure", Type: TypePrivateEndpoint, Name: u.pe.name, ID: u.pe.id, Owner: u.vnet.owner},
		Detail: fmt.Sprintf("private endpoint %s in subnet %s connects (%s, %s) to %s", u.pe.name, u.sub.name, u.conn.name, u.conn.status, u.conn.target)}
}

func (t *topology) ownerStep(u *unit) graph.EvidenceStep {
	if u.kind == unitEndpoint {
		return graph.EvidenceStep{Kind: "owner", Resource: u.conn.target, Detail: fmt.Sprintf("%s belongs to %s: %s", lastSegment(u.conn.target), u.owner, u.how)}
	}
	return graph.EvidenceStep{Kind: "owner", Resource: u.vnet.id, Detail: fmt.Sprintf("%s (%v) belongs to %s: %s", u, u.ranges, u.owner, strings.TrimSpace(u.how))}
}
