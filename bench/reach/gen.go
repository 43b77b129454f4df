// Package reachbench generates large fleets for the reachability benchmark: N tenants with about
// ten network objects each, a third of each tier, laid out as the programs lay them out (tenant
// namespaces with their four policies, the shared namespace, silo VNets peered to a hub with an
// Azure Firewall), plus a few planted cross-tenant routes whose number grows with N.
package reachbench

import (
	"fmt"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Fleet is a generated environment, its bindings and its inventory.
type Fleet struct {
	Env      *isolation.Environment
	Bindings []*isolation.RuntimeTenantBinding
	Snapshot *inventory.Snapshot
	// Objects counts Kubernetes objects, ARM resources and the subnets and peerings inside them.
	Objects int
	// Planted is how many tenant-to-tenant edges the generator opened on purpose; Crossings how
	// many of them leave the cluster through a node pool's subnet.
	Planted, Crossings int
}

const sub = "00000000-0000-0000-0000-0000000000be"

func tenantID(i int) string { return fmt.Sprintf("t%05d", i) }

// siloRange gives silo number k its /24 inside 10.0.0.0/8, above the platform's 10.0.0.0/16.
func siloRange(k int) string { return fmt.Sprintf("10.%d.%d.0/24", 1+k/256, k%256) }

func siloPrefix(k int) string { return fmt.Sprintf("10.%d.%d", 1+k/256, k%256) }

// Generate builds a fleet of n tenants (n ≥ 3).
func Generate(n int) (*Fleet, error) {
	f := &Fleet{Env: &isolation.Environment{
		APIVersion: isolation.APIVersion, Kind: isolation.KindEnvironment,
		Metadata: isolation.ObjectMeta{Name: "bench"},
		Spec: isolation.EnvironmentSpec{
			Target: "azure", Azure: &isolation.AzureSpec{SubscriptionID: sub, Location: "westeurope", ResourceGroup: "rg-platform-bench"},
			AddressSpace: []string{"10.0.0.0/8"}, PlatformAddressSpace: []string{"10.0.0.0/16"},
			Hub:           isolation.HubSpec{VNetName: "vnet-hub-bench", ResourceGroup: "rg-hub-bench", AddressSpace: []string{"10.0.0.0/22"}, FirewallIP: "10.0.0.4"},
			SharedCluster: isolation.ClusterSpec{Name: "aks", IngressNamespace: "platform-ingress", SharedNamespace: "shared-tenants", PodCIDR: "172.16.0.0/12"},
			SharedVault:   isolation.VaultSpec{Name: "kv-shared-bench"},
			// The plans the analysis reads need what validation requires of an environment.
			SharedDatabase: isolation.DatabaseSpec{Server: "psql-shared-bench"},
		},
	}}
	var silos []int
	for i := range n {
		b := &isolation.RuntimeTenantBinding{
			APIVersion: isolation.APIVersion, Kind: isolation.KindBinding,
			Metadata: isolation.ObjectMeta{Name: tenantID(i)},
			Spec:     isolation.BindingSpec{TenantID: tenantID(i), Environment: "bench", Tier: isolation.Tiers[i%3]},
		}
		if b.Spec.Tier == isolation.TierSilo {
			k := len(silos)
			silos = append(silos, i)
			b.Spec.Quota.NodePool = &isolation.NodePoolSpec{Min: 1, Max: 3}
			b.Spec.Network = &isolation.NetworkSpec{AddressSpace: []string{siloRange(k)}, Subnets: []isolation.SubnetSpec{
				{Name: "nodes", AddressPrefix: siloPrefix(k) + ".0/25", Purpose: isolation.SubnetNodes},
				{Name: "endpoints", AddressPrefix: siloPrefix(k) + ".128/26", Purpose: isolation.SubnetEndpoints},
			}}
		}
		f.Bindings = append(f.Bindings, b)
	}
	// The programs' Kubernetes objects, then the pods and the planted routes.
	snap, err := reach.PlannedSnapshot(f.Env, f.Bindings)
	if err != nil {
		return nil, err
	}
	snap.Azure = nil
	k := &kubeGen{snap: snap}
	for i, b := range f.Bindings {
		k.pods(i, b)
	}
	f.Planted += k.plant(f.Bindings)
	f.Crossings = k.plantCrossings(f.Bindings, silos)
	f.Planted += f.Crossings
	az, planted, objects, err := azureFleet(f.Env, f.Bindings, silos)
	if err != nil {
		return nil, err
	}
	snap.Azure = az
	f.Planted += planted
	f.Snapshot = snap
	f.Objects = len(snap.Kubernetes) + objects
	return f, nil
}

type kubeGen struct {
	snap *inventory.Snapshot
	ip   int
}

func (k *kubeGen) add(o map[string]any) {
	k.snap.Kubernetes = append(k.snap.Kubernetes, unstructured.Unstructured{Object: o})
}

func (k *kubeGen) nextIP() string {
	k.ip++
	return fmt.Sprintf("172.%d.%d.%d", 16+k.ip/65536, (k.ip/256)%256, k.ip%256)
}

// pods gives each tenant pods: silo 1, pool 5, shared 8 (the shared tier has no namespace or
// policies of its own to count).
func (k *kubeGen) pods(i int, b *isolation.RuntimeTenantBinding) {
	ns, count := tenantplan.TenantNamespace(b.Spec.TenantID), map[isolation.Tier]int{isolation.TierSilo: 1, isolation.TierPool: 5, isolation.TierShared: 8}[b.Spec.Tier]
	if b.Spec.Tier == isolation.TierShared {
		ns = "shared-tenants"
	}
	for j := range count {
		k.add(map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": fmt.Sprintf("%s-%d", b.Spec.TenantID, j), "namespace": ns,
				"labels": map[string]any{"app": fmt.Sprintf("svc-%d", j%3), tenantplan.LabelTenant: b.Spec.TenantID}},
			"status": map[string]any{"podIP": k.nextIP()},
		})
	}
}

