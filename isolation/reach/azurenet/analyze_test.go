package azurenet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	aksfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8/fake"
	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
	f "github.com/connectsoft/tenantctl/isolation/reach/internal/fixture"
)

func bindings() []*isolation.RuntimeTenantBinding {
	return []*isolation.RuntimeTenantBinding{
		f.Binding("acme", isolation.TierSilo, "10.20.0.0/16"),
		f.Binding("globex", isolation.TierSilo, "10.30.0.0/16"),
	}
}

func spokes() *f.Net {
	return f.HubSpoke(map[string]string{"acme": "10.20.0.0/16", "globex": "10.30.0.0/16"})
}

// halves serves a list in two pages, so the reader's paging is exercised.
func halves[T any](list []T) ([]T, []T) { return list[:len(list)/2], list[len(list)/2:] }

// servers answers the reader's list calls from n, as Azure's API would.
func servers(n *f.Net) *fake.ServerFactory {
	return &fake.ServerFactory{
		VirtualNetworksServer: fake.VirtualNetworksServer{NewListAllPager: func(*armnetwork.VirtualNetworksClientListAllOptions) (resp azfake.PagerResponder[armnetwork.VirtualNetworksClientListAllResponse]) {
			a, b := halves(n.VNets)
			resp.AddPage(http.StatusOK, armnetwork.VirtualNetworksClientListAllResponse{VirtualNetworkListResult: armnetwork.VirtualNetworkListResult{Value: a}}, nil)
			resp.AddPage(http.StatusOK, armnetwork.VirtualNetworksClientListAllResponse{VirtualNetworkListResult: armnetwork.VirtualNetworkListResult{Value: b}}, nil)
			return
		}},
		RouteTablesServer: fake.RouteTablesServer{NewListAllPager: func(*armnetwork.RouteTablesClientListAllOptions) (resp azfake.PagerResponder[armnetwork.RouteTablesClientListAllResponse]) {
			resp.AddPage(http.StatusOK, armnetwork.RouteTablesClientListAllResponse{RouteTableListResult: armnetwork.RouteTableListResult{Value: n.Tables}}, nil)
			return
		}},
		SecurityGroupsServer: fake.SecurityGroupsServer{NewListAllPager: func(*armnetwork.SecurityGroupsClientListAllOptions) (resp azfake.PagerResponder[armnetwork.SecurityGroupsClientListAllResponse]) {
			resp.AddPage(http.StatusOK, armnetwork.SecurityGroupsClientListAllResponse{SecurityGroupListResult: armnetwork.SecurityGroupListResult{Value: n.NSGs}}, nil)
			return
		}},
		PrivateEndpointsServer: fake.PrivateEndpointsServer{NewListBySubscriptionPager: func(*armnetwork.PrivateEndpointsClientListBySubscriptionOptions) (resp azfake.PagerResponder[armnetwork.PrivateEndpointsClientListBySubscriptionResponse]) {
			resp.AddPage(http.StatusOK, armnetwork.PrivateEndpointsClientListBySubscriptionResponse{PrivateEndpointListResult: armnetwork.PrivateEndpointListResult{Value: n.Endpoints}}, nil)
			return
		}},
		AzureFirewallsServer: fake.AzureFirewallsServer{NewListAllPager: func(*armnetwork.AzureFirewallsClientListAllOptions) (resp azfake.PagerResponder[armnetwork.AzureFirewallsClientListAllResponse]) {
			resp.AddPage(http.StatusOK, armnetwork.AzureFirewallsClientListAllResponse{AzureFirewallListResult: armnetwork.AzureFirewallListResult{Value: n.Firewalls}}, nil)
			return
		}},
		InterfacesServer: fake.InterfacesServer{NewListAllPager: func(*armnetwork.InterfacesClientListAllOptions) (resp azfake.PagerResponder[armnetwork.InterfacesClientListAllResponse]) {
			resp.AddPage(http.StatusOK, armnetwork.InterfacesClientListAllResponse{InterfaceListResult: armnetwork.InterfaceListResult{Value: n.NICs}}, nil)
			return
		}},
	}
}

// dispatch sends managed cluster calls to the container service fake and the rest to the
// network fake, as ARM routes them by resource provider.
type dispatch struct{ network, aks policy.Transporter }

func (d dispatch) Do(req *http.Request) (*http.Response, error) {
	if strings.Contains(strings.ToLower(req.URL.Path), "/microsoft.containerservice/") {
		return d.aks.Do(req)
	}
	return d.network.Do(req)
}

