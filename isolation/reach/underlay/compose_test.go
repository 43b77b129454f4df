package underlay_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	f "github.com/connectsoft/tenantctl/isolation/reach/internal/fixture"
	"github.com/connectsoft/tenantctl/isolation/reach/underlay"
	"github.com/connectsoft/tenantctl/tenantplan"
)

func bindings() []*isolation.RuntimeTenantBinding {
	return []*isolation.RuntimeTenantBinding{
		f.Binding("acme", isolation.TierSilo, "10.20.0.0/16"),
		f.Binding("globex", isolation.TierSilo, "10.30.0.0/16"),
		f.Binding("hooli", isolation.TierPool, ""),
	}
}

// world is the fixture hub and spokes (acme and globex), with hub subnets for the shared node
// pool (10.16.2.0/25) and for node pools placed in the hub (pool-acme 10.16.2.128/25,
// pool-globex 10.16.3.0/24), and the Kubernetes objects the plans create.
type world struct {
	t     *testing.T
	net   *f.Net
	kube  []unstructured.Unstructured
	pools []any
	extra []inventory.AzureResource
}

func newWorld(t *testing.T) *world {
	n := f.HubSpoke(map[string]string{"acme": "10.20.0.0/16", "globex": "10.30.0.0/16"})
	hub := n.VNet("hub")
	for _, s := range [][2]string{{"aks-shared", "10.16.2.0/25"}, {"pool-acme", "10.16.2.128/25"}, {"pool-globex", "10.16.3.0/24"}} {
		hub.Properties.Subnets = append(hub.Properties.Subnets, &armnetwork.Subnet{ID: to.Ptr(f.VNetID("hub") + "/subnets/" + s[0]), Name: to.Ptr(s[0]),
			Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr(s[1])}})
	}
	snap, err := reach.PlannedSnapshot(f.Env("kubernetes"), bindings())
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, net: n, kube: snap.Kubernetes}
}

func subnetID(vnet, sub string) string { return f.VNetID(vnet) + "/subnets/" + sub }

// pool adds an agent pool profile to the cluster; tenant "" is a shared pool.
func (w *world) pool(name, tenant, subnet string) {
	p := map[string]any{"name": name, "mode": "User", "vnetSubnetID": subnet}
	if tenant != "" {
		p["nodeLabels"] = map[string]any{tenantplan.NodeLabelTenant: tenant}
		p["nodeTaints"] = []any{tenantplan.NodePoolTaint(tenant)}
	}
	w.pools = append(w.pools, p)
}

func (w *world) policy(ns, name string, spec map[string]any) {
	w.kube = append(w.kube, f.Policy(ns, name, spec))
}

func egressTo(cidr string, port int64) map[string]any {
	return map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
		"egress": []any{map[string]any{"to": []any{map[string]any{"ipBlock": map[string]any{"cidr": cidr}}},
			"ports": []any{map[string]any{"protocol": "TCP", "port": port}}}}}
}

func ingressFrom(cidr string, port int64) map[string]any {
	return map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"},
		"ingress": []any{map[string]any{"from": []any{map[string]any{"ipBlock": map[string]any{"cidr": cidr}}},
			"ports": []any{map[string]any{"protocol": "TCP", "port": port}}}}}
}

func (w *world) analyze() *reach.Graph {
	w.t.Helper()
	az := w.net.Resources()
	if w.pools != nil {
		az = append(az, inventory.AzureResource{ID: f.ID("rg-aks-test", underlay.TypeManagedCluster, "aks"), Name: "aks", Type: underlay.TypeManagedCluster,
			Properties: map[string]any{"agentPoolProfiles": w.pools, "networkProfile": map[string]any{"networkPlugin": "azure", "networkPluginMode": "overlay"}}})
	}
	g, err := reach.Analyze(context.Background(), f.Env("azure"), bindings(), f.Snapshot(w.kube, append(az, w.extra...)...))
	if err != nil {
		w.t.Fatal(err)
	}
	return g
}

