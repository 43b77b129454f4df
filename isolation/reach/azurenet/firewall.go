package azurenet

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// firewall is an Azure Firewall. Its classic rule collections are flattened into one ordered
// rule list with NSG semantics (the first matching rule of the highest-priority collection
// decides; nothing matching is denied), evaluated by nsg.eval in the outbound direction: local
// is the traffic's source, remote its destination.
type firewall struct {
	id, name string
	ips      []netip.Addr
	vnet     *vnet
	// policy is the firewall policy holding the rules when the firewall uses one; its rule
	// collection groups are not part of the snapshot.
	policy string
	rules  *nsg
}

const defaultDenyPriority = math.MaxInt32

func (t *topology) parseFirewall(r resource) (*firewall, error) {
	fw := &firewall{id: r.id, name: r.name, policy: r.props.ref("firewallPolicy")}
	rules := &nsg{id: fw.id, name: fw.name}
	p := r.props
	for _, c := range p.list("ipConfigurations") {
		cp := c.props()
		if a, err := netip.ParseAddr(cp.str("privateIPAddress")); err == nil {
			fw.ips = append(fw.ips, a.Unmap())
		}
		if id := cp.ref("subnet"); id != "" && fw.vnet == nil {
			fw.vnet = t.byID[lower(parentID(id))]
			if sub := t.subnets[lower(id)]; sub != nil {
				fw.vnet = sub.vnet
			}
		}
	}
	collAllow := func(c obj) bool {
		return strings.EqualFold(c.props().obj("action").str("type"), string(armnetwork.AzureFirewallRCActionTypeAllow))
	}
	for _, c := range p.list("networkRuleCollections") {
		allow := collAllow(c)
		for _, x := range c.props().list("rules") {
			ports := graph.PortSet{}
			for _, proto := range x.strs("protocols") {
				ports = ports.Union(parsePorts(proto, x.strs("destinationPorts")))
			}
			var unknown, srcUnknown []string
			for _, g := range x.strs("destinationIpGroups") {
				unknown = append(unknown, "IP group "+lastSegment(g))
			}
			for _, q := range x.strs("destinationFqdns") {
				unknown = append(unknown, "FQDN "+q)
			}
			for _, g := range x.strs("sourceIpGroups") {
				srcUnknown = append(srcUnknown, "IP group "+lastSegment(g))
			}
			rules.rules[outbound] = append(rules.rules[outbound], &secRule{
				id: fw.id, name: c.str("name") + "/" + x.str("name"), priority: c.props().num("priority"), allow: allow, ports: ports,
				src: parseAddrSpec(x.strs("sourceAddresses"), srcUnknown),
				dst: parseAddrSpec(x.strs("destinationAddresses"), unknown),
			})
		}
	}
	// Application rules run after network rules. A rule for every FQDN ("*") may reach any
	// address a name resolves to, including another tenant's private endpoint, which the
	// snapshot cannot tell; rules for named FQDNs are taken to target public services.
	for _, c := range p.list("applicationRuleCollections") {
		if !collAllow(c) {
			continue
		}
		for _, x := range c.props().list("rules") {
			if !slices.Contains(x.strs("targetFqdns"), "*") {
				continue
			}
			var ports []string
			for _, pr := range x.list("protocols") {
				if n := pr.num("port"); n > 0 {
					ports = append(ports, strconv.Itoa(int(n)))
				}
			}
			rules.rules[outbound] = append(rules.rules[outbound], &secRule{
				id: fw.id, name: c.str("name") + "/" + x.str("name"), priority: math.MaxInt32 / 2, allow: true, ports: parsePorts("TCP", ports),
				src: parseAddrSpec(x.strs("sourceAddresses"), nil),
				dst: parseAddrSpec(nil, []string{"FQDN *"}),
			})
		}
	}
	rules.rules[outbound] = append(rules.rules[outbound], &secRule{
		id: fw.id, name: "default deny", priority: defaultDenyPriority, ports: graph.AllPorts(),
		src: parseAddrSpec([]string{"*"}, nil), dst: parseAddrSpec([]string{"*"}, nil), isDefault: true,
	})
	slices.SortStableFunc(rules.rules[outbound], func(a, b *secRule) int { return cmp.Compare(a.priority, b.priority) })
	sets := make([]graph.PortSet, len(rules.rules[outbound]))
	for i, r := range rules.rules[outbound] {
		sets[i] = r.ports
	}
	rules.classes[outbound] = portClasses(sets)
	fw.rules = rules
	return fw, nil
}

// eval says which ports the firewall forwards from src to dst.
func (fw *firewall) eval(src, dst []netip.Prefix) verdictOf {
	if fw.policy != "" {
		return verdictOf{ports: graph.AllPorts(), unknown: "firewall " + fw.name + " takes its rules from policy " + lastSegment(fw.policy) + ", whose rule collection groups are not in the snapshot"}
	}
	return fw.rules.eval(outbound, src, dst, nil)
}

// destinations over-approximates where the firewall may forward traffic from src: the
// destinations of every allow rule whose source meets src ("*" and unresolvable destinations
// widen it to everything). Candidates are then checked with eval.
func (fw *firewall) destinations(src []netip.Prefix) []netip.Prefix {
	all := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	if fw.policy != "" {
		return all
	}
	var out []netip.Prefix
	for _, r := range fw.rules.rules[outbound] {
		if !r.allow {
			continue
		}
		if c, unk := r.src.coverage(src, nil); c == graph.CoverNone && !unk {
			continue
		}
		if r.dst.any || len(r.dst.unknown) > 0 || r.dst.vnetTag {
			return all
		}
		out = append(out, r.dst.prefixes...)
	}
	return graph.Merge(out)
}

func (fw *firewall) String() string {
	ips := make([]string, len(fw.ips))
	for i, ip := range fw.ips {
		ips[i] = ip.String()
	}
	return "Azure Firewall " + fw.name + " (" + strings.Join(ips, ", ") + ")"
}
