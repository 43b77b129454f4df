package netpol

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Types of the objects the analysis reads, as finding resource types.
const (
	TypeNamespace     = "v1/Namespace"
	TypePod           = "v1/Pod"
	TypeNode          = "v1/Node"
	TypeNetworkPolicy = "networking.k8s.io/v1/NetworkPolicy"
)

// labelMetadataName is set by the API server on every namespace and cannot be changed by its
// owner; selectors by it are the only namespace selectors a tenant cannot satisfy by relabelling.
const labelMetadataName = "kubernetes.io/metadata.name"

type podObj struct {
	ns, name string
	// rawLabels are the pod's labels as the object holds them; most pods are never looked at
	// label by label, so they are not copied (see labels).
	rawLabels   map[string]any
	tenant      string
	ips         []netip.Addr
	hostNetwork bool
}

type nodeObj struct {
	name     string
	labels   map[string]string
	podCIDRs []netip.Prefix
	addrs    []netip.Addr
}

// policy is a parsed NetworkPolicy.
type policy struct {
	ns, name string
	sel      *selector
	ingress  bool
	egress   bool
	in, out  []rule
	ref      graph.ResourceRef
}

func (p *policy) resource() string { return TypeNetworkPolicy + " " + p.ns + "/" + p.name }

// rule is one ingress or egress rule; nil peers admit every peer.
type rule struct {
	idx   int
	peers []peer
	ports graph.PortSet
}

// peer is one from/to entry: pod and/or namespace selector, or an ipBlock.
type peer struct {
	idx   int
	pod   *selector // nil when absent
	ns    *selector // nil when absent
	block *ipBlock
}

func (p peer) String() string {
	switch {
	case p.block != nil:
		return "ipBlock " + p.block.text
	case p.ns != nil && p.pod != nil:
		return "namespaceSelector " + p.ns.text + " podSelector " + p.pod.text
	case p.ns != nil:
		return "namespaceSelector " + p.ns.text
	}
	return "podSelector " + p.pod.text
}