// edges lists from→to edges as "verdict kind ports".
func edges(g *reach.Graph, from, to string) []string {
	var out []string
	for _, e := range g.Edges {
		if e.From == from && e.To == to {
			out = append(out, string(e.Verdict)+" "+string(e.Kind)+" "+e.Ports.String())
		}
	}
	return out
}

func edge(t *testing.T, g *reach.Graph, from, to string, kind reach.EdgeKind) reach.Edge {
	t.Helper()
	for _, e := range g.Edges {
		if e.From == from && e.To == to && e.Kind == kind {
			return e
		}
	}
	t.Fatalf("no %s edge %s → %s; have %v", kind, from, to, g.Edges)
	return reach.Edge{}
}

// stepKinds are the kinds of an edge's evidence steps, in order, without repeats.
func stepKinds(e reach.Edge) []string {
	var out []string
	for _, st := range e.Evidence {
		if len(out) == 0 || out[len(out)-1] != st.Kind {
			out = append(out, st.Kind)
		}
	}
	return out
}

// TestSiloPoolInItsVNet: acme's pods are pinned to its pool in its own VNet's nodes subnet,
// whose route table sends everything to the hub firewall. Its NetworkPolicy lets them out to
// globex's VNet, which NetworkPolicy alone would call a route; the firewall refuses it, so there
// is none until the firewall allows it, and then the edge holds both layers' hops.
func TestSiloPoolInItsVNet(t *testing.T) {
	w := newWorld(t)
	w.pool("system", "", subnetID("hub", "aks-shared"))
	w.pool(tenantplan.AgentPoolName("acme"), "acme", subnetID("acme", "nodes"))
	w.policy("t-acme", "to-globex-vnet", egressTo("10.30.0.0/16", 5432))
	if got := edges(w.analyze(), "acme", "globex"); len(got) != 0 {
		t.Fatalf("the hub firewall refuses acme → globex, yet: %v", got)
	}

	fw := w.net.Firewalls[0]
	fw.Properties.NetworkRuleCollections = append(fw.Properties.NetworkRuleCollections,
		f.RuleCollection("acme-to-globex", 200, true, f.FirewallRule("pg", "10.20.0.0/16", "10.30.0.0/16", "TCP", "5432")))
	g := w.analyze()
	// The firewall rule also opens acme's VNet to globex's by itself (the Azure analysis' edge).
	if diff := cmp.Diff([]string{"unexpected firewall TCP/5432", "unexpected node-subnet TCP/5432"}, edges(g, "acme", "globex")); diff != "" {
		t.Fatalf("acme → globex (-want +got):\n%s", diff)
	}
	e := edge(t, g, "acme", "globex", reach.KindNodeSubnet)
	want := []string{"owner", "networkpolicy", "address", "owner", "node-pool", "nsg", "route", "peering", "firewall", "peering", "nsg", "ports"}
	if diff := cmp.Diff(want, stepKinds(e)); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	opens := map[string]bool{}
	for _, st := range e.Evidence {
		if st.Opens {
			opens[st.Kind] = true
		}
	}
	if !opens["networkpolicy"] || !opens["firewall"] {
		t.Errorf("both layers' openers should be marked: %v", opens)
	}
}

