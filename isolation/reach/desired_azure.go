package reach

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"
	"github.com/connectsoft/tenantctl/tenantplan"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/azure"
)

// desiredAzure is the network the azure programs (stacks/azure) create, as ARM resources: the
// hub VNet, and for every dedicated-vnet tenant its VNet, subnets (each with the tenant NSG and
// private endpoint network policies enabled), the route table through the hub firewall (not on
// the endpoints subnet) and the peering with the hub in both directions. Names, NSG rules and
// peering flags come from stacks/azure's exported helpers, so the two cannot drift apart
// silently. The hub firewall is not desired state: its rules are unknown, so the NSGs must close
// every tenant-to-tenant path on their own, which is what the analysis then proves.
func desiredAzure(env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding) ([]inventory.AzureResource, error) {
	sub := "00000000-0000-0000-0000-000000000000"
	if a := env.Spec.Azure; a != nil && a.SubscriptionID != "" {
		sub = a.SubscriptionID
	}
	hubID := tenantplan.ResourceID(sub, tenantplan.HubResourceGroup(env), azure.TypeVirtualNetwork, tenantplan.HubVNet(env))
	hub := &armnetwork.VirtualNetwork{
		ID: to.Ptr(hubID), Name: to.Ptr(tenantplan.HubVNet(env)), Type: to.Ptr(azure.TypeVirtualNetwork),
		Tags:       tagPtrs(tenantplan.PlatformTags(env)),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs(env.Spec.Hub.AddressSpace...)}},
	}
	var res []inventory.AzureResource
	add := func(v any, id, name, typ string, tags map[string]*string) error {
		r, err := azure.Resource(v, id, name, typ, tags)
		if err == nil {
			res = append(res, r)
		}
		return err
	}
	gateways := env.Spec.Hub.UseRemoteGateways
	for _, b := range bindings {
		if b.Spec.Environment != env.Name() || b.Spec.Network == nil || isolation.Resolve(b)[isolation.LayerNetwork] != isolation.NetworkDedicatedVNet {
			continue
		}
		id, envName := b.Spec.TenantID, env.Name()
		group := tenantplan.TenantResourceGroup(id, envName)
		tags := tagPtrs(tenantplan.TenantTags(b))
		nsgID := tenantplan.ResourceID(sub, group, azure.TypeNSG, tenantplan.TenantNSG(id, envName))
		if err := add(desiredNSG(nsgID, tenantplan.TenantNSG(id, envName), b.Spec.Network.AddressSpace, env), nsgID, tenantplan.TenantNSG(id, envName), azure.TypeNSG, tags); err != nil {
			return nil, err
		}
		rtID := ""
		if ip := env.Spec.Hub.FirewallIP; ip != "" {
			rtID = tenantplan.ResourceID(sub, group, azure.TypeRouteTable, tenantplan.TenantRouteTable(id, envName))
			rt := &armnetwork.RouteTable{ID: to.Ptr(rtID), Name: to.Ptr(tenantplan.TenantRouteTable(id, envName)), Tags: tags,
				Properties: &armnetwork.RouteTablePropertiesFormat{DisableBgpRoutePropagation: to.Ptr(true), Routes: []*armnetwork.Route{{
					ID: to.Ptr(rtID + "/routes/" + tenantplan.RouteDefaultViaFirewall), Name: to.Ptr(tenantplan.RouteDefaultViaFirewall),
					Properties: &armnetwork.RoutePropertiesFormat{AddressPrefix: to.Ptr("0.0.0.0/0"),
						NextHopType: to.Ptr(armnetwork.RouteNextHopTypeVirtualAppliance), NextHopIPAddress: to.Ptr(ip)},
				}}}}
			if err := add(rt, rtID, *rt.Name, azure.TypeRouteTable, tags); err != nil {
				return nil, err
			}
		}
		vnetID := tenantplan.ResourceID(sub, group, azure.TypeVirtualNetwork, tenantplan.TenantVNet(id, envName))
		spoke := &armnetwork.VirtualNetwork{
			ID: to.Ptr(vnetID), Name: to.Ptr(tenantplan.TenantVNet(id, envName)), Type: to.Ptr(azure.TypeVirtualNetwork), Tags: tags,
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs(b.Spec.Network.AddressSpace...)}},
		}
		endpoints := ""
		for _, s := range b.Spec.Network.Subnets {
			if s.Purpose == isolation.SubnetEndpoints {
				endpoints = s.Name
				break
			}
		}
		for _, s := range b.Spec.Network.Subnets {
			sn := &armnetwork.Subnet{ID: to.Ptr(vnetID + "/subnets/" + s.Name), Name: to.Ptr(s.Name), Properties: &armnetwork.SubnetPropertiesFormat{
				AddressPrefix:                  to.Ptr(s.AddressPrefix),
				NetworkSecurityGroup:           &armnetwork.SecurityGroup{ID: to.Ptr(nsgID)},
				PrivateEndpointNetworkPolicies: to.Ptr(armnetwork.VirtualNetworkPrivateEndpointNetworkPoliciesEnabled),
			}}
			if rtID != "" && s.Name != endpoints {
				sn.Properties.RouteTable = &armnetwork.RouteTable{ID: to.Ptr(rtID)}
			}
			spoke.Properties.Subnets = append(spoke.Properties.Subnets, sn)
		}
		spoke.Properties.VirtualNetworkPeerings = []*armnetwork.VirtualNetworkPeering{
			desiredPeering(vnetID, tenantplan.PeeringToHub, hubID, false, gateways)}
		hub.Properties.VirtualNetworkPeerings = append(hub.Properties.VirtualNetworkPeerings,
			desiredPeering(hubID, tenantplan.PeeringToTenant(id), vnetID, gateways, false))
		if err := add(spoke, vnetID, *spoke.Name, azure.TypeVirtualNetwork, tags); err != nil {
			return nil, err
		}
	}
	if err := add(hub, hubID, *hub.Name, azure.TypeVirtualNetwork, hub.Tags); err != nil {
		return nil, err
	}
	return res, nil
}

