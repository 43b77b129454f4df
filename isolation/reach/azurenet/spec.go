package azurenet

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// addrSpec is the address side of an NSG or firewall rule.
type addrSpec struct {
	any      bool
	prefixes []netip.Prefix
	// vnetTag is the VirtualNetwork service tag, resolved where the rule is evaluated.
	vnetTag bool
	// tags are other service tags. They name Azure's and the internet's public ranges, never a
	// tenant's private range, so they match no tenant.
	tags []string
	// unknown names what the snapshot cannot resolve: application security groups, IP groups,
	// FQDNs.
	unknown []string
	text    string
}

// parseAddrSpec reads address tokens: "*" / "Any", CIDRs, addresses, inclusive ranges "a-b"
// (firewall), and service tags.
func parseAddrSpec(tokens []string, unknown []string) addrSpec {
	sp := addrSpec{unknown: unknown}
	var text []string
	for _, tok := range tokens {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		text = append(text, tok)
		switch {
		case tok == "*" || strings.EqualFold(tok, "Any"):
			sp.any = true
		case strings.EqualFold(tok, "VirtualNetwork"):
			sp.vnetTag = true
		default:
			if p, err := graph.ParsePrefix(tok); err == nil {
				if p.Bits() == 0 {
					sp.any = true
				}
				sp.prefixes = append(sp.prefixes, p)
				continue
			}
			if lo, hi, ok := strings.Cut(tok, "-"); ok {
				a, errA := netip.ParseAddr(strings.TrimSpace(lo))
				z, errZ := netip.ParseAddr(strings.TrimSpace(hi))
				if errA == nil && errZ == nil {
					sp.prefixes = append(sp.prefixes, graph.RangePrefixes(a, z)...)
					continue
				}
			}
			sp.tags = append(sp.tags, tok)
		}
	}
	text = append(text, unknown...)
	sp.prefixes = graph.Merge(sp.prefixes)
	sp.text = strings.Join(text, ",")
	if sp.text == "" {
		sp.text = "(none)"
	}
	return sp
}

// prefixSet is a set of ranges backed by a trie, for sets as large as a hub's VirtualNetwork tag
// (its own space plus every peered spoke).
type prefixSet struct {
	trie graph.Table[struct{}]
}

func newPrefixSet(ps ...[]netip.Prefix) *prefixSet {
	set := &prefixSet{}
	for _, list := range ps {
		for _, p := range list {
			set.trie.Insert(p, struct{}{})
		}
	}
	return set
}

// intersect returns the parts of r inside the set.
func (p *prefixSet) intersect(r netip.Prefix) []netip.Prefix {
	if p == nil {
		return nil
	}
	covered := false
	p.trie.Covering(r, func(netip.Prefix, struct{}) bool { covered = true; return false })
	if covered {
		return []netip.Prefix{graph.Canon(r)}
	}
	var out []netip.Prefix
	p.trie.Within(r, func(q netip.Prefix, _ struct{}) bool { out = append(out, q); return true })
	return graph.Merge(out)
}

// resolve returns the parts of ranges the spec names, and whether an unresolvable part (an ASG,
// an IP group) might name more.
func (sp addrSpec) resolve(ranges []netip.Prefix, tag *prefixSet) ([]netip.Prefix, bool) {
	if sp.any {
		return ranges, false
	}
	var out []netip.Prefix
	for _, r := range ranges {
		out = append(out, graph.Intersect(r, sp.prefixes)...)
		if sp.vnetTag {
			out = append(out, tag.intersect(r)...)
		}
	}
	return graph.Merge(out), len(sp.unknown) > 0
}

// coverage says how much of ranges the spec names.
func (sp addrSpec) coverage(ranges []netip.Prefix, tag *prefixSet) (graph.Coverage, bool) {
	parts, unknown := sp.resolve(ranges, tag)
	if len(parts) == 0 {
		return graph.CoverNone, unknown
	}
	for _, r := range ranges {
		if graph.Cover(r, parts) != graph.CoverFull {
			return graph.CoverPartial, unknown
		}
	}
	return graph.CoverFull, unknown
}

// protocols a port class can carry; ports apply to TCP and UDP only.
var protocols = []string{"TCP", "UDP", "ICMP", "ESP", "AH"}

// parsePorts combines a protocol ("*", "Tcp", "Any", ...) with destination port tokens ("*",
// "443", "8000-8080").
func parsePorts(protocol string, ports []string) graph.PortSet {
	proto := strings.ToUpper(protocol)
	if proto == "*" || proto == "ANY" {
		proto = ""
	}
	var rs []graph.PortRange
	for _, p := range ports {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p == "*" || proto == "ICMP" || proto == "ESP" || proto == "AH" {
			rs = append(rs, graph.PortRange{Protocol: proto})
			continue
		}
		lo, hi, isRange := strings.Cut(p, "-")
		from, err1 := strconv.Atoi(lo)
		to := from
		var err2 error
		if isRange {
			to, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || from < 0 || to < from || to > 65535 {
			// An unreadable port cannot narrow the rule: read it as every port.
			rs = append(rs, graph.PortRange{Protocol: proto})
			continue
		}
		if from == 0 {
			from = 1
		}
		rs = append(rs, graph.PortRange{Protocol: proto, From: int32(from), To: int32(to)})
	}
	if len(rs) == 0 {
		rs = append(rs, graph.PortRange{Protocol: proto})
	}
	return graph.Ports(rs...)
}

// portClasses splits the protocol/port space at every boundary the rules use, so each class is
// either wholly inside or wholly outside every rule and rules can be evaluated class by class.
func portClasses(sets []graph.PortSet) []graph.PortRange {
	if !slices.ContainsFunc(sets, func(s graph.PortSet) bool { return !s.IsAll() }) {
		return []graph.PortRange{{}}
	}
	var out []graph.PortRange
	for _, proto := range protocols {
		if proto != "TCP" && proto != "UDP" {
			out = append(out, graph.PortRange{Protocol: proto})
			continue
		}
		cuts := []int32{1, 65536}
		for _, s := range sets {
			for _, r := range s.Ranges {
				if (r.Protocol == "" || r.Protocol == proto) && r.From > 0 {
					cuts = append(cuts, r.From, r.To+1)
				}
			}
		}
		slices.Sort(cuts)
		cuts = slices.Compact(cuts)
		for i := 0; i+1 < len(cuts); i++ {
			out = append(out, graph.PortRange{Protocol: proto, From: cuts[i], To: cuts[i+1] - 1})
		}
	}
	return out
}

// contains reports whether class c lies inside set.
func contains(set graph.PortSet, c graph.PortRange) bool {
	for _, r := range set.Ranges {
		if r.Protocol != "" && r.Protocol != c.Protocol {
			continue
		}
		if r.From == 0 {
			if r.Protocol == "" && c.Protocol == "" || c.Protocol != "" {
				return true
			}
			continue
		}
		if c.From > 0 && r.From <= c.From && c.To <= r.To {
			return true
		}
	}
	return false
}

// classSet turns allowed classes back into a port set, "all" when every class of every protocol
// is in it.
func classSet(classes []graph.PortRange) graph.PortSet {
	set := graph.Ports(classes...)
	if set.IsAll() {
		return set
	}
	for _, proto := range protocols {
		want := graph.PortRange{Protocol: proto}
		if proto == "TCP" || proto == "UDP" {
			want = graph.PortRange{Protocol: proto, From: 1, To: 65535}
		}
		if !slices.Contains(set.Ranges, want) && !slices.Contains(set.Ranges, graph.PortRange{Protocol: proto}) {
			return set
		}
	}
	return graph.AllPorts()
}
