package azure

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/internal/stackstest"
	"github.com/connectsoft/tenantctl/tenantplan"
)

const (
	acmeVNet = arm + "rg-acme-prod/providers/Microsoft.Network/virtualNetworks/vnet-acme-prod"
	hubVNet  = arm + "rg-hub-prod/providers/Microsoft.Network/virtualNetworks/vnet-hub-prod"
	acmeNSG  = arm + "rg-acme-prod/providers/Microsoft.Network/networkSecurityGroups/nsg-acme-prod"
	acmeRT   = arm + "rg-acme-prod/providers/Microsoft.Network/routeTables/rt-acme-prod"
)

// tenantRun runs the tenant program of b in env and returns what it registered and exported.
func tenantRun(t *testing.T, b *isolation.RuntimeTenantBinding, env *isolation.Environment) (*recorder, *TenantOutputs) {
	t.Helper()
	rec := newRecorder()
	var out *TenantOutputs
	platform := testPlatform()
	platform.Environment = env.Name()
	in := tenantplan.Inputs{Binding: b, Env: env, Platform: platform}
	if err := run(t, rec, tenantplan.TenantStackName(b.Spec.TenantID, env.Name()), tenantProgram(in, func(o *TenantOutputs) { out = o })); err != nil {
		t.Fatal(err)
	}
	return rec, out
}

func rule(name string, prio int, dir, access string, src, dst any) map[string]any {
	r := map[string]any{"name": name, "priority": float64(prio), "direction": dir, "access": access,
		"protocol": "*", "sourcePortRange": "*", "destinationPortRange": "*"}
	switch s := src.(type) {
	case string:
		r["sourceAddressPrefix"] = s
	case []any:
		r["sourceAddressPrefixes"] = s
	}
	switch d := dst.(type) {
	case string:
		r["destinationAddressPrefix"] = d
	case []any:
		r["destinationAddressPrefixes"] = d
	}
	return r
}

