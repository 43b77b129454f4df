package azurenet

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// Next hop types as ARM spells them; system peering routes use hopPeering.
const (
	hopVnetLocal = string(armnetwork.RouteNextHopTypeVnetLocal)
	hopPeering   = "VNetPeering"
	hopAppliance = string(armnetwork.RouteNextHopTypeVirtualAppliance)
	hopGateway   = string(armnetwork.RouteNextHopTypeVirtualNetworkGateway)
	hopInternet  = string(armnetwork.RouteNextHopTypeInternet)
	hopNone      = string(armnetwork.RouteNextHopTypeNone)
)

// privateNone are the system routes that drop private and shared address space not covered by a
// more specific route (Azure's default route table).
var privateNone = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
}

func parseRouteTable(r resource) (*routeTable, error) {
	t := &routeTable{id: r.id, name: r.name}
	for _, x := range r.props.list("routes") {
		p := x.props()
		prefix, err := graph.ParsePrefix(p.str("addressPrefix"))
		if err != nil {
			// A service-tag destination ("Storage") names public Azure ranges, never a tenant's.
			continue
		}
		rt := route{name: x.str("name"), prefix: prefix, nextHop: p.str("nextHopType")}
		if ip := p.str("nextHopIpAddress"); ip != "" {
			a, err := netip.ParseAddr(ip)
			if err != nil {
				return nil, fmt.Errorf("route table %s route %s: next hop %q: %w", t.id, rt.name, ip, err)
			}
			rt.ip = a.Unmap()
		}
		t.trie.Insert(prefix, len(t.routes))
		t.routes = append(t.routes, rt)
	}
	return t, nil
}

func (r route) String() string {
	hop := r.nextHop
	if r.ip.IsValid() {
		hop += " " + r.ip.String()
	}
	if r.via != nil {
		hop += " (" + r.via.name + ")"
	}
	return r.prefix.String() + " → " + hop
}

// connected reports whether a peering carries traffic: Connected on its side, and on the remote
// side too when the snapshot has it (a peering is only usable when both exist).
func (p *peering) connected() bool { return p.up }

func (p *peering) isConnected() bool {
	if !strings.EqualFold(p.state, string(armnetwork.VirtualNetworkPeeringStateConnected)) {
		return false
	}
	if back := p.back(); back != nil && !strings.EqualFold(back.state, string(armnetwork.VirtualNetworkPeeringStateConnected)) {
		return false
	}
	return p.remote != nil || len(p.remoteSpace) > 0
}

// back is the remote VNet's peering to p's VNet, when the snapshot has it.
func (p *peering) back() *peering { return p.reverse }

func (p *peering) space() []netip.Prefix {
	if p.remote != nil && len(p.remote.space) > 0 {
		return p.remote.space
	}
	return p.remoteSpace
}

// systemRoutes is the VNet's default route table: its own space, every connected peering's remote
// space, the private ranges to None and the internet.
type systemRoutes struct {
	routes []route
	trie   graph.Table[int]
}

func (t *topology) system(v *vnet) *systemRoutes {
	if sr, ok := t.sysCache[v]; ok {
		return sr
	}
	sr := &systemRoutes{}
	add := func(r route) {
		r.system = true
		sr.trie.Insert(r.prefix, len(sr.routes))
		sr.routes = append(sr.routes, r)
	}
	for _, p := range v.space {
		add(route{name: "VNet address space", prefix: p, nextHop: hopVnetLocal})
	}
	for _, pe := range v.peerings {
		if !pe.connected() {
			continue
		}
		for _, p := range pe.space() {
			add(route{name: "peering " + pe.name, prefix: p, nextHop: hopPeering, via: pe})
		}
	}
	for _, p := range privateNone {
		add(route{name: "private range", prefix: p, nextHop: hopNone})
	}
	add(route{name: "default", prefix: netip.MustParsePrefix("0.0.0.0/0"), nextHop: hopInternet})
	t.sysCache[v] = sr
	return sr
}

// hop is one route a destination piece takes.
type hop struct {
	piece netip.Prefix
	route route
	// table is the route table the route came from; nil for system routes.
	table *routeTable
}

// routesFor returns the routes traffic from subnet sub to range r takes: the longest-prefix
// match for r, plus the match of every more specific route inside r (which carve pieces out of
// r). A user route wins a tie with a system route of the same prefix.
func (t *topology) routesFor(sub *subnet, r netip.Prefix) []hop {
	sys := t.system(sub.vnet)
	// A user-defined default route makes Azure mark the private-range None routes invalid, which
	// is what lets a 0.0.0.0/0 route to a hub firewall carry spoke-to-spoke traffic.
	noneInvalid := sub.table != nil && sub.table.hasDefault()
	lpm := func(p netip.Prefix) (hop, bool) {
		var best hop
		found := false
		sys.trie.Covering(p, func(_ netip.Prefix, i int) bool {
			if r := sys.routes[i]; !(noneInvalid && r.nextHop == hopNone) {
				best, found = hop{piece: p, route: r}, true
			}
			return true
		})
		if sub.table != nil {
			if up, idx, ok := sub.table.trie.Longest(p); ok && (!found || up.Bits() >= best.route.prefix.Bits()) {
				best, found = hop{piece: p, route: sub.table.routes[idx[len(idx)-1]], table: sub.table}, true
			}
		}
		return best, found
	}
	var out []hop
	var inner []netip.Prefix
	collect := func(q netip.Prefix) {
		if q.Bits() > graph.Canon(r).Bits() {
			inner = append(inner, q)
		}
	}
	sys.trie.Within(r, func(q netip.Prefix, i int) bool {
		if !(noneInvalid && sys.routes[i].nextHop == hopNone) {
			collect(q)
		}
		return true
	})
	if sub.table != nil {
		sub.table.trie.Within(r, func(q netip.Prefix, _ int) bool { collect(q); return true })
	}
	slices.SortFunc(inner, comparePrefix)
	inner = slices.Compact(inner)
	if len(graph.Subtract(r, inner)) > 0 {
		if h, ok := lpm(r); ok {
			out = append(out, h)
		}
	}
	for _, q := range inner {
		if h, ok := lpm(q); ok {
			out = append(out, h)
		}
	}
	return out
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// hasDefault reports whether the table overrides the default route.
func (t *routeTable) hasDefault() bool {
	for _, r := range t.routes {
		if r.prefix.Bits() == 0 {
			return true
		}
	}
	return false
}