// TestSiloPoolInTheHub: acme's pool sits in a hub subnet. From there the hub's peering with
// globex carries the traffic and globex's NSG admits the VirtualNetwork tag, so acme's
// NetworkPolicy egress to globex's nodes subnet completes a route; globex denying acme's pool
// subnet closes it.
func TestSiloPoolInTheHub(t *testing.T) {
	w := newWorld(t)
	w.pool("system", "", subnetID("hub", "aks-shared"))
	w.pool(tenantplan.AgentPoolName("acme"), "acme", subnetID("hub", "pool-acme"))
	w.policy("t-acme", "to-globex-nodes", egressTo("10.30.0.0/22", 5432))
	g := w.analyze()
	if diff := cmp.Diff([]string{"unexpected node-subnet TCP/5432"}, edges(g, "acme", "globex")); diff != "" {
		t.Fatalf("acme → globex (-want +got):\n%s", diff)
	}
	e := edge(t, g, "acme", "globex", reach.KindNodeSubnet)
	if !slices.ContainsFunc(e.Evidence, func(st reach.EvidenceStep) bool {
		return st.Kind == "node-pool" && strings.Contains(st.Detail, "pool-acme") && strings.Contains(st.Detail, "admission policy")
	}) {
		t.Errorf("evidence does not name the pinned pool in the hub: %v", e.Evidence)
	}

	nsg := w.net.NSGNamed("nsg-globex")
	nsg.Properties.SecurityRules = append(nsg.Properties.SecurityRules,
		f.Rule(*nsg.ID, "deny-hub-pools", 100, "Deny", "Inbound", "*", "10.16.2.128/25", "*", "*"))
	if got := edges(w.analyze(), "acme", "globex"); len(got) != 0 {
		t.Fatalf("globex's NSG denies acme's pool subnet, yet: %v", got)
	}
}

// TestSharedPoolsCarryPoolTenants: hooli (pool tier) runs on the shared pools; from the shared
// pool's hub subnet its egress to acme's VNet crosses the hub peering. Without the managed
// cluster in the snapshot, Node objects place the pool by their addresses; without either the
// edge is unknown.
func TestSharedPoolsCarryPoolTenants(t *testing.T) {
	w := newWorld(t)
	w.policy("t-hooli", "to-acme-vnet", egressTo("10.20.0.0/16", 443))

	if diff := cmp.Diff([]string{"unknown node-subnet TCP/443"}, edges(w.analyze(), "hooli", "acme")); diff != "" {
		t.Fatalf("without node pools (-want +got):\n%s", diff)
	}
	e := edge(t, w.analyze(), "hooli", "acme", reach.KindNodeSubnet)
	if !strings.Contains(e.Reason, "cannot be determined") {
		t.Errorf("reason %q does not say the node subnet is unknown", e.Reason)
	}

	w.kube = append(w.kube, f.Node("aks-system-0", f.Labels("kubernetes.azure.com/agentpool=system"), "10.16.2.10", "10.244.0.0/24"))
	if diff := cmp.Diff([]string{"unexpected node-subnet TCP/443"}, edges(w.analyze(), "hooli", "acme")); diff != "" {
		t.Fatalf("shared pool placed by its node (-want +got):\n%s", diff)
	}

	w.pool("system", "", subnetID("hub", "aks-shared"))
	w.pool(tenantplan.AgentPoolName("acme"), "acme", subnetID("acme", "nodes"))
	if diff := cmp.Diff([]string{"unexpected node-subnet TCP/443"}, edges(w.analyze(), "hooli", "acme")); diff != "" {
		t.Fatalf("shared pool from the agent pool profile (-want +got):\n%s", diff)
	}
}