func TestSiloNetwork(t *testing.T) {
	rec, out := tenantRun(t, testBinding("acme", isolation.TierSilo), testEnv())

	vnet := rec.Get(t, tVNet, "vnet-acme-prod")
	if d := cmp.Diff([]string{"10.80.0.0/16"}, stackstest.StringSlice(stackstest.Path(vnet.Inputs, "addressSpace.addressPrefixes"))); d != "" {
		t.Errorf("vnet address space (-want +got):\n%s", d)
	}
	if _, ok := vnet.Inputs["subnets"]; ok {
		t.Error("the VNet declares subnets inline; they are separate resources")
	}
	wantSubnets := map[string]any{
		"nodes": map[string]any{"resourceGroupName": "rg-acme-prod", "virtualNetworkName": "vnet-acme-prod", "subnetName": "nodes",
			"addressPrefix": "10.80.0.0/22", "privateEndpointNetworkPolicies": "Enabled", "privateLinkServiceNetworkPolicies": "Enabled",
			"networkSecurityGroup": map[string]any{"id": acmeNSG}, "routeTable": map[string]any{"id": acmeRT}},
		// Private endpoints do not route through the firewall.
		"endpoints": map[string]any{"resourceGroupName": "rg-acme-prod", "virtualNetworkName": "vnet-acme-prod", "subnetName": "endpoints",
			"addressPrefix": "10.80.8.0/24", "privateEndpointNetworkPolicies": "Enabled", "privateLinkServiceNetworkPolicies": "Enabled",
			"networkSecurityGroup": map[string]any{"id": acmeNSG}},
	}
	got := map[string]any{}
	for _, s := range rec.OfType(tSubnet) {
		got[s.Inputs["subnetName"].(string)] = s.Inputs
	}
	if d := cmp.Diff(wantSubnets, got); d != "" {
		t.Errorf("subnets (-want +got):\n%s", d)
	}

	vnetSpace, hub, env := []any{"10.80.0.0/16"}, []any{"10.64.0.0/22"}, []any{"10.64.0.0/12"}
	wantRules := []any{
		rule("allow-hub-inbound", 100, "Inbound", "Allow", hub, vnetSpace),
		rule("allow-vnet-inbound", 110, "Inbound", "Allow", vnetSpace, vnetSpace),
		rule("allow-azure-load-balancer-inbound", 120, "Inbound", "Allow", "AzureLoadBalancer", vnetSpace),
		rule("deny-tenant-ranges-inbound", 4000, "Inbound", "Deny", env, "*"),
		rule("deny-virtual-network-inbound", 4010, "Inbound", "Deny", "VirtualNetwork", "*"),
		rule("deny-all-inbound", 4096, "Inbound", "Deny", "*", "*"),
		rule("allow-hub-outbound", 100, "Outbound", "Allow", vnetSpace, hub),
		rule("allow-vnet-outbound", 110, "Outbound", "Allow", vnetSpace, vnetSpace),
		rule("deny-tenant-ranges-outbound", 4000, "Outbound", "Deny", "*", env),
		rule("deny-virtual-network-outbound", 4010, "Outbound", "Deny", "*", "VirtualNetwork"),
	}
	if d := cmp.Diff(wantRules, rec.Get(t, tNSG, "nsg-acme-prod").Inputs["securityRules"]); d != "" {
		t.Errorf("NSG rules (-want +got):\n%s", d)
	}
	wantRoutes := []any{map[string]any{"name": tenantplan.RouteDefaultViaFirewall, "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.64.0.4"}}
	rt := rec.Get(t, tRT, "rt-acme-prod")
	if d := cmp.Diff(wantRoutes, rt.Inputs["routes"]); d != "" {
		t.Errorf("routes (-want +got):\n%s", d)
	}
	if rt.Inputs["disableBgpRoutePropagation"] != true {
		t.Error("gateway routes may bypass the firewall: disableBgpRoutePropagation is not set")
	}

	peering := func(rg, vnet, name, remote string, transit bool) map[string]any {
		return map[string]any{"resourceGroupName": rg, "virtualNetworkName": vnet, "virtualNetworkPeeringName": name,
			"remoteVirtualNetwork": map[string]any{"id": remote}, "allowVirtualNetworkAccess": true,
			"allowForwardedTraffic": false, "allowGatewayTransit": transit, "useRemoteGateways": false}
	}
	wantPeerings := map[string]any{
		"vnet-acme-prod/to-hub": peering("rg-acme-prod", "vnet-acme-prod", "to-hub", hubVNet, false),
		"vnet-hub-prod/to-acme": peering("rg-hub-prod", "vnet-hub-prod", "to-acme", acmeVNet, false),
	}
	gotPeerings := map[string]any{}
	for _, p := range rec.OfType(tPeering) {
		gotPeerings[p.Name] = p.Inputs
	}
	if d := cmp.Diff(wantPeerings, gotPeerings); d != "" {
		t.Errorf("peerings (-want +got):\n%s", d)
	}

	if d := cmp.Diff(map[string]string{"nodes": "10.80.0.0/22", "endpoints": "10.80.8.0/24"}, out.Subnets); d != "" {
		t.Errorf("subnets output (-want +got):\n%s", d)
	}
	if out.VNetID != acmeVNet {
		t.Errorf("vnetId = %q, want %q", out.VNetID, acmeVNet)
	}
}

// With the hub's gateway in use the spoke uses it and the hub offers it; without a firewall there
// is no route table.
func TestSiloNetworkGatewayNoFirewall(t *testing.T) {
	env := testEnv()
	env.Spec.Hub.FirewallIP = ""
	env.Spec.Hub.UseRemoteGateways = true
	rec, out := tenantRun(t, testBinding("acme", isolation.TierSilo), env)
	if rts := rec.OfType(tRT); len(rts) != 0 || out.RouteTable != "" {
		t.Errorf("route tables without a hub firewall: %v", rts)
	}
	for _, s := range rec.OfType(tSubnet) {
		if _, ok := s.Inputs["routeTable"]; ok {
			t.Errorf("subnet %s has a route table", s.Name)
		}
	}
	spoke, hub := rec.Get(t, tPeering, "vnet-acme-prod/to-hub"), rec.Get(t, tPeering, "vnet-hub-prod/to-acme")
	if spoke.Inputs["useRemoteGateways"] != true || spoke.Inputs["allowGatewayTransit"] != false {
		t.Errorf("spoke peering = %v, want useRemoteGateways only", spoke.Inputs)
	}
	if hub.Inputs["allowGatewayTransit"] != true || hub.Inputs["useRemoteGateways"] != false {
		t.Errorf("hub peering = %v, want allowGatewayTransit only", hub.Inputs)
	}
}

