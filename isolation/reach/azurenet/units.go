package azurenet

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

type unitKind uint8

const (
	unitSubnet unitKind = iota
	unitNIC
	unitEndpoint
)

// unit is a place traffic leaves from or arrives at: a subnet (any NIC its owner may still add,
// governed by the subnet's NSG), a NIC with an NSG of its own, or a private endpoint, which
// belongs to the owner of the resource it connects to.
type unit struct {
	id     int
	kind   unitKind
	owner  string
	how    string
	vnet   *vnet
	sub    *subnet
	ranges []netip.Prefix
	nsgs   []*nsg
	// note explains an NSG that does not apply (private endpoint network policies disabled).
	note string
	res  string // resource id for evidence
	pe   *privateEndpoint
	conn peConn
}

func (u *unit) String() string {
	switch u.kind {
	case unitNIC:
		return "NIC " + lastSegment(u.res)
	case unitEndpoint:
		return "private endpoint " + u.pe.name
	}
	return "subnet " + u.sub.name + " of " + u.vnet.name
}

// units lists every unit whose owner is known, and indexes them by VNet and by address.
func (t *topology) units() ([]*unit, map[*vnet][]*unit, *graph.Trie[*unit]) {
	var all []*unit
	byVNet := map[*vnet][]*unit{}
	trie := &graph.Trie[*unit]{}
	add := func(u *unit) {
		if u.owner == "" || len(u.ranges) == 0 {
			return
		}
		u.id = len(all)
		all = append(all, u)
		byVNet[u.vnet] = append(byVNet[u.vnet], u)
		for _, r := range u.ranges {
			trie.Insert(r, u)
		}
	}
	for _, v := range t.vnets {
		subnets := v.subnets
		if len(subnets) == 0 {
			// A VNet without subnets (a hub whose subnets the platform team manages outside the
			// snapshot) still holds whatever its owner deploys next: its whole space stands in.
			subnets = []*subnet{{id: v.id, name: "(address space)", vnet: v, ranges: v.space}}
		}
		for _, sub := range subnets {
			var nsgs []*nsg
			if sub.nsg != nil {
				nsgs = []*nsg{sub.nsg}
			}
			add(&unit{kind: unitSubnet, owner: v.owner, how: v.how, vnet: v, sub: sub, ranges: sub.ranges, nsgs: nsgs, res: sub.id})
			for _, n := range sub.nics {
				if n.nsg == nil {
					continue // the subnet unit already stands for NICs without an NSG of their own
				}
				var rs []netip.Prefix
				for _, ip := range n.ips {
					rs = append(rs, netip.PrefixFrom(ip, ip.BitLen()))
				}
				add(&unit{kind: unitNIC, owner: v.owner, how: v.how, vnet: v, sub: sub, ranges: rs, nsgs: append([]*nsg{n.nsg}, nsgs...), res: n.id})
			}
		}
	}
	for _, pe := range t.pes {
		for _, c := range pe.conns {
			if !strings.EqualFold(c.status, "Approved") {
				continue
			}
			owner, how := t.targetOwner(c.target)
			if owner == "" {
				t.problems = append(t.problems, fmt.Sprintf("%s: owner of the connected resource %s unknown", pe.id, c.target))
				continue
			}
			u := &unit{kind: unitEndpoint, owner: owner, how: how, vnet: pe.subnet.vnet, sub: pe.subnet, pe: pe, conn: c, res: pe.id}
			for _, ip := range pe.ips {
				u.ranges = append(u.ranges, netip.PrefixFrom(ip, ip.BitLen()))
			}
			if len(u.ranges) == 0 {
				u.ranges = pe.subnet.ranges
			}
			switch pol := pe.subnet.pePolicies; {
			case pe.subnet.nsg == nil:
			case strings.EqualFold(pol, string(armnetwork.VirtualNetworkPrivateEndpointNetworkPoliciesEnabled)),
				strings.EqualFold(pol, string(armnetwork.VirtualNetworkPrivateEndpointNetworkPoliciesNetworkSecurityGroupEnabled)):
				u.nsgs = []*nsg{pe.subnet.nsg}
			default:
				u.note = fmt.Sprintf("subnet %s has privateEndpointNetworkPolicies %s: its NSG %s does not apply to the endpoint", pe.subnet.name, pol, pe.subnet.nsg.name)
			}
			add(u)
		}
	}
	return all, byVNet, trie
}

// tagFor is the VirtualNetwork service tag as NSG rules see it from a subnet: its VNet's space,
// every connected peered VNet's space, and the prefixes of the subnet's user-defined routes.
func (t *topology) tagFor(v *vnet, table *routeTable) *prefixSet {
	if set, ok := v.tag[table]; ok {
		return set
	}
	lists := [][]netip.Prefix{v.space}
	for _, p := range v.peerings {
		if p.connected() && p.access {
			lists = append(lists, p.space())
		}
	}
	if table != nil {
		var udr []netip.Prefix
		for _, r := range table.routes {
			udr = append(udr, r.prefix)
		}
		lists = append(lists, udr)
	}
	set := newPrefixSet(lists...)
	v.tag[table] = set
	return set
}

// peered reports whether traffic from VNet a may enter VNet b over a direct peering.
func peered(a, b *vnet) *peering {
	for _, p := range a.peerings {
		if p.remote == b && p.connected() && p.access {
			return p
		}
	}
	return nil
}