func transport(n *f.Net) policy.Transporter {
	aks := &aksfake.ServerFactory{ManagedClustersServer: aksfake.ManagedClustersServer{
		NewListPager: func(*armcontainerservice.ManagedClustersClientListOptions) (resp azfake.PagerResponder[armcontainerservice.ManagedClustersClientListResponse]) {
			resp.AddPage(http.StatusOK, armcontainerservice.ManagedClustersClientListResponse{ManagedClusterListResult: armcontainerservice.ManagedClusterListResult{Value: n.Clusters}}, nil)
			return
		}}}
	return dispatch{network: fake.NewServerFactoryTransport(servers(n)), aks: aksfake.NewServerFactoryTransport(aks)}
}

func readFake(t *testing.T, n *f.Net) *reach.Graph {
	t.Helper()
	opts := arm.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: transport(n)}}
	res, err := azurenet.Read(context.Background(), &azfake.TokenCredential{}, f.Subscription, azurenet.WithClientOptions(opts))
	if err != nil {
		t.Fatal(err)
	}
	g, err := reach.Analyze(context.Background(), f.Env("azure"), bindings(), f.Snapshot(nil, res...))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func edges(g *reach.Graph) []string {
	var out []string
	for _, e := range g.Edges {
		if e.Verdict != reach.VerdictAllowed {
			out = append(out, fmt.Sprintf("%s→%s %s %s %s", e.From, e.To, e.Verdict, e.Kind, e.Ports))
		}
	}
	return out
}

func exposures(g *reach.Graph) []string {
	var out []string
	for _, x := range g.Exposures {
		out = append(out, fmt.Sprintf("%s↔%s %s %s", x.Tenant, x.Peer, x.Kind, x.Resource.Name))
	}
	return out
}

func allowed(g *reach.Graph) []string {
	var out []string
	for _, e := range g.Edges {
		if e.Verdict == reach.VerdictAllowed {
			out = append(out, fmt.Sprintf("%s→%s %s", e.From, e.To, e.Kind))
		}
	}
	return out
}

const storageGlobex = "/subscriptions/" + f.Subscription + "/resourceGroups/rg-globex-test/providers/Microsoft.Storage/storageAccounts/stglobex"

func addFirewallRule(n *f.Net, rule *armnetwork.AzureFirewallNetworkRule) {
	fw := n.Firewalls[0].Properties
	fw.NetworkRuleCollections = append(fw.NetworkRuleCollections, f.RuleCollection("spoke-exceptions", 200, true, rule))
}