func TestSiloNodePool(t *testing.T) {
	rec, out := tenantRun(t, testBinding("acme", isolation.TierSilo), testEnv())
	pool := rec.Get(t, TypeAgentPool, "aks-shared-prod/"+tenantplan.AgentPoolName("acme"))
	want := map[string]any{
		"resourceGroupName": "rg-platform-prod", "resourceName": "aks-shared-prod", "agentPoolName": tenantplan.AgentPoolName("acme"),
		"mode": "User", "osType": "Linux", "type": "VirtualMachineScaleSets", "vmSize": "Standard_D8s_v5",
		"count": float64(1), "enableAutoScaling": true, "minCount": float64(1), "maxCount": float64(3),
		"nodeLabels":   map[string]any{"tenantctl.io/tenant": "acme"},
		"nodeTaints":   []any{"tenantctl.io/tenant=acme:NoSchedule"},
		"vnetSubnetID": acmeVNet + "/subnets/nodes",
		"tags":         map[string]any{tenantplan.TagTenant: "acme", tenantplan.TagTier: "silo", tenantplan.TagEnvironment: "prod", tenantplan.TagManagedBy: "tenantctl", "cost-center": "cc-acme"},
	}
	if d := cmp.Diff(want, pool.Inputs); d != "" {
		t.Errorf("agent pool (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"count"}, pool.IgnoreChanges); d != "" {
		t.Errorf("ignoreChanges (-want +got):\n%s", d)
	}
	// The taint and label are exactly what the kubernetes part makes silo pods tolerate and select.
	k := out.Kubernetes
	if d := cmp.Diff(map[string]string{"tenantctl.io/tenant": "acme"}, k.NodeSelector); d != "" {
		t.Errorf("nodeSelector (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]tenantplan.Toleration{{Key: "tenantctl.io/tenant", Operator: "Equal", Value: "acme", Effect: "NoSchedule"}}, k.Tolerations); d != "" {
		t.Errorf("tolerations (-want +got):\n%s", d)
	}
	if out.NodePool != tenantplan.AgentPoolName("acme") {
		t.Errorf("nodePool output = %q", out.NodePool)
	}
}

// Role assignments: the exact grants per tier, each on one of the tenant's own scopes (or one of
// its secrets in the shared vault) and nothing wider.
func TestTenantRoleAssignments(t *testing.T) {
	type grant struct{ Role, Scope, Principal, PrincipalType string }
	sharedVault := arm + "rg-platform-prod/providers/Microsoft.KeyVault/vaults/kv-shared-prod"
	tests := []struct {
		tier isolation.Tier
		want []grant
	}{
		{isolation.TierSilo, []grant{
			{"Network Contributor", acmeVNet + "/subnets/nodes", clusterPrincipal, "ServicePrincipal"},
			{"Key Vault Secrets User", arm + "rg-acme-prod/providers/Microsoft.KeyVault/vaults/kv-acme-prod", "principal-id-acme-prod", "ServicePrincipal"},
		}},
		{isolation.TierPool, []grant{
			{"Key Vault Secrets User", sharedVault + "/secrets/acme-db-connection", "principal-id-acme-prod", "ServicePrincipal"},
			{"Key Vault Secrets User", sharedVault + "/secrets/acme-api-key", "principal-id-acme-prod", "ServicePrincipal"},
		}},
		{isolation.TierShared, []grant{
			{"Key Vault Secrets User", sharedVault + "/secrets/acme-api-key", "principal-id-acme-prod", "ServicePrincipal"},
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.tier), func(t *testing.T) {
			rec, out := tenantRun(t, testBinding("acme", tc.tier), testEnv())
			var got []grant
			for _, r := range rec.OfType(tRole) {
				def := r.Inputs["roleDefinitionId"].(string)
				got = append(got, grant{roleNames[def[len(def)-36:]], r.Inputs["scope"].(string), r.Inputs["principalId"].(string), r.Inputs["principalType"].(string)})
				if want := "/subscriptions/" + testSub + "/providers/Microsoft.Authorization/roleDefinitions/"; def[:len(want)] != want {
					t.Errorf("role definition %s is not a subscription-scoped built-in role", def)
				}
				if r.Inputs["roleAssignmentName"] != r.Name {
					t.Errorf("role assignment logical name %s differs from its Azure name %v", r.Name, r.Inputs["roleAssignmentName"])
				}
			}
			// Registration order is concurrent; compare as sets.
			sort.Slice(got, func(i, j int) bool { return got[i].Scope < got[j].Scope })
			sort.Slice(tc.want, func(i, j int) bool { return tc.want[i].Scope < tc.want[j].Scope })
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("role assignments (-want +got):\n%s", d)
			}
			if len(out.RoleAssignments) != len(tc.want) {
				t.Errorf("roleAssignments output has %d grants, want %d", len(out.RoleAssignments), len(tc.want))
			}
		})
	}
}