// desiredNSG is the tenant NSG: stacks/azure's rules (all protocols and ports) plus Azure's
// defaults, which the analysis adds itself.
func desiredNSG(id, name string, space []string, env *isolation.Environment) *armnetwork.SecurityGroup {
	g := &armnetwork.SecurityGroup{ID: to.Ptr(id), Name: to.Ptr(name), Properties: &armnetwork.SecurityGroupPropertiesFormat{}}
	for _, r := range tenantplan.TenantSecurityRules(space, env.Spec.Hub.AddressSpace, env.Spec.AddressSpace) {
		p := &armnetwork.SecurityRulePropertiesFormat{
			Priority: to.Ptr(int32(r.Priority)), Direction: to.Ptr(armnetwork.SecurityRuleDirection(r.Direction)),
			Access: to.Ptr(armnetwork.SecurityRuleAccess(r.Access)), Protocol: to.Ptr(armnetwork.SecurityRuleProtocolAsterisk),
			SourcePortRange: to.Ptr("*"), DestinationPortRange: to.Ptr("*"),
		}
		if r.SourceAddressPrefix != "" {
			p.SourceAddressPrefix = to.Ptr(r.SourceAddressPrefix)
		} else {
			p.SourceAddressPrefixes = to.SliceOfPtrs(r.SourceAddressPrefixes...)
		}
		if r.DestinationAddressPrefix != "" {
			p.DestinationAddressPrefix = to.Ptr(r.DestinationAddressPrefix)
		} else {
			p.DestinationAddressPrefixes = to.SliceOfPtrs(r.DestinationAddressPrefixes...)
		}
		g.Properties.SecurityRules = append(g.Properties.SecurityRules,
			&armnetwork.SecurityRule{ID: to.Ptr(id + "/securityRules/" + r.Name), Name: to.Ptr(r.Name), Properties: p})
	}
	return g
}

func desiredPeering(localID, name, remoteID string, gatewayTransit, remoteGateways bool) *armnetwork.VirtualNetworkPeering {
	return &armnetwork.VirtualNetworkPeering{
		ID: to.Ptr(localID + "/virtualNetworkPeerings/" + name), Name: to.Ptr(name),
		Properties: &armnetwork.VirtualNetworkPeeringPropertiesFormat{
			RemoteVirtualNetwork:      &armnetwork.SubResource{ID: to.Ptr(remoteID)},
			PeeringState:              to.Ptr(armnetwork.VirtualNetworkPeeringStateConnected),
			AllowVirtualNetworkAccess: to.Ptr(true),
			// Nothing the hub forwards enters a tenant VNet (stacks/azure deployNetwork).
			AllowForwardedTraffic: to.Ptr(false),
			AllowGatewayTransit:   to.Ptr(gatewayTransit),
			UseRemoteGateways:     to.Ptr(remoteGateways),
		},
	}
}

func tagPtrs(m map[string]string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = to.Ptr(v)
	}
	return out
}