type ipBlock struct {
	cidr   netip.Prefix
	except []netip.Prefix
	// allowed is cidr without except, as prefixes.
	allowed []netip.Prefix
	text    string
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func list(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	return l
}

func stringMap(raw any) map[string]string {
	m, _ := raw.(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func parsePod(u *unstructured.Unstructured) podObj {
	p := podObj{ns: u.GetNamespace(), name: u.GetName()}
	p.rawLabels, _ = obj(u.Object, "metadata")["labels"].(map[string]any)
	p.tenant, _ = p.rawLabels[tenantplan.LabelTenant].(string)
	spec, status := obj(u.Object, "spec"), obj(u.Object, "status")
	p.hostNetwork, _ = spec["hostNetwork"].(bool)
	seen := map[netip.Addr]bool{}
	addIP := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil && !seen[a.Unmap()] {
			seen[a.Unmap()] = true
			p.ips = append(p.ips, a.Unmap())
		}
	}
	addIP(str(status, "podIP"))
	for _, item := range list(status, "podIPs") {
		if m, ok := item.(map[string]any); ok {
			addIP(str(m, "ip"))
		}
	}
	return p
}

// labels copies the pod's labels for selector matching.
func (p podObj) labels() map[string]string { return stringMap(p.rawLabels) }

func parseNode(u *unstructured.Unstructured) nodeObj {
	n := nodeObj{name: u.GetName(), labels: u.GetLabels()}
	spec, status := obj(u.Object, "spec"), obj(u.Object, "status")
	cidrs := []string{str(spec, "podCIDR")}
	for _, c := range list(spec, "podCIDRs") {
		if s, ok := c.(string); ok {
			cidrs = append(cidrs, s)
		}
	}
	for _, c := range cidrs {
		if p, err := graph.ParsePrefix(c); err == nil && c != "" && !slices.Contains(n.podCIDRs, p) {
			n.podCIDRs = append(n.podCIDRs, p)
		}
	}
	for _, item := range list(status, "addresses") {
		m, _ := item.(map[string]any)
		if str(m, "type") != "InternalIP" {
			continue
		}
		if a, err := netip.ParseAddr(str(m, "address")); err == nil {
			n.addrs = append(n.addrs, a.Unmap())
		}
	}
	return n
}

// parsePolicy reads a NetworkPolicy. policyTypes defaults as the API server defaults it: Ingress
// always, Egress when the policy has egress rules.
func parsePolicy(in interner, u *unstructured.Unstructured) (*policy, error) {
	p := &policy{ns: u.GetNamespace(), name: u.GetName()}
	p.ref = graph.ResourceRef{Provider: "kubernetes", Type: TypeNetworkPolicy, Namespace: p.ns, Name: p.name, ID: p.ns + "/" + p.name}
	spec := obj(u.Object, "spec")
	var err error
	if p.sel, err = parseSelector(in, spec["podSelector"]); err != nil {
		return nil, fmt.Errorf("podSelector: %w", err)
	}
	types, hasTypes := spec["policyTypes"].([]any)
	if hasTypes {
		for _, t := range types {
			switch t {
			case "Ingress":
				p.ingress = true
			case "Egress":
				p.egress = true
			default:
				return nil, fmt.Errorf("policyTypes: %v is not Ingress or Egress", t)
			}
		}
	} else {
		p.ingress, p.egress = true, len(list(spec, "egress")) > 0
	}
	if p.in, err = parseRules(in, list(spec, "ingress"), "from"); err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	if p.out, err = parseRules(in, list(spec, "egress"), "to"); err != nil {
		return nil, fmt.Errorf("egress: %w", err)
	}
	return p, nil
}

func parseRules(in interner, raw []any, peersKey string) ([]rule, error) {
	var out []rule
	for i, item := range raw {
		m, ok := item.(map[string]any)
		if !ok && item != nil {
			return nil, fmt.Errorf("rule %d is %T, not an object", i, item)
		}
		r := rule{idx: i}
		ports, err := parsePorts(list(m, "ports"))
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
		r.ports = ports
		for j, pr := range list(m, peersKey) {
			p, err := parsePeer(in, pr)
			if err != nil {
				return nil, fmt.Errorf("rule %d %s[%d]: %w", i, peersKey, j, err)
			}
			p.idx = j
			r.peers = append(r.peers, p)
		}
		out = append(out, r)
	}
	return out, nil
}

func parsePeer(in interner, raw any) (peer, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return peer{}, fmt.Errorf("peer is %T, not an object", raw)
	}
	var p peer
	if b, ok := m["ipBlock"]; ok && b != nil {
		if len(m) > 1 && (m["podSelector"] != nil || m["namespaceSelector"] != nil) {
			return peer{}, fmt.Errorf("ipBlock cannot be combined with selectors")
		}
		blk, err := parseIPBlock(b)
		if err != nil {
			return peer{}, err
		}
		p.block = blk
		return p, nil
	}
	var err error
	if raw, ok := m["podSelector"]; ok && raw != nil {
		if p.pod, err = parseSelector(in, raw); err != nil {
			return peer{}, fmt.Errorf("podSelector: %w", err)
		}
	}
	if raw, ok := m["namespaceSelector"]; ok && raw != nil {
		if p.ns, err = parseSelector(in, raw); err != nil {
			return peer{}, fmt.Errorf("namespaceSelector: %w", err)
		}
	}
	if p.pod == nil && p.ns == nil {
		return peer{}, fmt.Errorf("peer has neither podSelector, namespaceSelector nor ipBlock")
	}
	return p, nil
}

func parseIPBlock(raw any) (*ipBlock, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("ipBlock is %T, not an object", raw)
	}
	cidr, err := graph.ParsePrefix(str(m, "cidr"))
	if err != nil {
		return nil, fmt.Errorf("ipBlock: %w", err)
	}
	b := &ipBlock{cidr: cidr, text: cidr.String()}
	for _, e := range list(m, "except") {
		s, _ := e.(string)
		p, err := graph.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("ipBlock except: %w", err)
		}
		b.except = append(b.except, p)
	}
	if len(b.except) > 0 {
		parts := make([]string, len(b.except))
		for i, e := range b.except {
			parts[i] = e.String()
		}
		b.text += " except " + fmt.Sprint(parts)
	}
	b.allowed = graph.Subtract(cidr, b.except)
	return b, nil
}

// parsePorts reads NetworkPolicyPort entries; no entries means every port.
func parsePorts(raw []any) (graph.PortSet, error) {
	if len(raw) == 0 {
		return graph.AllPorts(), nil
	}
	var rs []graph.PortRange
	for i, item := range raw {
		m, _ := item.(map[string]any)
		proto := str(m, "protocol")
		if proto == "" {
			proto = "TCP"
		}
		r := graph.PortRange{Protocol: proto}
		switch port := m["port"].(type) {
		case nil:
		case string:
			if n, err := strconv.Atoi(port); err == nil {
				r.From, r.To = int32(n), int32(n)
			} else {
				r.Name = port
			}
		default:
			n, err := toInt(port)
			if err != nil {
				return graph.PortSet{}, fmt.Errorf("ports[%d].port: %w", i, err)
			}
			r.From, r.To = n, n
		}
		if end, ok := m["endPort"]; ok && end != nil {
			n, err := toInt(end)
			if err != nil {
				return graph.PortSet{}, fmt.Errorf("ports[%d].endPort: %w", i, err)
			}
			if r.From == 0 || n < r.From {
				return graph.PortSet{}, fmt.Errorf("ports[%d]: endPort %d needs a numeric port not above it", i, n)
			}
			r.To = n
		}
		rs = append(rs, r)
	}
	return graph.Ports(rs...), nil
}

func toInt(v any) (int32, error) {
	switch n := v.(type) {
	case int64:
		return int32(n), nil
	case int:
		return int32(n), nil
	case int32:
		return n, nil
	case float64:
		return int32(n), nil
	case json.Number:
		i, err := n.Int64()
		return int32(i), err
	}
	return 0, fmt.Errorf("%v is %T, not a number", v, v)
}
