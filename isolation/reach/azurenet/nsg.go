package azurenet

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

type direction uint8

const (
	inbound direction = iota
	outbound
)

func (d direction) String() string {
	if d == inbound {
		return "inbound"
	}
	return "outbound"
}

type secRule struct {
	id, name  string
	priority  int32
	allow     bool
	ports     graph.PortSet
	src, dst  addrSpec
	isDefault bool
}

func (r *secRule) String() string {
	access := "Deny"
	if r.allow {
		access = "Allow"
	}
	kind := "rule"
	if r.isDefault {
		kind = "default rule"
	}
	return fmt.Sprintf("%s %s (priority %d): %s from %s to %s on %s", kind, r.name, r.priority, access, r.src.text, r.dst.text, r.ports)
}

type nsg struct {
	id, name string
	rules    [2][]*secRule // by direction, sorted by priority
	classes  [2][]graph.PortRange
}

func asgNames(asgs []obj) []string {
	var out []string
	for _, a := range asgs {
		out = append(out, "ASG "+lastSegment(a.str("id")))
	}
	return out
}

// defaultRules are the rules Azure adds to every NSG; ARM returns them as defaultSecurityRules,
// and a hand-written or generated snapshot that omits them still gets them. They are shared by
// every such NSG (rules are never modified), with no id of their own: ruleHit.id derives it.
var defaultRules = func() [2][]*secRule {
	mk := func(name string, prio int32, allow bool, src, dst string) *secRule {
		return &secRule{name: name, priority: prio, allow: allow,
			ports: graph.AllPorts(), src: parseAddrSpec([]string{src}, nil), dst: parseAddrSpec([]string{dst}, nil), isDefault: true}
	}
	return [2][]*secRule{
		inbound: {
			mk("AllowVnetInBound", 65000, true, "VirtualNetwork", "VirtualNetwork"),
			mk("AllowAzureLoadBalancerInBound", 65001, true, "AzureLoadBalancer", "*"),
			mk("DenyAllInBound", 65500, false, "*", "*"),
		},
		outbound: {
			mk("AllowVnetOutBound", 65000, true, "VirtualNetwork", "VirtualNetwork"),
			mk("AllowInternetOutBound", 65001, true, "*", "Internet"),
			mk("DenyAllOutBound", 65500, false, "*", "*"),
		},
	}
}()

func parseNSG(r resource) (*nsg, error) {
	n := &nsg{id: r.id, name: r.name}
	for _, list := range []struct {
		rules    []obj
		defaults bool
	}{{r.props.list("securityRules"), false}, {r.props.list("defaultSecurityRules"), true}} {
		for _, x := range list.rules {
			rule, dir, err := parseRule(n.id, x, list.defaults)
			if err != nil {
				return nil, err
			}
			n.rules[dir] = append(n.rules[dir], rule)
		}
	}
	if len(r.props.list("defaultSecurityRules")) == 0 {
		n.rules[inbound] = append(n.rules[inbound], defaultRules[inbound]...)
		n.rules[outbound] = append(n.rules[outbound], defaultRules[outbound]...)
	}
	for dir := range n.rules {
		slices.SortStableFunc(n.rules[dir], func(a, b *secRule) int { return cmp.Compare(a.priority, b.priority) })
		sets := make([]graph.PortSet, len(n.rules[dir]))
		for i, r := range n.rules[dir] {
			sets[i] = r.ports
		}
		n.classes[dir] = portClasses(sets)
	}
	return n, nil
}

func parseRule(nsgID string, x obj, isDefault bool) (*secRule, direction, error) {
	p := x.props()
	rule := &secRule{id: x.str("id"), name: x.str("name"), priority: p.num("priority"), isDefault: isDefault}
	if rule.id == "" {
		rule.id = nsgID + "/securityRules/" + rule.name
	}
	access, dir := p.str("access"), p.str("direction")
	if access == "" || dir == "" {
		return nil, 0, fmt.Errorf("NSG rule %s: access and direction are required", rule.id)
	}
	rule.allow = strings.EqualFold(access, string(armnetwork.SecurityRuleAccessAllow))
	d := inbound
	if strings.EqualFold(dir, string(armnetwork.SecurityRuleDirectionOutbound)) {
		d = outbound
	}
	proto := p.str("protocol")
	if proto == "" {
		proto = "*"
	}
	rule.ports = parsePorts(proto, p.strAndList("destinationPortRange", "destinationPortRanges"))
	rule.src = parseAddrSpec(p.strAndList("sourceAddressPrefix", "sourceAddressPrefixes"), asgNames(p.list("sourceApplicationSecurityGroups")))
	rule.dst = parseAddrSpec(p.strAndList("destinationAddressPrefix", "destinationAddressPrefixes"), asgNames(p.list("destinationApplicationSecurityGroups")))
	return rule, d, nil
}

// verdictOf is what one NSG (or firewall) says about traffic between two address sets: the ports
// it lets through, the rules that let them, and what it could not decide.
type verdictOf struct {
	ports   graph.PortSet
	rules   []ruleHit
	unknown string
}

// ruleHit is a rule that let traffic through, and the NSG (or firewall) it belongs to.
type ruleHit struct {
	in   *nsg
	rule *secRule
}

// id is the rule's ARM id; shared default rules get their NSG's.
func (h ruleHit) id() string {
	if h.rule.id != "" {
		return h.rule.id
	}
	return h.in.id + "/defaultSecurityRules/" + h.rule.name
}

// eval applies the NSG's rules of one direction, class by class, in priority order: the first
// rule that matches a class's remaining traffic decides it. A deny rule takes its remote
// addresses out of the remaining set only when it covers all the local addresses; an allow rule
// lets the class through as soon as it meets any remaining address. So the result may admit
// traffic that an exact per-address evaluation would not, never the reverse.
func (n *nsg) eval(dir direction, local, remote []netip.Prefix, tag *prefixSet) verdictOf {
	var allowed, definite []graph.PortRange
	var out verdictOf
	for _, c := range n.classes[dir] {
		rest := remote
	rules:
		for _, r := range n.rules[dir] {
			if !contains(r.ports, c) {
				continue
			}
			localSpec, remoteSpec := r.dst, r.src
			if dir == outbound {
				localSpec, remoteSpec = r.src, r.dst
			}
			lc, lunk := localSpec.coverage(local, tag)
			if lc == graph.CoverNone && !lunk {
				continue
			}
			parts, runk := remoteSpec.resolve(rest, tag)
			if r.allow {
				if len(parts) == 0 && !runk {
					continue
				}
				allowed = append(allowed, c)
				if hit := (ruleHit{n, r}); !slices.Contains(out.rules, hit) {
					out.rules = append(out.rules, hit)
				}
				if len(parts) == 0 || lc == graph.CoverNone {
					out.unknown = fmt.Sprintf("%s rule %s of %s names %s, whose members are not in the snapshot", dir, r.name, n.id, strings.Join(slices.Concat(localSpec.unknown, remoteSpec.unknown), ", "))
				} else {
					definite = append(definite, c)
				}
				break rules
			}
			if lc != graph.CoverFull || lunk || runk || len(parts) == 0 {
				continue
			}
			rest = subtractAll(rest, parts)
			if len(rest) == 0 {
				break rules
			}
		}
	}
	out.ports = classSet(allowed)
	if len(definite) > 0 {
		out.unknown = ""
	}
	return out
}

// subtractAll removes holes from every range.
func subtractAll(ranges, holes []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range ranges {
		out = append(out, graph.Subtract(r, holes)...)
	}
	return out
}
