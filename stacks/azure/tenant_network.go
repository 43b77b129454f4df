package azure

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/tenantplan"
)

func securityRuleArgs(r tenantplan.SecurityRule) network.SecurityRuleTypeArgs {
	a := network.SecurityRuleTypeArgs{
		Name:                 pulumi.String(r.Name),
		Priority:             pulumi.Int(r.Priority),
		Direction:            pulumi.String(r.Direction),
		Access:               pulumi.String(r.Access),
		Protocol:             pulumi.String("*"),
		SourcePortRange:      pulumi.String("*"),
		DestinationPortRange: pulumi.String("*"),
	}
	if r.SourceAddressPrefix != "" {
		a.SourceAddressPrefix = pulumi.String(r.SourceAddressPrefix)
	} else {
		a.SourceAddressPrefixes = pulumi.ToStringArray(r.SourceAddressPrefixes)
	}
	if r.DestinationAddressPrefix != "" {
		a.DestinationAddressPrefix = pulumi.String(r.DestinationAddressPrefix)
	} else {
		a.DestinationAddressPrefixes = pulumi.ToStringArray(r.DestinationAddressPrefixes)
	}
	return a
}

// tenantNetwork is what the other layers use of the network layer.
type tenantNetwork struct {
	vnet    *network.VirtualNetwork
	subnets map[string]*network.Subnet
}

// deployNetwork creates a planned dedicated VNet (tenantplan.AzureVNet): the VNet, its NSG, the
// route table, the subnets and both sides of the hub peering.
func deployNetwork(ctx *pulumi.Context, pl *tenantplan.Tenant, parent pulumi.Resource, p pulumi.ProviderResource, group pulumi.StringInput, out *TenantOutputs) (*tenantNetwork, error) {
	v, az := pl.Network.VNet, pl.Azure
	o := func(extra ...pulumi.ResourceOption) []pulumi.ResourceOption { return azOpts(parent, p, extra...) }
	rules := network.SecurityRuleTypeArray{}
	for _, r := range v.NSG.Rules {
		rules = append(rules, securityRuleArgs(r))
	}
	nsg, err := network.NewNetworkSecurityGroup(ctx, v.NSG.Name, &network.NetworkSecurityGroupArgs{
		ResourceGroupName:        group,
		NetworkSecurityGroupName: pulumi.String(v.NSG.Name),
		Location:                 pulumi.String(az.Location),
		SecurityRules:            rules,
		Tags:                     pulumi.ToStringMap(az.Tags),
	}, o()...)
	if err != nil {
		return nil, fmt.Errorf("network security group %s: %w", v.NSG.Name, err)
	}

	var rt *network.RouteTable
	if plan := v.RouteTable; plan != nil {
		routes := network.RouteTypeArray{}
		for _, r := range plan.Routes {
			routes = append(routes, network.RouteTypeArgs{
				Name:             pulumi.String(r.Name),
				AddressPrefix:    pulumi.String(r.AddressPrefix),
				NextHopType:      pulumi.String(r.NextHopType),
				NextHopIpAddress: pulumi.String(r.NextHopIPAddress),
			})
		}
		rt, err = network.NewRouteTable(ctx, plan.Name, &network.RouteTableArgs{
			ResourceGroupName: group,
			RouteTableName:    pulumi.String(plan.Name),
			Location:          pulumi.String(az.Location),
			// Routes learnt from the hub's gateway must not bypass the firewall.
			DisableBgpRoutePropagation: pulumi.Bool(true),
			Routes:                     routes,
			Tags:                       pulumi.ToStringMap(az.Tags),
		}, o()...)
		if err != nil {
			return nil, fmt.Errorf("route table %s: %w", plan.Name, err)
		}
		out.RouteTable = plan.Name
	}

	// Subnets are separate resources (the VNet declares none), so adding one never rewrites the
	// VNet; they are created one after another because Azure refuses concurrent subnet changes
	// on one VNet.
	vnet, err := network.NewVirtualNetwork(ctx, v.Name, &network.VirtualNetworkArgs{
		ResourceGroupName:  group,
		VirtualNetworkName: pulumi.String(v.Name),
		Location:           pulumi.String(az.Location),
		AddressSpace:       &network.AddressSpaceArgs{AddressPrefixes: pulumi.ToStringArray(v.AddressSpace)},
		Tags:               pulumi.ToStringMap(az.Tags),
	}, o()...)
	if err != nil {
		return nil, fmt.Errorf("vnet %s: %w", v.Name, err)
	}
	net := &tenantNetwork{vnet: vnet, subnets: map[string]*network.Subnet{}}
	var prev pulumi.Resource
	out.Subnets = map[string]string{}
	for _, s := range v.Subnets {
		args := &network.SubnetArgs{
			ResourceGroupName:              group,
			VirtualNetworkName:             vnet.Name,
			SubnetName:                     pulumi.String(s.Name),
			AddressPrefix:                  pulumi.String(s.AddressPrefix),
			NetworkSecurityGroup:           &network.NetworkSecurityGroupTypeArgs{Id: nsg.ID().ToStringOutput()},
			PrivateEndpointNetworkPolicies: pulumi.String("Enabled"),
		}
		if s.RouteTable {
			args.RouteTable = &network.RouteTableTypeArgs{Id: rt.ID().ToStringOutput()}
		}
		extra := []pulumi.ResourceOption{}
		if prev != nil {
			extra = append(extra, pulumi.DependsOn([]pulumi.Resource{prev}))
		}
		sn, err := network.NewSubnet(ctx, v.Name+"/"+s.Name, args, o(extra...)...)
		if err != nil {
			return nil, fmt.Errorf("subnet %s/%s: %w", v.Name, s.Name, err)
		}
		net.subnets[s.Name] = sn
		out.Subnets[s.Name] = s.AddressPrefix
		prev = sn
	}

	// The spoke side lives in the tenant's VNet; the hub side names the VNet by its resource, so
	// both wait for it.
	spoke, hub := v.Peerings[0], v.Peerings[1]
	sides := []struct {
		plan          tenantplan.AzurePeering
		group, vnet   pulumi.StringInput
		remoteNetwork pulumi.StringInput
	}{
		{spoke, group, vnet.Name, pulumi.String(spoke.RemoteID)},
		{hub, pulumi.String(hub.ResourceGroup), pulumi.String(hub.VNet), vnet.ID().ToStringOutput()},
	}
	for _, side := range sides {
		pr := side.plan
		if _, err := network.NewVirtualNetworkPeering(ctx, pr.VNet+"/"+pr.Name, &network.VirtualNetworkPeeringArgs{
			ResourceGroupName:         side.group,
			VirtualNetworkName:        side.vnet,
			VirtualNetworkPeeringName: pulumi.String(pr.Name),
			RemoteVirtualNetwork:      &network.SubResourceArgs{Id: side.remoteNetwork},
			AllowVirtualNetworkAccess: pulumi.Bool(true),
			AllowForwardedTraffic:     pulumi.Bool(pr.AllowForwardedTraffic),
			AllowGatewayTransit:       pulumi.Bool(pr.AllowGatewayTransit),
			UseRemoteGateways:         pulumi.Bool(pr.UseRemoteGateways),
		}, o(pulumi.DependsOn([]pulumi.Resource{prev}))...); err != nil {
			return nil, fmt.Errorf("peering %s/%s: %w", pr.VNet, pr.Name, err)
		}
		out.Peerings = append(out.Peerings, pr.VNet+"/"+pr.Name)
	}

	out.VNet = v.Name
	out.VNetID = v.ID
	out.NetworkSecurityGroup = v.NSG.Name
	return net, nil
}
