package netpol

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Address plans: where a scope's pods get their IPs. The analysis reads what real clusters
// publish and uses, for each pod endpoint, the most specific source that decides it:
//
//  1. the namespace's pool annotation: Calico's cni.projectcalico.org/ipv4pools (and ipv6pools),
//     pool names or CIDRs, or Cilium's ipam.cilium.io/ip-pool (ipv4-pool, ipv6-pool), a
//     CiliumPodIPPool name;
//  2. Cilium multi-pool IPAM without an annotation: the pool called "default";
//  3. Calico IPPools (crd.projectcalico.org/v1 or projectcalico.org/v3) whose namespaceSelector
//     matches the namespace and whose nodeSelector matches a node the scope's pods may run on;
//  4. Node.spec.podCIDRs of those nodes (a silo's own nodes, else the shared ones);
//  5. the environment's sharedCluster.podCIDR.
//
// Live pods' IPs are added to whatever range results. What none of these decide stays unknown.
const (
	annCalicoV4    = "cni.projectcalico.org/ipv4pools"
	annCalicoV6    = "cni.projectcalico.org/ipv6pools"
	annCilium      = "ipam.cilium.io/ip-pool"
	annCiliumV4    = "ipam.cilium.io/ipv4-pool"
	annCiliumV6    = "ipam.cilium.io/ipv6-pool"
	ciliumDefault  = "default"
	groupCalicoCRD = "crd.projectcalico.org"
	groupCalicoAPI = "projectcalico.org"
	groupCilium    = "cilium.io"
)

// Types of the IPAM objects, as finding resource types.
const (
	TypeCalicoIPPool    = groupCalicoCRD + "/v1/IPPool"
	TypeCalicoIPPoolV3  = groupCalicoAPI + "/v3/IPPool"
	TypeCiliumPodIPPool = groupCilium + "/v2alpha1/CiliumPodIPPool"
)

// ipPool is a Calico IPPool or a CiliumPodIPPool.
type ipPool struct {
	name, kind string
	cidrs      []netip.Prefix
	nodeSel    *calicoSelector // nil: every node
	nsSel      *calicoSelector // nil: every namespace
	problem    string
}

// ipam holds the snapshot's address plans.
type ipam struct {
	calico map[string]*ipPool // by name
	cilium map[string]*ipPool
	nodes  []nodeObj
	// nodeCIDRs are the Node podCIDRs by the nodes' tenant label ("" for shared nodes).
	nodeCIDRs map[string][]netip.Prefix
}

func (ip *ipam) read(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	switch {
	case gvk.Kind == "IPPool" && (gvk.Group == groupCalicoCRD || gvk.Group == groupCalicoAPI):
		if p := parseCalicoPool(u); p != nil {
			if ip.calico == nil {
				ip.calico = map[string]*ipPool{}
			}
			ip.calico[p.name] = p
		}
	case gvk.Kind == "CiliumPodIPPool" && gvk.Group == groupCilium:
		p := &ipPool{name: u.GetName(), kind: "CiliumPodIPPool"}
		for _, fam := range []string{"ipv4", "ipv6"} {
			cidrs, _, _ := unstructured.NestedStringSlice(u.Object, "spec", fam, "cidrs")
			for _, c := range cidrs {
				if q, err := graph.ParsePrefix(c); err == nil {
					p.cidrs = append(p.cidrs, q)
				}
			}
		}
		if ip.cilium == nil {
			ip.cilium = map[string]*ipPool{}
		}
		ip.cilium[p.name] = p
	default:
		return false
	}
	return true
}

func parseCalicoPool(u *unstructured.Unstructured) *ipPool {
	if off, _, _ := unstructured.NestedBool(u.Object, "spec", "disabled"); off {
		return nil
	}
	if uses, ok, _ := unstructured.NestedStringSlice(u.Object, "spec", "allowedUses"); ok && len(uses) > 0 && !slices.Contains(uses, "Workload") {
		return nil // a pool for tunnel addresses only
	}
	p := &ipPool{name: u.GetName(), kind: "Calico IPPool"}
	c, _, _ := unstructured.NestedString(u.Object, "spec", "cidr")
	q, err := graph.ParsePrefix(c)
	if err != nil {
		p.problem = fmt.Sprintf("Calico IPPool %s: spec.cidr %q: %v", p.name, c, err)
		return p
	}
	p.cidrs = []netip.Prefix{q}
	for _, f := range []struct {
		field string
		dst   **calicoSelector
	}{{"nodeSelector", &p.nodeSel}, {"namespaceSelector", &p.nsSel}} {
		expr, _, _ := unstructured.NestedString(u.Object, "spec", f.field)
		if strings.TrimSpace(expr) == "" {
			continue
		}
		sel, err := parseCalicoSelector(expr)
		if err != nil {
			// An unreadable selector could select anything: the pool stays a candidate.
			p.problem = fmt.Sprintf("Calico IPPool %s: spec.%s %q: %v; treated as selecting everything", p.name, f.field, expr, err)
			continue
		}
		*f.dst = sel
	}
	return p
}