// TestVNetReachesPods: globex admits acme's VNet on TCP 443. acme's traffic to globex's nodes
// goes to the hub firewall, which refuses it: no route while globex's pool is in its own VNet.
// An internal load balancer of globex's namespace with its frontend in a hub subnet opens one
// (acme reaches the hub over its peering), and so does globex's pool placed in the hub.
func TestVNetReachesPods(t *testing.T) {
	w := newWorld(t)
	// Only acme's nodes subnet sends: its endpoints subnet would reach the hub over the peering.
	w.net.VNet("acme").Properties.Subnets = w.net.VNet("acme").Properties.Subnets[:1]
	w.pool("system", "", subnetID("hub", "aks-shared"))
	w.pool(tenantplan.AgentPoolName("globex"), "globex", subnetID("globex", "nodes"))
	w.policy("t-globex", "from-acme-vnet", ingressFrom("10.20.0.0/16", 443))
	if got := edges(w.analyze(), "acme", "globex"); len(got) != 0 {
		t.Fatalf("the firewall refuses acme → globex's nodes, yet: %v", got)
	}

	ilb := f.Service("t-globex", "api-internal", "10.16.3.20")
	w.kube = append(w.kube, ilb)
	g := w.analyze()
	if diff := cmp.Diff([]string{"unexpected node-subnet TCP/443"}, edges(g, "acme", "globex")); diff != "" {
		t.Fatalf("through the internal load balancer (-want +got):\n%s", diff)
	}
	e := edge(t, g, "acme", "globex", reach.KindNodeSubnet)
	if diff := cmp.Diff([]string{"node-pool", "nsg", "route", "peering", "nsg", "owner", "address", "networkpolicy", "owner", "ports"}, stepKinds(e)); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}

	w.kube = w.kube[:len(w.kube)-1]
	w.pools = w.pools[:1]
	w.pool(tenantplan.AgentPoolName("globex"), "globex", subnetID("hub", "pool-globex"))
	if diff := cmp.Diff([]string{"unexpected node-subnet TCP/443"}, edges(w.analyze(), "acme", "globex")); diff != "" {
		t.Fatalf("globex's pool in the hub (-want +got):\n%s", diff)
	}
}

// TestKubernetesTargetIsUnchanged: without a network under the cluster NetworkPolicy alone
// decides, as before.
func TestKubernetesTargetIsUnchanged(t *testing.T) {
	w := newWorld(t)
	w.policy("t-acme", "to-globex-vnet", egressTo("10.30.0.0/16", 5432))
	g, err := reach.Analyze(context.Background(), f.Env("kubernetes"), bindings(), f.Snapshot(w.kube))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"unexpected networkpolicy TCP/5432"}, edges(g, "acme", "globex")); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if underlay.Applies(f.Env("kubernetes")) || !underlay.Applies(f.Env("azure")) {
		t.Error("Applies should hold for azure environments only")
	}
}

// TestPlannedNodePools: the plans place a silo's dedicated pool in its nodes subnet, so desired
// state decides a silo's pods' egress to another silo's VNet: its NSG denies the tenant ranges,
// and there is no edge (not even an unknown one).
func TestPlannedNodePools(t *testing.T) {
	env := f.Env("azure")
	bs := bindings()[:2]
	for _, b := range bs {
		b.Spec.Quota.NodePool = &isolation.NodePoolSpec{Min: 1, Max: 2}
	}
	snap, err := reach.PlannedSnapshot(env, bs)
	if err != nil {
		t.Fatal(err)
	}
	pools := 0
	for _, r := range snap.Azure {
		if r.Type == underlay.TypeAgentPool {
			pools++
		}
	}
	if pools != 2 {
		t.Fatalf("planned snapshot has %d agent pools, want 2", pools)
	}
	snap.Kubernetes = append(snap.Kubernetes, f.Policy("t-acme", "to-globex-vnet", egressTo("10.30.0.0/16", 5432)))
	g, err := reach.Analyze(context.Background(), env, bs, snap)
	if err != nil {
		t.Fatal(err)
	}
	if got := edges(g, "acme", "globex"); len(got) != 0 {
		t.Fatalf("acme's NSG denies the tenant ranges, yet: %v", got)
	}
	bs[0].Spec.Quota.NodePool = nil // the compute plan refuses it: no pool, so nothing places acme's pods
	if snap, err = reach.PlannedSnapshot(env, bs); err != nil {
		t.Fatal(err)
	}
	snap.Kubernetes = append(snap.Kubernetes, f.Policy("t-acme", "to-globex-vnet", egressTo("10.30.0.0/16", 5432)))
	if g, err = reach.Analyze(context.Background(), env, bs, snap); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"unknown node-subnet TCP/5432"}, edges(g, "acme", "globex")); diff != "" {
		t.Errorf("a silo whose pool is not planned (-want +got):\n%s", diff)
	}
}