func TestAzureRouteKinds(t *testing.T) {
	nsgGlobex := f.ID("rg-globex-test", azurenet.TypeNSG, "nsg-globex")
	nsgAcme := f.ID("rg-acme-test", azurenet.TypeNSG, "nsg-acme")
	rtAcme := f.ID("rg-acme-test", azurenet.TypeRouteTable, "rt-acme")
	tests := []struct {
		name      string
		edit      func(*f.Net)
		edges     []string
		exposures []string
	}{
		{name: "hub peerings and the hub firewall are platform routes"},
		{
			name:  "a connected spoke-to-spoke peering is a route both ways",
			edit:  func(n *f.Net) { n.Peer("acme", "globex", true); n.Peer("globex", "acme", true) },
			edges: []string{"acme→globex unexpected peering *", "globex→acme unexpected peering *"},
		},
		{
			name:      "a peering only initiated on one side carries nothing",
			edit:      func(n *f.Net) { n.Peer("acme", "globex", false) },
			exposures: []string{"acme↔globex peering vnet-acme/acme-to-globex"},
		},
		{
			name: "peerings are not transitive: spokes of one hub do not reach each other directly",
			edit: func(n *f.Net) {
				// Without the firewall route only the peerings remain.
				n.Table("rt-acme").Properties.Routes = nil
				n.Table("rt-globex").Properties.Routes = nil
			},
		},
		{
			name:  "the hub firewall forwards what its rules allow",
			edit:  func(n *f.Net) { addFirewallRule(n, f.FirewallRule("ssh", "10.20.0.0/16", "10.30.0.0/16", "TCP", "22")) },
			edges: []string{"acme→globex unexpected firewall TCP/22"},
		},
		{
			name: "forwarded traffic refused by the destination's peering stops at the hub",
			edit: func(n *f.Net) {
				addFirewallRule(n, f.FirewallRule("ssh", "10.20.0.0/16", "10.30.0.0/16", "TCP", "22"))
				n.Peering("globex", "hub").Properties.AllowForwardedTraffic = to.Ptr(false)
			},
			exposures: []string{"acme↔globex firewall fw-hub/spoke-exceptions/ssh"},
		},
		{
			name: "an inbound NSG deny on every destination subnet closes a firewall route",
			edit: func(n *f.Net) {
				addFirewallRule(n, f.FirewallRule("ssh", "10.20.0.0/16", "10.30.0.0/16", "TCP", "22"))
				g := n.NSGNamed("nsg-globex")
				g.Properties.SecurityRules = append(g.Properties.SecurityRules, f.Rule(nsgGlobex, "deny-acme", 100, "Deny", "Inbound", "*", "10.20.0.0/16", "*", "*"))
				n.Subnet("globex", "endpoints").Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: to.Ptr(nsgGlobex)}
			},
			exposures: []string{"acme↔globex firewall fw-hub/spoke-exceptions/ssh"},
		},
		{
			name: "an NSG rule allowing another tenant's range is an opening",
			edit: func(n *f.Net) {
				g := n.NSGNamed("nsg-acme")
				g.Properties.SecurityRules = append(g.Properties.SecurityRules, f.Rule(nsgAcme, "allow-globex", 200, "Allow", "Inbound", "Tcp", "10.30.0.0/16", "*", "443"))
			},
			exposures: []string{"acme↔globex nsg nsg-acme/allow-globex"},
		},
		{
			name: "a route to an appliance the snapshot lacks is unknown, never safe",
			edit: func(n *f.Net) {
				tbl := n.Table("rt-acme").Properties
				tbl.Routes = append(tbl.Routes, f.Route(rtAcme, "to-globex", "10.30.0.0/16", armnetwork.RouteNextHopTypeVirtualAppliance, "10.99.0.4"))
			},
			edges: []string{"acme→globex unknown route *"},
		},
		{
			name: "a route to None blackholes a peering in one direction",
			edit: func(n *f.Net) {
				n.Peer("acme", "globex", true)
				n.Peer("globex", "acme", true)
				tbl := n.Table("rt-acme").Properties
				tbl.Routes = append(tbl.Routes, f.Route(rtAcme, "blackhole-globex", "10.30.0.0/16", armnetwork.RouteNextHopTypeNone, ""))
				n.Subnet("acme", "endpoints").Properties.RouteTable = &armnetwork.RouteTable{ID: to.Ptr(rtAcme)}
			},
			edges: []string{"globex→acme unexpected peering *"},
		},
		{
			name: "gateway routes between spokes sharing the hub gateway are unknown",
			edit: func(n *f.Net) {
				n.Peering("acme", "hub").Properties.UseRemoteGateways = to.Ptr(true)
				n.Peering("globex", "hub").Properties.UseRemoteGateways = to.Ptr(true)
				tbl := n.Table("rt-acme").Properties
				tbl.Routes = append(tbl.Routes, f.Route(rtAcme, "via-gateway", "10.30.0.0/16", armnetwork.RouteNextHopTypeVirtualNetworkGateway, ""))
			},
			edges: []string{"acme→globex unknown route *"},
		},
		{
			name: "an approved private endpoint into another tenant's resource",
			edit: func(n *f.Net) {
				n.Endpoint("acme", "endpoints", "pe-stglobex", "10.20.8.10", storageGlobex, "Approved")
			},
			edges: []string{"acme→globex unexpected private-endpoint *"},
		},
		{
			name:      "a pending private endpoint connects nothing yet",
			edit:      func(n *f.Net) { n.Endpoint("acme", "endpoints", "pe-stglobex", "10.20.8.10", storageGlobex, "Pending") },
			exposures: []string{"acme↔globex private-endpoint pe-stglobex"},
		},
		{
			name: "disabled private endpoint network policies make the subnet NSG not apply",
			edit: func(n *f.Net) {
				n.Endpoint("acme", "endpoints", "pe-stglobex", "10.20.8.10", storageGlobex, "Approved")
				id := f.ID("rg-acme-test", azurenet.TypeNSG, "nsg-acme-pe")
				n.NSGs = append(n.NSGs, f.NSG(id, f.Rule(id, "deny-vnet", 100, "Deny", "Inbound", "*", "VirtualNetwork", "*", "*")))
				n.Subnet("acme", "endpoints").Properties.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: to.Ptr(id)}
			},
			edges: []string{"acme→globex unexpected private-endpoint *"},
		},
		{
			name: "enabled private endpoint network policies let the subnet NSG close it",
			edit: func(n *f.Net) {
				n.Endpoint("acme", "endpoints", "pe-stglobex", "10.20.8.10", storageGlobex, "Approved")
				id := f.ID("rg-acme-test", azurenet.TypeNSG, "nsg-acme-pe")
				n.NSGs = append(n.NSGs, f.NSG(id, f.Rule(id, "deny-vnet", 100, "Deny", "Inbound", "*", "VirtualNetwork", "*", "*")))
				sub := n.Subnet("acme", "endpoints").Properties
				sub.NetworkSecurityGroup = &armnetwork.SecurityGroup{ID: to.Ptr(id)}
				sub.PrivateEndpointNetworkPolicies = to.Ptr(armnetwork.VirtualNetworkPrivateEndpointNetworkPoliciesEnabled)
			},
			exposures: []string{"acme↔globex private-endpoint pe-stglobex"},
		},
		{
			name: "a firewall whose rules live in a policy outside the snapshot is unknown",
			edit: func(n *f.Net) {
				fw := n.Firewalls[0].Properties
				fw.NetworkRuleCollections = nil
				fw.FirewallPolicy = &armnetwork.SubResource{ID: to.Ptr(f.ID("rg-hub-test", "Microsoft.Network/firewallPolicies", "fwp-hub"))}
			},
			edges: []string{"acme→globex unknown firewall *", "globex→acme unknown firewall *"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := spokes()
			if tc.edit != nil {
				tc.edit(n)
			}
			g := readFake(t, n)
			if diff := cmp.Diff(tc.edges, edges(g)); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.exposures, exposures(g)); diff != "" {
				t.Errorf("exposures (-want +got):\n%s", diff)
			}
			// The hub peerings are legitimate and always present, never reported.
			want := []string{"acme→platform peering", "globex→platform peering", "platform→acme peering", "platform→globex peering"}
			got := allowed(g)
			for _, w := range want {
				if !contains(got, w) {
					t.Errorf("allowed edges %v lack %q", got, w)
				}
			}
			if len(g.Unresolved) > 0 {
				t.Errorf("unresolved: %v", g.Unresolved)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestReaderKeepsARMShape checks the reader's resources are ARM JSON: the envelope fields and a
// properties object, so snapshots written from them read back like REST responses.
func TestReaderKeepsARMShape(t *testing.T) {
	n := spokes()
	opts := arm.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: transport(n)}}
	res, err := azurenet.Read(context.Background(), &azfake.TokenCredential{}, f.Subscription, azurenet.WithClientOptions(opts))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range res {
		count[r.Type]++
		var arm struct {
			ID         string         `json:"id"`
			Name       string         `json:"name"`
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(r.Raw, &arm); err != nil {
			t.Fatalf("%s: %v", r.ID, err)
		}
		if arm.ID != r.ID || arm.Name != r.Name || arm.Properties == nil {
			t.Errorf("%s: raw is not ARM-shaped: %s", r.ID, r.Raw)
		}
	}
	want := map[string]int{azurenet.TypeVirtualNetwork: 3, azurenet.TypeRouteTable: 2, azurenet.TypeNSG: 2, azurenet.TypeFirewall: 1}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("resource counts (-want +got):\n%s", diff)
	}
}

