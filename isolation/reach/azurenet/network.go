package azurenet

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// Network is the analysed Azure network of a snapshot: Analyze adds its routes to a graph, and
// From and To answer for paths whose other end is not an Azure resource of the analysis (the
// pods of a cluster whose traffic leaves through its node pool's subnet). It is not safe for
// concurrent use.
type Network struct {
	t      *topology
	units  []*unit
	byVNet map[*vnet][]*unit
	trie   *graph.Trie[*unit]
	spaces *graph.Trie[*vnet]
}

// Build decodes resources into a Network.
func Build(sc *graph.Scope, resources []inventory.AzureResource) (*Network, error) {
	d, err := decode(resources)
	if err != nil {
		return nil, err
	}
	t, err := build(sc, d)
	if err != nil {
		return nil, err
	}
	n := &Network{t: t, spaces: &graph.Trie[*vnet]{}}
	n.units, n.byVNet, n.trie = t.units()
	for _, v := range t.vnets {
		for _, p := range v.space {
			n.spaces.Insert(p, v)
		}
	}
	return n, nil
}

// Leg is one way the Azure network carries traffic between a subnet and other addresses: the
// ports every hop admits, what the snapshot cannot decide, and the hops as evidence.
type Leg struct {
	Ports   graph.PortSet
	Unknown string
	// To is the owner of the unit the leg reaches (From) or leaves (To), as the Azure analysis
	// owns it; "" when unknown.
	Peer     string
	Evidence func() []graph.EvidenceStep
}

// Subnet describes a subnet of the network: its id, name, VNet and ranges.
type Subnet struct {
	ID, Name, VNet string
	Ranges         []netip.Prefix
}

// Subnet returns the subnet with ARM id id.
func (n *Network) Subnet(id string) (Subnet, bool) {
	sub := n.t.subnets[lower(id)]
	if sub == nil {
		return Subnet{}, false
	}
	return Subnet{ID: sub.id, Name: sub.name, VNet: sub.vnet.name, Ranges: sub.ranges}, true
}

// SubnetOf returns the subnet holding address a.
func (n *Network) SubnetOf(a netip.Addr) (Subnet, bool) {
	var found *unit
	n.trie.Covering(netip.PrefixFrom(a, a.BitLen()), func(_ netip.Prefix, u *unit) bool {
		if u.kind == unitSubnet && u.sub.id != u.vnet.id {
			found = u
		}
		return true
	})
	if found == nil {
		return Subnet{}, false
	}
	return n.Subnet(found.sub.id)
}

// subnetUnit is the unit standing for every address of a subnet, whether or not its VNet's owner
// is known.
func (n *Network) subnetUnit(id string) *unit {
	sub := n.t.subnets[lower(id)]
	if sub == nil {
		return nil
	}
	for _, u := range n.byVNet[sub.vnet] {
		if u.kind == unitSubnet && u.sub == sub {
			return u
		}
	}
	var nsgs []*nsg
	if sub.nsg != nil {
		nsgs = []*nsg{sub.nsg}
	}
	v := sub.vnet
	return &unit{kind: unitSubnet, owner: v.owner, how: v.how, vnet: v, sub: sub, ranges: sub.ranges, nsgs: nsgs, res: sub.id}
}

// From returns the legs of traffic leaving subnet subnetID (from any of its addresses) towards
// dst. Missing are the parts of dst that lie in no VNet of the snapshot, where the network cannot
// say what happens.
func (n *Network) From(subnetID string, dst []netip.Prefix) (legs []Leg, missing []netip.Prefix, err error) {
	src := n.subnetUnit(subnetID)
	if src == nil {
		return nil, nil, fmt.Errorf("subnet %s is not in the snapshot", subnetID)
	}
	for _, u := range n.overlapping(dst) {
		if u == src {
			continue
		}
		pieces := intersectAll(dst, u.ranges)
		n.t.walk(src, u, pieces, func(l leg) { legs = append(legs, n.export(l, u.owner)) })
	}
	return legs, n.missing(dst), nil
}

// To returns the legs of traffic from the units holding src towards the addresses at of subnet
// subnetID (its whole range when at is empty).
func (n *Network) To(src []netip.Prefix, subnetID string, at []netip.Prefix) (legs []Leg, missing []netip.Prefix, err error) {
	dst := n.subnetUnit(subnetID)
	if dst == nil {
		return nil, nil, fmt.Errorf("subnet %s is not in the snapshot", subnetID)
	}
	pieces := dst.ranges
	if len(at) > 0 {
		pieces = intersectAll(at, dst.ranges)
	}
	for _, u := range n.overlapping(src) {
		if u == dst || u.kind == unitEndpoint {
			continue
		}
		from := *u
		from.ranges = intersectAll(src, u.ranges)
		n.t.walk(&from, dst, pieces, func(l leg) { legs = append(legs, n.export(l, u.owner)) })
	}
	return legs, n.missing(src), nil
}

func (n *Network) export(l leg, peer string) Leg {
	return Leg{Ports: l.ports, Unknown: l.unknown, Peer: peer, Evidence: l.steps}
}

// overlapping lists the units meeting any of ps, in unit order.
func (n *Network) overlapping(ps []netip.Prefix) []*unit {
	var out []*unit
	for _, p := range ps {
		n.trie.Overlapping(p, func(_ netip.Prefix, u *unit) bool {
			out = append(out, u)
			return true
		})
	}
	slices.SortFunc(out, func(a, b *unit) int { return a.id - b.id })
	return slices.Compact(out)
}

// missing are the parts of ps no VNet's address space holds.
func (n *Network) missing(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		var covered []netip.Prefix
		n.spaces.Overlapping(p, func(q netip.Prefix, _ *vnet) bool {
			covered = append(covered, q)
			return true
		})
		out = append(out, graph.Subtract(p, covered)...)
	}
	return graph.Merge(out)
}

// intersectAll is the part of a inside b.
func intersectAll(a, b []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range a {
		out = append(out, graph.Intersect(p, b)...)
	}
	return graph.Merge(out)
}