func policy(ns, name string, spec map[string]any) map[string]any {
	return map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": name, "namespace": ns}, "spec": spec}
}

func tenantSel(id string) map[string]any {
	return map[string]any{"matchLabels": map[string]any{tenantplan.LabelTenant: id}}
}

// plant opens one route between pool tenants for every 50 tenants: an ingress policy admitting
// the previous pool tenant's namespace and that tenant's egress policy towards it.
func (k *kubeGen) plant(bs []*isolation.RuntimeTenantBinding) int {
	planted := 0
	for i := 4; i < len(bs); i += 50 {
		if bs[i].Spec.Tier != isolation.TierPool || bs[i-3].Spec.Tier != isolation.TierPool {
			continue
		}
		to, from := bs[i].Spec.TenantID, bs[i-3].Spec.TenantID
		k.add(policy(tenantplan.TenantNamespace(to), "from-"+from, map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"app": "svc-1"}},
			"policyTypes": []any{"Ingress"}, "ingress": []any{map[string]any{"from": []any{map[string]any{"namespaceSelector": tenantSel(from)}},
				"ports": []any{map[string]any{"protocol": "TCP", "port": int64(8080)}}}}}))
		k.add(policy(tenantplan.TenantNamespace(from), "to-"+to, map[string]any{"podSelector": map[string]any{},
			"policyTypes": []any{"Egress"}, "egress": []any{map[string]any{"to": []any{map[string]any{"namespaceSelector": tenantSel(to)}}}}}))
		planted++
	}
	return planted
}

// plantCrossings lets pods out of the cluster towards silo VNets: every 100th pool tenant's pods
// may reach the next silo's nodes subnet, which the shared node pool's hub subnet reaches over
// the hub peering and the silo's NSG admits (a planted route, composed through the node subnet),
// and every 100th silo's pods may reach another silo's VNet, which its NSG refuses (no route).
func (k *kubeGen) plantCrossings(bs []*isolation.RuntimeTenantBinding, silos []int) int {
	planted := 0
	egress := func(ns, name, cidr string) {
		k.add(policy(ns, name, map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{"to": []any{map[string]any{"ipBlock": map[string]any{"cidr": cidr}}},
				"ports": []any{map[string]any{"protocol": "TCP", "port": int64(443)}}}}}))
	}
	for i, s := 7, 0; i < len(bs) && s+1 < len(silos); i, s = i+100, s+33 {
		if bs[i].Spec.Tier != isolation.TierPool {
			continue
		}
		egress(tenantplan.TenantNamespace(bs[i].Spec.TenantID), "to-silo-nodes", siloPrefix(s)+".0/25")
		planted++
		egress(tenantplan.TenantNamespace(bs[silos[s]].Spec.TenantID), "to-next-silo", siloRange(s+1))
	}
	return planted
}

