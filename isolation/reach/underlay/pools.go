package underlay

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// ARM types of a managed cluster and of its agent pools listed as resources of their own.
const (
	TypeManagedCluster = azurenet.TypeManagedCluster
	TypeAgentPool      = "Microsoft.ContainerService/managedClusters/agentPools"
)

// Node labels that name a node's agent pool: AKS's, and the one older clusters carry.
var agentPoolLabels = []string{"kubernetes.azure.com/agentpool", "agentpool"}

// pool is one node pool of the environment's cluster.
type pool struct {
	name    string
	cluster string
	// tenant is the tenant the pool is dedicated to (its node label or taint, or its name
	// following tenantplan.AgentPoolName); "" for a shared pool.
	tenant    string
	dedicated string // how tenant was decided, for evidence
	// subnet is where the pool's pods' traffic leaves from: the pod subnet (Azure CNI with
	// dynamic pod IPs) or the nodes' subnet.
	subnet, subnetField string
	nodes               []node
}

type node struct {
	name   string
	labels map[string]string
	ips    []netip.Addr
}

// placement is one subnet a party's pods may send from, and why.
type placement struct {
	subnet string
	how    string
	// frontendOnly: only the internal load balancer frontends in the subnet lead to the pods.
	frontendOnly bool
}

// pools is every node pool found for the environment's cluster, and the nodes no pool claims.
type pools struct {
	list     []*pool
	orphans  []node // nodes whose agent pool is not in the snapshot
	clusters []string
	net      *azurenet.Network
	scope    *graph.Scope
	// cache holds of's answers by owner ("" for every party on the shared pools).
	cache map[string]placements
}

type placements struct {
	list []placement
	why  string
}

// readPools finds the environment's node pools: the managed cluster's agent pool profiles and
// agent pool resources (their subnets), and the Node objects (their agent pool label, their
// tenant label and their addresses).
func readPools(s *graph.Scope, snap *inventory.Snapshot, net *azurenet.Network) (*pools, error) {
	ps := &pools{net: net, scope: s, cache: map[string]placements{}}
	byName := map[string]*pool{}
	get := func(cluster, name string) *pool {
		key := strings.ToLower(name)
		if p := byName[key]; p != nil {
			return p
		}
		p := &pool{name: name, cluster: cluster}
		byName[key] = p
		ps.list = append(ps.list, p)
		return p
	}
	want := s.Env.Spec.SharedCluster.Name
	for _, r := range snap.Azure {
		switch {
		case strings.EqualFold(r.Type, TypeManagedCluster):
			if want != "" && !strings.EqualFold(r.Name, want) {
				continue
			}
			props, err := properties(r)
			if err != nil {
				return nil, err
			}
			ps.clusters = append(ps.clusters, r.Name)
			profiles, _ := props["agentPoolProfiles"].([]any)
			for _, x := range profiles {
				m, _ := x.(map[string]any)
				name, _ := m["name"].(string)
				if name != "" {
					get(r.Name, name).read(m, "agentPoolProfiles")
				}
			}
		case strings.EqualFold(r.Type, TypeAgentPool):
			cluster := azurenet.IDSegment(r.ID, "managedClusters")
			if want != "" && !strings.EqualFold(cluster, want) {
				continue
			}
			props, err := properties(r)
			if err != nil {
				return nil, err
			}
			name := r.Name
			if i := strings.LastIndex(name, "/"); i >= 0 {
				name = name[i+1:]
			}
			get(cluster, name).read(props, "agentPools/"+name)
		}
	}
	for i := range snap.Kubernetes {
		u := &snap.Kubernetes[i]
		if u.GetKind() != "Node" || u.GroupVersionKind().Group != "" {
			continue
		}
		n := parseNode(u)
		name := ""
		for _, l := range agentPoolLabels {
			if name = n.labels[l]; name != "" {
				break
			}
		}
		if p := byName[strings.ToLower(name)]; name != "" && p != nil {
			p.nodes = append(p.nodes, n)
			continue
		}
		if name != "" && len(ps.clusters) == 0 {
			// No managed cluster in the snapshot: the nodes' pool label still groups them.
			p := get("", name)
			p.nodes = append(p.nodes, n)
			continue
		}
		ps.orphans = append(ps.orphans, n)
	}
	for _, p := range ps.list {
		p.owner(s)
	}
	slices.SortFunc(ps.list, func(a, b *pool) int { return cmp.Compare(a.name, b.name) })
	return ps, nil
}

func properties(r inventory.AzureResource) (map[string]any, error) {
	if r.Properties != nil || len(r.Raw) == 0 {
		return r.Properties, nil
	}
	var env struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(r.Raw, &env); err != nil {
		return nil, fmt.Errorf("azure resource %s (%s): %w", r.ID, r.Type, err)
	}
	return env.Properties, nil
}

// read takes a pool's subnets, labels and taints from an agent pool profile or resource.
func (p *pool) read(m map[string]any, field string) {
	for _, k := range []string{"podSubnetID", "vnetSubnetID"} {
		if id, _ := m[k].(string); id != "" {
			p.subnet, p.subnetField = id, field+"."+k
			break
		}
	}
	if labels, ok := m["nodeLabels"].(map[string]any); ok {
		if t, _ := labels[tenantplan.NodeLabelTenant].(string); t != "" {
			p.tenant, p.dedicated = t, fmt.Sprintf("node label %s=%s", tenantplan.NodeLabelTenant, t)
		}
	}
	taints, _ := m["nodeTaints"].([]any)
	for _, x := range taints {
		s, _ := x.(string)
		kv, _, _ := strings.Cut(s, ":")
		if k, v, ok := strings.Cut(kv, "="); ok && k == tenantplan.NodeLabelTenant && p.tenant == "" {
			p.tenant, p.dedicated = v, "node taint "+s
		}
	}
}