// rangesFor returns where pods of owner in namespace n get addresses from, and which source
// decided it ("" and nil when none did).
func (ip *ipam) rangesFor(s *graph.Scope, n *namespace, owner string) ([]netip.Prefix, string) {
	if rs, how := ip.annotated(n); rs != nil {
		return rs, how
	}
	if len(ip.cilium) > 0 {
		if p := ip.cilium[ciliumDefault]; p != nil {
			return p.cidrs, "CiliumPodIPPool " + ciliumDefault + " (multi-pool IPAM, namespace not annotated)"
		}
	}
	nodes := ip.nodesOf(s, owner)
	if len(ip.calico) > 0 {
		var rs []netip.Prefix
		var names []string
		for _, name := range sortedKeys(ip.calico) {
			p := ip.calico[name]
			if p.nsSel != nil && !p.nsSel.matches(n.labels) {
				continue
			}
			if p.nodeSel != nil && len(ip.nodes) > 0 && !slices.ContainsFunc(nodes, func(nd nodeObj) bool { return p.nodeSel.matches(nd.labels) }) {
				continue
			}
			rs = append(rs, p.cidrs...)
			names = append(names, name)
		}
		if len(rs) > 0 {
			return graph.Merge(rs), fmt.Sprintf("Calico IPPools %s (their namespace and node selectors)", strings.Join(names, ", "))
		}
	}
	if rs := ip.nodeCIDRs[owner]; owner != "" && len(rs) > 0 {
		return rs, "podCIDRs of " + owner + "'s nodes"
	}
	if rs := ip.nodeCIDRs[""]; len(rs) > 0 {
		return rs, "podCIDRs of the shared nodes"
	}
	if s.PodCIDR.IsValid() {
		return []netip.Prefix{s.PodCIDR}, "the environment's sharedCluster.podCIDR"
	}
	return nil, ""
}

// annotated reads a namespace's pool annotation.
func (ip *ipam) annotated(n *namespace) ([]netip.Prefix, string) {
	var rs []netip.Prefix
	var from []string
	for _, key := range []string{annCalicoV4, annCalicoV6} {
		v := n.annotations[key]
		if v == "" {
			continue
		}
		var names []string
		if err := json.Unmarshal([]byte(v), &names); err != nil {
			return nil, ""
		}
		for _, name := range names {
			if q, err := graph.ParsePrefix(name); err == nil {
				rs = append(rs, q)
				continue
			}
			p := ip.calico[name]
			if p == nil {
				return nil, "" // a pool the snapshot lacks: this source cannot decide
			}
			rs = append(rs, p.cidrs...)
		}
		from = append(from, key+"="+v)
	}
	for _, key := range []string{annCilium, annCiliumV4, annCiliumV6} {
		v := n.annotations[key]
		if v == "" {
			continue
		}
		p := ip.cilium[v]
		if p == nil {
			return nil, ""
		}
		rs = append(rs, p.cidrs...)
		from = append(from, key+"="+v)
	}
	if len(from) == 0 {
		return nil, ""
	}
	return graph.Merge(rs), "namespace " + n.name + " annotation " + strings.Join(from, ", ")
}

// nodesOf are the nodes owner's pods may run on: its own when admission pins them there, the
// shared ones (no tenant label) otherwise.
func (ip *ipam) nodesOf(s *graph.Scope, owner string) []nodeObj {
	key := ""
	if dedicated(s, owner) {
		key = owner
	}
	var out []nodeObj
	for _, n := range ip.nodes {
		if n.labels[tenantplan.NodeLabelTenant] == key {
			out = append(out, n)
		}
	}
	return out
}

func dedicated(s *graph.Scope, owner string) bool {
	t := s.Tenant(owner)
	return t != nil && t.Modes[isolation.LayerCompute] == isolation.ComputeDedicatedNodePool
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