func TestReaderReportsAPIErrors(t *testing.T) {
	srv := servers(spokes())
	srv.RouteTablesServer.NewListAllPager = func(*armnetwork.RouteTablesClientListAllOptions) (resp azfake.PagerResponder[armnetwork.RouteTablesClientListAllResponse]) {
		resp.AddResponseError(http.StatusForbidden, "AuthorizationFailed")
		return
	}
	opts := arm.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: fake.NewServerFactoryTransport(srv)}}
	_, err := azurenet.Read(context.Background(), &azfake.TokenCredential{}, f.Subscription, azurenet.WithClientOptions(opts))
	if err == nil {
		t.Fatal("Read succeeded although listing route tables was forbidden")
	}
}

// TestReadListsManagedClusters: the live reader lists the managed clusters with their agent pool
// profiles, whose subnets place each node pool's traffic (package underlay).
func TestReadListsManagedClusters(t *testing.T) {
	n := spokes()
	sub := *n.Subnet("acme", "nodes").ID
	n.Clusters = []*armcontainerservice.ManagedCluster{{
		ID: to.Ptr(f.ID("rg-aks-test", azurenet.TypeManagedCluster, "aks")), Name: to.Ptr("aks"), Location: to.Ptr("westeurope"),
		Properties: &armcontainerservice.ManagedClusterProperties{AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{
			{Name: to.Ptr("tacme"), VnetSubnetID: to.Ptr(sub), NodeLabels: map[string]*string{"tenantctl.io/tenant": to.Ptr("acme")}},
		}},
	}}
	opts := arm.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: transport(n)}}
	res, err := azurenet.Read(context.Background(), &azfake.TokenCredential{}, f.Subscription, azurenet.WithClientOptions(opts))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		if r.Type != azurenet.TypeManagedCluster {
			continue
		}
		for _, p := range r.Properties["agentPoolProfiles"].([]any) {
			m := p.(map[string]any)
			got = append(got, fmt.Sprintf("%s %s %s", r.Name, m["name"], m["vnetSubnetID"]))
		}
	}
	if diff := cmp.Diff([]string{"aks tacme " + sub}, got); diff != "" {
		t.Errorf("managed clusters (-want +got):\n%s", diff)
	}
}
