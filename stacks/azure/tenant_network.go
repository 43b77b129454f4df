package azure

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Service tags and wildcards of NSG rules.
const (
	tagVirtualNetwork    = "VirtualNetwork"
	tagAzureLoadBalancer = "AzureLoadBalancer"
	anyPrefix            = "*"
)

// SecurityRule is one NSG rule as tenantctl writes it: every protocol and port, so a rule says
// only who may talk to whom. Exactly one of the prefix and prefixes fields is set per side.
type SecurityRule struct {
	Name                       string
	Priority                   int
	Direction                  string // Inbound, Outbound
	Access                     string // Allow, Deny
	SourceAddressPrefix        string
	SourceAddressPrefixes      []string
	DestinationAddressPrefix   string
	DestinationAddressPrefixes []string
}

// TenantSecurityRules are the rules of a dedicated VNet's NSG: the hub and the VNet itself may
// talk to the VNet; every other address of the environment's tenant range, and the VirtualNetwork
// service tag (which covers every peered network and the platform's own), is denied explicitly,
// ahead of Azure's default AllowVnetInBound/OutBound rules. Other tenants are denied by range,
// not by name, so adding a tenant changes no other tenant's stack and no stack names another
// tenant's addresses. Internet egress keeps Azure's default (or the hub firewall route).
func TenantSecurityRules(vnetSpace, hub, envSpace []string) []SecurityRule {
	return []SecurityRule{
		{Name: "allow-hub-inbound", Priority: 100, Direction: "Inbound", Access: "Allow", SourceAddressPrefixes: hub, DestinationAddressPrefixes: vnetSpace},
		{Name: "allow-vnet-inbound", Priority: 110, Direction: "Inbound", Access: "Allow", SourceAddressPrefixes: vnetSpace, DestinationAddressPrefixes: vnetSpace},
		// Health probes of the node pool's load balancers.
		{Name: "allow-azure-load-balancer-inbound", Priority: 120, Direction: "Inbound", Access: "Allow", SourceAddressPrefix: tagAzureLoadBalancer, DestinationAddressPrefixes: vnetSpace},
		{Name: "deny-tenant-ranges-inbound", Priority: 4000, Direction: "Inbound", Access: "Deny", SourceAddressPrefixes: envSpace, DestinationAddressPrefix: anyPrefix},
		{Name: "deny-virtual-network-inbound", Priority: 4010, Direction: "Inbound", Access: "Deny", SourceAddressPrefix: tagVirtualNetwork, DestinationAddressPrefix: anyPrefix},
		{Name: "deny-all-inbound", Priority: 4096, Direction: "Inbound", Access: "Deny", SourceAddressPrefix: anyPrefix, DestinationAddressPrefix: anyPrefix},
		{Name: "allow-hub-outbound", Priority: 100, Direction: "Outbound", Access: "Allow", SourceAddressPrefixes: vnetSpace, DestinationAddressPrefixes: hub},
		{Name: "allow-vnet-outbound", Priority: 110, Direction: "Outbound", Access: "Allow", SourceAddressPrefixes: vnetSpace, DestinationAddressPrefixes: vnetSpace},
		{Name: "deny-tenant-ranges-outbound", Priority: 4000, Direction: "Outbound", Access: "Deny", SourceAddressPrefix: anyPrefix, DestinationAddressPrefixes: envSpace},
		{Name: "deny-virtual-network-outbound", Priority: 4010, Direction: "Outbound", Access: "Deny", SourceAddressPrefix: anyPrefix, DestinationAddressPrefix: tagVirtualNetwork},
	}
}