// azureFleet is the hub (with its firewall) and one spoke per silo as stacks/azure lays them
// out; every 100th silo is also peered with the next one, a planted route both ways.
func azureFleet(env *isolation.Environment, bs []*isolation.RuntimeTenantBinding, silos []int) ([]inventory.AzureResource, int, int, error) {
	snap, err := reach.PlannedSnapshot(env, bs)
	if err != nil {
		return nil, 0, 0, err
	}
	res := snap.Azure
	objects := len(res)
	byName := map[string]int{}
	for i, r := range res {
		byName[r.Name] = i
		if r.Type == azurenet.TypeVirtualNetwork {
			// Subnets and peerings are ARM resources of their own, listed inline.
			var v armnetwork.VirtualNetwork
			if err := v.UnmarshalJSON(r.Raw); err != nil {
				return nil, 0, 0, err
			}
			objects += len(v.Properties.Subnets) + len(v.Properties.VirtualNetworkPeerings)
		}
	}
	hubName := tenantplan.HubVNet(env)
	hubID := tenantplan.ResourceID(sub, tenantplan.HubResourceGroup(env), azurenet.TypeVirtualNetwork, hubName)
	var hub armnetwork.VirtualNetwork
	if err := hub.UnmarshalJSON(res[byName[hubName]].Raw); err != nil {
		return nil, 0, 0, err
	}
	hub.Properties.Subnets = []*armnetwork.Subnet{
		{ID: to.Ptr(hubID + "/subnets/AzureFirewallSubnet"), Name: to.Ptr("AzureFirewallSubnet"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.0.0/26")}},
		{ID: to.Ptr(hubID + "/subnets/shared"), Name: to.Ptr("shared"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.1.0/24")}},
		{ID: to.Ptr(hubID + "/subnets/aks"), Name: to.Ptr("aks"), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to.Ptr("10.0.2.0/24")}},
	}
	// The shared cluster: a system pool in the hub's aks subnet; each silo's dedicated pool is
	// planned (reach.PlannedSnapshot) in its own nodes subnet.
	cluster := &armcontainerservice.ManagedCluster{ID: to.Ptr(tenantplan.ResourceID(sub, "rg-aks-bench", azurenet.TypeManagedCluster, "aks")), Name: to.Ptr("aks"),
		Properties: &armcontainerservice.ManagedClusterProperties{AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{
			{Name: to.Ptr("system"), VnetSubnetID: to.Ptr(hubID + "/subnets/aks")},
		}}}
	clusterRes, err := azurenet.Resource(cluster, *cluster.ID, "aks", azurenet.TypeManagedCluster, nil)
	if err != nil {
		return nil, 0, 0, err
	}
	res = append(res, clusterRes)
	objects++
	hubRes, err := azurenet.Resource(&hub, hubID, hubName, azurenet.TypeVirtualNetwork, hub.Tags)
	if err != nil {
		return nil, 0, 0, err
	}
	res[byName[hubName]] = hubRes
	objects += 3

	planted := 0
	for k := 0; k+1 < len(silos); k += 100 {
		a, b := bs[silos[k]].Spec.TenantID, bs[silos[k+1]].Spec.TenantID
		for _, pair := range [][2]string{{a, b}, {b, a}} {
			name := tenantplan.TenantVNet(pair[0], env.Name())
			var v armnetwork.VirtualNetwork
			if err := v.UnmarshalJSON(res[byName[name]].Raw); err != nil {
				return nil, 0, 0, err
			}
			remote := tenantplan.ResourceID(sub, tenantplan.TenantResourceGroup(pair[1], env.Name()), azurenet.TypeVirtualNetwork, tenantplan.TenantVNet(pair[1], env.Name()))
			v.Properties.VirtualNetworkPeerings = append(v.Properties.VirtualNetworkPeerings, &armnetwork.VirtualNetworkPeering{
				ID: to.Ptr(*v.ID + "/virtualNetworkPeerings/to-" + pair[1]), Name: to.Ptr("to-" + pair[1]),
				Properties: &armnetwork.VirtualNetworkPeeringPropertiesFormat{RemoteVirtualNetwork: &armnetwork.SubResource{ID: to.Ptr(remote)},
					PeeringState: to.Ptr(armnetwork.VirtualNetworkPeeringStateConnected), AllowVirtualNetworkAccess: to.Ptr(true)},
			})
			r, err := azurenet.Resource(&v, *v.ID, name, azurenet.TypeVirtualNetwork, v.Tags)
			if err != nil {
				return nil, 0, 0, err
			}
			res[byName[name]] = r
			objects++
			// The NSGs deny other tenants' ranges; an allow rule ahead of that completes the route.
			if err := allowPeer(res, byName[tenantplan.TenantNSG(pair[0], env.Name())], bs, pair[1]); err != nil {
				return nil, 0, 0, err
			}
		}
		planted += 2
	}
	fwID := tenantplan.ResourceID(sub, tenantplan.HubResourceGroup(env), azurenet.TypeFirewall, "fw-hub")
	fw := &armnetwork.AzureFirewall{ID: to.Ptr(fwID), Name: to.Ptr("fw-hub"), Properties: &armnetwork.AzureFirewallPropertiesFormat{
		IPConfigurations: []*armnetwork.AzureFirewallIPConfiguration{{Name: to.Ptr("ip"), Properties: &armnetwork.AzureFirewallIPConfigurationPropertiesFormat{
			PrivateIPAddress: to.Ptr("10.0.0.4"), Subnet: &armnetwork.SubResource{ID: to.Ptr(hubID + "/subnets/AzureFirewallSubnet")}}}},
		NetworkRuleCollections: []*armnetwork.AzureFirewallNetworkRuleCollection{{Name: to.Ptr("spokes-to-hub"), Properties: &armnetwork.AzureFirewallNetworkRuleCollectionPropertiesFormat{
			Priority: to.Ptr[int32](100), Action: &armnetwork.AzureFirewallRCAction{Type: to.Ptr(armnetwork.AzureFirewallRCActionTypeAllow)},
			Rules: []*armnetwork.AzureFirewallNetworkRule{{Name: to.Ptr("https"), SourceAddresses: to.SliceOfPtrs("10.0.0.0/8"), DestinationAddresses: to.SliceOfPtrs("10.0.0.0/22"),
				Protocols: to.SliceOfPtrs(armnetwork.AzureFirewallNetworkRuleProtocolTCP), DestinationPorts: to.SliceOfPtrs("443")}},
		}}},
	}}
	r, err := azurenet.Resource(fw, fwID, "fw-hub", azurenet.TypeFirewall, nil)
	if err != nil {
		return nil, 0, 0, err
	}
	res = append(res, r)
	return res, planted, objects + 1, nil
}

// allowPeer adds inbound and outbound allow rules for peer's range to the NSG at res[i].
func allowPeer(res []inventory.AzureResource, i int, bs []*isolation.RuntimeTenantBinding, peer string) error {
	var g armnetwork.SecurityGroup
	if err := g.UnmarshalJSON(res[i].Raw); err != nil {
		return err
	}
	var space string
	for _, b := range bs {
		if b.Spec.TenantID == peer {
			space = b.Spec.Network.AddressSpace[0]
		}
	}
	for j, dir := range []armnetwork.SecurityRuleDirection{armnetwork.SecurityRuleDirectionInbound, armnetwork.SecurityRuleDirectionOutbound} {
		p := &armnetwork.SecurityRulePropertiesFormat{Priority: to.Ptr[int32](300), Direction: to.Ptr(dir), Access: to.Ptr(armnetwork.SecurityRuleAccessAllow),
			Protocol: to.Ptr(armnetwork.SecurityRuleProtocolTCP), SourceAddressPrefix: to.Ptr("*"), DestinationAddressPrefix: to.Ptr("*"),
			SourcePortRange: to.Ptr("*"), DestinationPortRange: to.Ptr("5432")}
		if dir == armnetwork.SecurityRuleDirectionInbound {
			p.SourceAddressPrefix = to.Ptr(space)
		} else {
			p.DestinationAddressPrefix = to.Ptr(space)
		}
		name := fmt.Sprintf("allow-%s-%d", peer, j)
		g.Properties.SecurityRules = append(g.Properties.SecurityRules, &armnetwork.SecurityRule{ID: to.Ptr(*g.ID + "/securityRules/" + name), Name: to.Ptr(name), Properties: p})
	}
	r, err := azurenet.Resource(&g, *g.ID, *g.Name, azurenet.TypeNSG, g.Tags)
	if err != nil {
		return err
	}
	res[i] = r
	return nil
}

// Check verifies the analysis found exactly the planted routes and nothing undecided.
func Check(tb testing.TB, f *Fleet, g *reach.Graph) {
	tb.Helper()
	if got := g.Count(reach.VerdictUnexpected); got != f.Planted {
		tb.Fatalf("%d unexpected edges, planted %d", got, f.Planted)
	}
	if got := g.Count(reach.VerdictUnknown); got != 0 {
		tb.Fatalf("%d unknown edges", got)
	}
	crossings := 0
	for _, e := range g.Edges {
		if e.Kind == reach.KindNodeSubnet && e.Verdict == reach.VerdictUnexpected {
			crossings++
		}
	}
	if crossings != f.Crossings {
		tb.Fatalf("%d edges through a node subnet, planted %d", crossings, f.Crossings)
	}
}
