package azurenet

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// exposures records every resource that names another owner's network, whether or not a full
// route results: peerings to another owner's VNet, routes whose prefix or next hop lies in
// another owner's range, NSG and firewall rules allowing another owner's range, and private
// endpoints (approved or not) into another owner's resource.
func (t *topology) exposures(b *graph.Builder) {
	for _, v := range t.vnets {
		if v.owner == "" {
			continue
		}
		for _, p := range v.peerings {
			remote, hub := t.remoteOwner(p)
			builtin := ""
			if v.hub || hub {
				builtin = "hub peering"
			}
			b.Expose(graph.Exposure{Tenant: v.owner, Peer: remote, Kind: graph.KindPeering, Resource: peeringStep(p, true).Ref,
				Detail: fmt.Sprintf("peering %s of %s to %s (owned by %s) is %s", p.name, v.name, lastSegment(p.remoteID), remote, p.state)}, builtin)
		}
	}
	t.routeExposures(b)
	t.nsgExposures(b)
	for _, pe := range t.pes {
		for _, c := range pe.conns {
			owner, _ := t.targetOwner(c.target)
			local := pe.subnet.vnet.owner
			builtin := ""
			if owner == isolation.Platform {
				builtin = "platform private endpoint"
			}
			b.Expose(graph.Exposure{Tenant: local, Peer: owner, Kind: graph.KindPrivateEndpoint,
				Resource: graph.ResourceRef{Provider: "azure", Type: TypePrivateEndpoint, Name: pe.name, ID: pe.id, Owner: local},
				Detail:   fmt.Sprintf("private endpoint %s connects to %s (%s), connection %s is %s", pe.name, lastSegment(c.target), owner, c.name, c.status)}, builtin)
		}
	}
	for _, fw := range t.fws {
		for _, r := range fw.rules.rules[outbound] {
			if !r.allow || r.isDefault {
				continue
			}
			for _, from := range t.specOwners(r.src) {
				for _, to := range t.specOwners(r.dst) {
					b.Expose(graph.Exposure{Tenant: from, Peer: to, Kind: graph.KindFirewall,
						Resource: graph.ResourceRef{Provider: "azure", Type: TypeFirewall, Name: fw.name + "/" + r.name, ID: fw.id, Owner: fw.vnetOwner()},
						Detail:   fmt.Sprintf("%s: %s", fw, r)}, builtinPlatform(from, to, "hub firewall"))
				}
			}
		}
	}
}

func builtinPlatform(a, b, what string) string {
	if a == isolation.Platform || b == isolation.Platform {
		return what
	}
	return ""
}

// remoteOwner is the owner of a peering's remote VNet, and whether it is the hub.
func (t *topology) remoteOwner(p *peering) (string, bool) {
	if p.remote != nil {
		return p.remote.owner, p.remote.hub
	}
	hub := t.scope.Env.Spec.Hub.VNetName
	isHub := hub != "" && strings.EqualFold(lastSegment(p.remoteID), hub)
	owners := map[string]bool{}
	for _, r := range p.remoteSpace {
		owners[t.scope.OwnerOf(r)] = true
	}
	if len(owners) == 1 && !owners[""] {
		for o := range owners {
			return o, isHub
		}
	}
	if isHub {
		return isolation.Platform, true
	}
	o, _ := t.ownerByNaming(p.remoteID)
	return o, false
}

// narrowOwners are the owners a prefix targets: the owner of the range containing it, or the
// owners of the ranges inside it unless it is an aggregate as wide as an environment range (a
// default route or "10.0.0.0/8" aims at no one in particular).
func (t *topology) narrowOwners(p netip.Prefix) []string {
	if o := t.scope.OwnerOf(p); o != "" {
		return []string{o}
	}
	if p.Bits() == 0 {
		return nil
	}
	for _, agg := range t.envRanges() {
		if p.Bits() <= agg.Bits() && p.Contains(agg.Addr()) {
			return nil
		}
	}
	var out []string
	for _, ro := range t.scope.OwnersOf(p) {
		if ro.Prefix.Bits() > p.Bits() && !slices.Contains(out, ro.Owner) {
			out = append(out, ro.Owner)
		}
	}
	return out
}

func (t *topology) envRanges() []netip.Prefix {
	var out []netip.Prefix
	for _, c := range t.scope.Env.Spec.AddressSpace {
		if p, err := graph.ParsePrefix(c); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (t *topology) specOwners(sp addrSpec) []string {
	var out []string
	for _, p := range sp.prefixes {
		for _, o := range t.narrowOwners(p) {
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

// routeExposures: a route table belongs to the owners of the subnets using it.
func (t *topology) routeExposures(b *graph.Builder) {
	owners := map[*routeTable][]string{}
	for _, v := range t.vnets {
		for _, sub := range v.subnets {
			if sub.table != nil && v.owner != "" && !slices.Contains(owners[sub.table], v.owner) {
				owners[sub.table] = append(owners[sub.table], v.owner)
			}
		}
	}
	for _, tbl := range sortedTables(t.tables) {
		for _, r := range tbl.routes {
			if r.nextHop == hopNone {
				continue // a route to None only ever closes a path
			}
			targets := t.narrowOwners(r.prefix)
			if r.ip.IsValid() {
				if o := t.scope.OwnerOf(netip.PrefixFrom(r.ip, r.ip.BitLen())); o != "" && !slices.Contains(targets, o) {
					targets = append(targets, o)
				}
			}
			for _, owner := range owners[tbl] {
				for _, target := range targets {
					b.Expose(graph.Exposure{Tenant: owner, Peer: target, Kind: graph.KindRoute,
						Resource: graph.ResourceRef{Provider: "azure", Type: TypeRoute, Name: tbl.name + "/" + r.name, ID: tbl.id + "/routes/" + r.name, Owner: owner},
						Detail:   fmt.Sprintf("route %s of %s: %s lies in %s's address space", r.name, tbl.name, r, target)}, builtinPlatform(owner, target, "hub routing"))
				}
			}
		}
	}
}

// nsgExposures: an NSG belongs to the owners of the subnets and NICs it is associated with.
func (t *topology) nsgExposures(b *graph.Builder) {
	owners := map[*nsg][]string{}
	addOwner := func(g *nsg, o string) {
		if g != nil && o != "" && !slices.Contains(owners[g], o) {
			owners[g] = append(owners[g], o)
		}
	}
	for _, v := range t.vnets {
		for _, sub := range v.subnets {
			addOwner(sub.nsg, v.owner)
			for _, n := range sub.nics {
				addOwner(n.nsg, v.owner)
			}
		}
	}
	for _, g := range sortedNSGs(t.nsgs) {
		for dir, rules := range g.rules {
			for _, r := range rules {
				if !r.allow || r.isDefault {
					continue
				}
				remote := r.src
				if direction(dir) == outbound {
					remote = r.dst
				}
				for _, target := range t.specOwners(remote) {
					for _, owner := range owners[g] {
						b.Expose(graph.Exposure{Tenant: owner, Peer: target, Kind: graph.KindNSG,
							Resource: graph.ResourceRef{Provider: "azure", Type: TypeSecurityRule, Name: g.name + "/" + r.name, ID: r.id, Owner: owner},
							Detail:   fmt.Sprintf("%s %s of NSG %s allows %s's range", direction(dir), r, g.name, target)}, builtinPlatform(owner, target, "platform range"))
					}
				}
			}
		}
	}
}

func sortedTables(m map[string]*routeTable) []*routeTable {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]*routeTable, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

func sortedNSGs(m map[string]*nsg) []*nsg {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]*nsg, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