func (r SecurityRule) args() network.SecurityRuleTypeArgs {
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

// Route names of a tenant VNet's route table.
const RouteDefaultViaFirewall = "default-via-hub-firewall"

// tenantNetwork is what the other layers use of the network layer.
type tenantNetwork struct {
	vnet    *network.VirtualNetwork
	subnets map[string]*network.Subnet
}

// deployNetwork creates a dedicated VNet: the VNet, its NSG, a route table through the hub
// firewall when the hub has one, the subnets (each with the NSG, and with network policies
// enabled for private endpoints so the NSG applies to them too), and the peering with the hub in
// both directions. The VNet peers with the hub and nothing else.
func deployNetwork(ctx *pulumi.Context, pl *tenantPlan, parent pulumi.Resource, p pulumi.ProviderResource, group pulumi.StringInput, out *TenantOutputs) (*tenantNetwork, error) {
	v := pl.vnet
	o := func(extra ...pulumi.ResourceOption) []pulumi.ResourceOption { return azOpts(parent, p, extra...) }
	nsgName := TenantNSG(pl.id, pl.env)
	rules := network.SecurityRuleTypeArray{}
	for _, r := range TenantSecurityRules(v.addressSpace, v.hub, v.envSpace) {
		rules = append(rules, r.args())
	}
	nsg, err := network.NewNetworkSecurityGroup(ctx, nsgName, &network.NetworkSecurityGroupArgs{
		ResourceGroupName:        group,
		NetworkSecurityGroupName: pulumi.String(nsgName),
		Location:                 pulumi.String(pl.location),
		SecurityRules:            rules,
		Tags:                     pulumi.ToStringMap(pl.tags),
	}, o()...)
	if err != nil {
		return nil, fmt.Errorf("network security group %s: %w", nsgName, err)
	}

	var rt *network.RouteTable
	if v.firewallIP != "" {
		rtName := TenantRouteTable(pl.id, pl.env)
		rt, err = network.NewRouteTable(ctx, rtName, &network.RouteTableArgs{
			ResourceGroupName: group,
			RouteTableName:    pulumi.String(rtName),
			Location:          pulumi.String(pl.location),
			// Routes learnt from the hub's gateway must not bypass the firewall.
			DisableBgpRoutePropagation: pulumi.Bool(true),
			Routes: network.RouteTypeArray{network.RouteTypeArgs{
				Name:             pulumi.String(RouteDefaultViaFirewall),
				AddressPrefix:    pulumi.String("0.0.0.0/0"),
				NextHopType:      pulumi.String("VirtualAppliance"),
				NextHopIpAddress: pulumi.String(v.firewallIP),
			}},
			Tags: pulumi.ToStringMap(pl.tags),
		}, o()...)
		if err != nil {
			return nil, fmt.Errorf("route table %s: %w", rtName, err)
		}
		out.RouteTable = rtName
	}

	// Subnets are separate resources (the VNet declares none), so adding one never rewrites the
	// VNet; they are created one after another because Azure refuses concurrent subnet changes
	// on one VNet.
	vnet, err := network.NewVirtualNetwork(ctx, v.name, &network.VirtualNetworkArgs{
		ResourceGroupName:  group,
		VirtualNetworkName: pulumi.String(v.name),
		Location:           pulumi.String(pl.location),
		AddressSpace:       &network.AddressSpaceArgs{AddressPrefixes: pulumi.ToStringArray(v.addressSpace)},
		Tags:               pulumi.ToStringMap(pl.tags),
	}, o()...)
	if err != nil {
		return nil, fmt.Errorf("vnet %s: %w", v.name, err)
	}
	net := &tenantNetwork{vnet: vnet, subnets: map[string]*network.Subnet{}}
	var prev pulumi.Resource
	out.Subnets = map[string]string{}
	for _, s := range v.subnets {
		args := &network.SubnetArgs{
			ResourceGroupName:              group,
			VirtualNetworkName:             vnet.Name,
			SubnetName:                     pulumi.String(s.Name),
			AddressPrefix:                  pulumi.String(s.AddressPrefix),
			NetworkSecurityGroup:           &network.NetworkSecurityGroupTypeArgs{Id: nsg.ID().ToStringOutput()},
			PrivateEndpointNetworkPolicies: pulumi.String("Enabled"),
		}
		if rt != nil && s.Name != v.endpoints {
			args.RouteTable = &network.RouteTableTypeArgs{Id: rt.ID().ToStringOutput()}
		}
		extra := []pulumi.ResourceOption{}
		if prev != nil {
			extra = append(extra, pulumi.DependsOn([]pulumi.Resource{prev}))
		}
		sn, err := network.NewSubnet(ctx, v.name+"/"+s.Name, args, o(extra...)...)
		if err != nil {
			return nil, fmt.Errorf("subnet %s/%s: %w", v.name, s.Name, err)
		}
		net.subnets[s.Name] = sn
		out.Subnets[s.Name] = s.AddressPrefix
		prev = sn
	}

	hubID := ResourceID(pl.sub, pl.hubGroup, typeVirtualNetwork, pl.hubVNet)
	if _, err := network.NewVirtualNetworkPeering(ctx, v.name+"/"+PeeringToHub, &network.VirtualNetworkPeeringArgs{
		ResourceGroupName:         group,
		VirtualNetworkName:        vnet.Name,
		VirtualNetworkPeeringName: pulumi.String(PeeringToHub),
		RemoteVirtualNetwork:      &network.SubResourceArgs{Id: pulumi.String(hubID)},
		AllowVirtualNetworkAccess: pulumi.Bool(true),
		// Nothing the hub forwards (from another spoke or on-premises) enters the tenant VNet.
		AllowForwardedTraffic: pulumi.Bool(false),
		AllowGatewayTransit:   pulumi.Bool(false),
		UseRemoteGateways:     pulumi.Bool(v.gateways),
	}, o(pulumi.DependsOn([]pulumi.Resource{prev}))...); err != nil {
		return nil, fmt.Errorf("peering %s/%s: %w", v.name, PeeringToHub, err)
	}
	hubSide := PeeringToTenant(pl.id)
	if _, err := network.NewVirtualNetworkPeering(ctx, pl.hubVNet+"/"+hubSide, &network.VirtualNetworkPeeringArgs{
		ResourceGroupName:         pulumi.String(pl.hubGroup),
		VirtualNetworkName:        pulumi.String(pl.hubVNet),
		VirtualNetworkPeeringName: pulumi.String(hubSide),
		RemoteVirtualNetwork:      &network.SubResourceArgs{Id: vnet.ID().ToStringOutput()},
		AllowVirtualNetworkAccess: pulumi.Bool(true),
		AllowForwardedTraffic:     pulumi.Bool(false),
		AllowGatewayTransit:       pulumi.Bool(v.gateways),
		UseRemoteGateways:         pulumi.Bool(false),
	}, o(pulumi.DependsOn([]pulumi.Resource{prev}))...); err != nil {
		return nil, fmt.Errorf("peering %s/%s: %w", pl.hubVNet, hubSide, err)
	}

	out.VNet = v.name
	out.VNetID = ResourceID(pl.sub, pl.group, typeVirtualNetwork, v.name)
	out.NetworkSecurityGroup = nsgName
	out.Peerings = []string{v.name + "/" + PeeringToHub, pl.hubVNet + "/" + hubSide}
	return net, nil
}

// ARM resource types of the ids tenantctl computes.
const (
	typeVirtualNetwork = "Microsoft.Network/virtualNetworks"
	typeVault          = "Microsoft.KeyVault/vaults"
	typePrivateDNSZone = "Microsoft.Network/privateDnsZones"
	typeIdentity       = "Microsoft.ManagedIdentity/userAssignedIdentities"
	typeWorkspace      = "Microsoft.OperationalInsights/workspaces"
	typePostgres       = "Microsoft.DBforPostgreSQL/flexibleServers"
	typeSQLServer      = "Microsoft.Sql/servers"
)

// subnetID is the ARM id of a subnet of a VNet.
func subnetID(vnetID, subnet string) string { return vnetID + "/subnets/" + subnet }