// owner decides whom a pool is dedicated to when its profile does not say: its nodes' tenant
// label, or its name as tenantplan names a tenant's pool.
func (p *pool) owner(s *graph.Scope) {
	if p.tenant != "" {
		return
	}
	for _, n := range p.nodes {
		if t := n.labels[tenantplan.NodeLabelTenant]; t != "" {
			p.tenant, p.dedicated = t, fmt.Sprintf("its node %s carries %s=%s", n.name, tenantplan.NodeLabelTenant, t)
			return
		}
	}
	for _, id := range s.TenantIDs() {
		if strings.EqualFold(p.name, tenantplan.AgentPoolName(id)) {
			p.tenant, p.dedicated = id, "its name is "+id+"'s agent pool name"
			return
		}
	}
}

func parseNode(u *unstructured.Unstructured) node {
	n := node{name: u.GetName(), labels: u.GetLabels()}
	addrs, _, _ := unstructured.NestedSlice(u.Object, "status", "addresses")
	for _, x := range addrs {
		m, _ := x.(map[string]any)
		if t, _ := m["type"].(string); t != "InternalIP" {
			continue
		}
		s, _ := m["address"].(string)
		if a, err := netip.ParseAddr(s); err == nil {
			n.ips = append(n.ips, a.Unmap())
		}
	}
	return n
}

// dedicatedTo reports whether admission pins owner's pods to its own nodes: its compute layer is
// a dedicated node pool (tenantplan's silo node pinning policy).
func dedicatedTo(s *graph.Scope, owner string) bool {
	t := s.Tenant(owner)
	return t != nil && t.Modes[isolation.LayerCompute] == isolation.ComputeDedicatedNodePool
}

// of returns the subnets owner's pods may send from: its own pools' when admission pins its pods
// to them, the shared pools' otherwise; and, when there is none, why.
func (ps *pools) of(owner string) ([]placement, string) {
	key := ""
	if dedicatedTo(ps.scope, owner) {
		key = owner
	}
	c, ok := ps.cache[key]
	if !ok {
		c.list, c.why = ps.find(owner)
		ps.cache[key] = c
	}
	return c.list, c.why
}

func (ps *pools) find(owner string) ([]placement, string) {
	pinned := dedicatedTo(ps.scope, owner)
	var out []placement
	var why []string
	for _, p := range ps.list {
		switch {
		case pinned && p.tenant != owner, !pinned && p.tenant != "":
			continue
		}
		scope := "a shared pool, where every party without a dedicated node pool runs"
		if pinned {
			scope = fmt.Sprintf("dedicated to %s (%s), where admission policy %s pins its pods", owner, p.dedicated, tenantplan.PolicySiloNodePinning)
		}
		where := "agent pool " + p.name
		if p.cluster != "" {
			where += " of cluster " + p.cluster
		}
		if p.subnet != "" {
			if _, ok := ps.net.Subnet(p.subnet); ok {
				out = append(out, placement{subnet: p.subnet, how: fmt.Sprintf("%s is %s; its pods' traffic leaves from subnet %s (%s)", where, scope, p.subnet, p.subnetField)})
				continue
			}
			why = append(why, fmt.Sprintf("%s: subnet %s is not in the snapshot", where, p.subnet))
			continue
		}
		found := false
		for _, n := range p.nodes {
			for _, ip := range n.ips {
				if sn, ok := ps.net.SubnetOf(ip); ok {
					out = append(out, placement{subnet: sn.ID, how: fmt.Sprintf("%s is %s; its node %s (%s) is in subnet %s", where, scope, n.name, ip, sn.ID)})
					found = true
				}
			}
		}
		if !found {
			why = append(why, where+": no subnet in its profile, and none of its nodes' addresses lies in a subnet of the snapshot")
		}
	}
	for _, n := range ps.orphans {
		t := n.labels[tenantplan.NodeLabelTenant]
		if pinned && t != owner || !pinned && t != "" {
			continue
		}
		for _, ip := range n.ips {
			if sn, ok := ps.net.SubnetOf(ip); ok {
				out = append(out, placement{subnet: sn.ID, how: fmt.Sprintf("node %s (%s=%q), in no agent pool of the snapshot, is in subnet %s", n.name, tenantplan.NodeLabelTenant, t, sn.ID)})
			}
		}
	}
	slices.SortFunc(out, func(a, b placement) int { return cmp.Compare(a.subnet, b.subnet) })
	out = slices.CompactFunc(out, func(a, b placement) bool { return a.subnet == b.subnet })
	if len(out) > 0 {
		return out, ""
	}
	whose := "the shared node pools' pods send from"
	if pinned {
		whose = owner + "'s pods send from (its dedicated node pool)"
	}
	reason := fmt.Sprintf("the subnet %s cannot be determined: no managed cluster agent pool profile, agent pool or Node object of the snapshot places it", whose)
	if len(why) > 0 {
		reason += "; " + strings.Join(why, "; ")
	}
	return nil, reason
}
