package reach

import (
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// PlannedSnapshot is the inventory the programs would produce for env and its bindings, read from
// their plans (tenantplan): the platform's Kubernetes objects and each tenant's namespace and
// NetworkPolicies, as the API server would store them, and on the azure target the hub-and-spoke
// network as ARM resources. Only the network layer of each tenant is planned, so a binding the
// programs would refuse for another layer is still analysed. The hub firewall is not planned:
// its rules are unknown, so the NSGs must close every tenant-to-tenant path on their own, which is
// what the analysis then proves.
func PlannedSnapshot(env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding) (*inventory.Snapshot, error) {
	platform, err := tenantplan.ForPlatform(env)
	if err != nil {
		return nil, err
	}
	snap := &inventory.Snapshot{}
	add := func(objs ...map[string]any) {
		for _, o := range objs {
			snap.Kubernetes = append(snap.Kubernetes, stored(o))
		}
	}
	// The cluster's own namespace, which the plans' DNS policies select.
	add(tenantplan.Namespace{Metadata: tenantplan.ObjectMeta{Name: tenantplan.DNSNamespace}}.Manifest())
	add(platform.KubernetesObjects()...)
	var tenants []*tenantplan.Tenant
	for _, b := range bindings {
		if b.Spec.Environment != env.Name() {
			continue
		}
		in := tenantplan.Inputs{Binding: b, Env: env, Platform: platform.Outputs()}
		pl, err := tenantplan.ForTenant(in, tenantplan.Layers(isolation.LayerNetwork))
		if err != nil {
			return nil, err
		}
		// A dedicated node pool places the tenant's pods' traffic in its nodes subnet; a binding
		// the compute layer refuses keeps its network plan without one.
		if withPool, err := tenantplan.ForTenant(in, tenantplan.Layers(isolation.LayerNetwork, isolation.LayerCompute)); err == nil {
			pl.Compute.NodePool = withPool.Compute.NodePool
		}
		add(pl.KubernetesObjects()...)
		tenants = append(tenants, pl)
	}
	if platform.Azure != nil {
		if snap.Azure, err = plannedNetwork(platform.Azure, tenants); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

// stored is a manifest as the API server stores it: every namespace carries its name as the
// kubernetes.io/metadata.name label, which selectors of the plans rely on.
func stored(o map[string]any) unstructured.Unstructured {
	u := unstructured.Unstructured{Object: o}
	if u.GetKind() == "Namespace" && u.GetAPIVersion() == "v1" {
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[tenantplan.NamespaceNameLabel] = u.GetName()
		u.SetLabels(labels)
	}
	return u
}

// plannedNetwork renders the hub and every planned tenant VNet (its NSG, route table, subnets and
// both sides of its hub peering) as the ARM resources Azure would report.
func plannedNetwork(platform *tenantplan.AzurePlatform, tenants []*tenantplan.Tenant) ([]inventory.AzureResource, error) {
	h := platform.Hub
	hub := &armnetwork.VirtualNetwork{
		ID: to.Ptr(h.ID), Name: to.Ptr(h.Name), Type: to.Ptr(azurenet.TypeVirtualNetwork), Tags: tagPtrs(platform.Tags),
		Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs(h.AddressSpace...)}},
	}
	var res []inventory.AzureResource
	add := func(v any, id, name, typ string, tags map[string]*string) error {
		r, err := azurenet.Resource(v, id, name, typ, tags)
		if err == nil {
			res = append(res, r)
		}
		return err
	}
	for _, t := range tenants {
		v := t.Network.VNet
		if v == nil {
			continue
		}
		tags := tagPtrs(t.Azure.Tags)
		if err := add(plannedNSG(v.NSG), v.NSG.ID, v.NSG.Name, azurenet.TypeNSG, tags); err != nil {
			return nil, err
		}
		if rt := v.RouteTable; rt != nil {
			table := &armnetwork.RouteTable{ID: to.Ptr(rt.ID), Name: to.Ptr(rt.Name), Tags: tags,
				Properties: &armnetwork.RouteTablePropertiesFormat{DisableBgpRoutePropagation: to.Ptr(true)}}
			for _, r := range rt.Routes {
				table.Properties.Routes = append(table.Properties.Routes, &armnetwork.Route{
					ID: to.Ptr(rt.ID + "/routes/" + r.Name), Name: to.Ptr(r.Name),
					Properties: &armnetwork.RoutePropertiesFormat{AddressPrefix: to.Ptr(r.AddressPrefix),
						NextHopType: to.Ptr(armnetwork.RouteNextHopType(r.NextHopType)), NextHopIPAddress: to.Ptr(r.NextHopIPAddress)},
				})
			}
			if err := add(table, rt.ID, rt.Name, azurenet.TypeRouteTable, tags); err != nil {
				return nil, err
			}
		}
		spoke := &armnetwork.VirtualNetwork{
			ID: to.Ptr(v.ID), Name: to.Ptr(v.Name), Type: to.Ptr(azurenet.TypeVirtualNetwork), Tags: tags,
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: to.SliceOfPtrs(v.AddressSpace...)}},
		}
		for _, s := range v.Subnets {
			sn := &armnetwork.Subnet{ID: to.Ptr(s.ID), Name: to.Ptr(s.Name), Properties: &armnetwork.SubnetPropertiesFormat{
				AddressPrefix:                  to.Ptr(s.AddressPrefix),
				NetworkSecurityGroup:           &armnetwork.SecurityGroup{ID: to.Ptr(v.NSG.ID)},
				PrivateEndpointNetworkPolicies: to.Ptr(armnetwork.VirtualNetworkPrivateEndpointNetworkPoliciesEnabled),
			}}
			if s.RouteTable {
				sn.Properties.RouteTable = &armnetwork.RouteTable{ID: to.Ptr(v.RouteTable.ID)}
			}
			spoke.Properties.Subnets = append(spoke.Properties.Subnets, sn)
		}
		for _, p := range v.Peerings {
			switch p.VNet {
			case v.Name:
				spoke.Properties.VirtualNetworkPeerings = append(spoke.Properties.VirtualNetworkPeerings, plannedPeering(p))
			case h.Name:
				hub.Properties.VirtualNetworkPeerings = append(hub.Properties.VirtualNetworkPeerings, plannedPeering(p))
			default:
				return nil, fmt.Errorf("tenant %s: peering %s is on VNet %s, neither its own nor the hub", t.TenantID, p.Name, p.VNet)
			}
		}
		if err := add(spoke, v.ID, v.Name, azurenet.TypeVirtualNetwork, tags); err != nil {
			return nil, err
		}
	}
	if err := add(hub, h.ID, h.Name, azurenet.TypeVirtualNetwork, hub.Tags); err != nil {
		return nil, err
	}
	for _, t := range tenants {
		if np := t.Compute.NodePool; np != nil {
			res = append(res, plannedAgentPool(platform, np))
		}
	}
	return res, nil
}

// plannedAgentPool is a tenant's dedicated node pool as ARM lists it under the shared cluster:
// its subnet, labels and taints.
func plannedAgentPool(platform *tenantplan.AzurePlatform, np *tenantplan.AzureNodePool) inventory.AzureResource {
	cluster := tenantplan.ResourceID(platform.SubscriptionID, np.ClusterResourceGroup, azurenet.TypeManagedCluster, np.Cluster)
	labels := map[string]any{}
	for k, v := range np.Labels {
		labels[k] = v
	}
	taints := make([]any, len(np.Taints))
	for i, t := range np.Taints {
		taints[i] = t
	}
	return inventory.AzureResource{ID: cluster + "/agentPools/" + np.Name, Name: np.Name, Type: azurenet.TypeManagedCluster + "/agentPools",
		Properties: map[string]any{"vnetSubnetID": np.SubnetID, "nodeLabels": labels, "nodeTaints": taints, "minCount": float64(np.Min), "maxCount": float64(np.Max)}}
}

// plannedNSG is a planned NSG's rules (every protocol and port); the analysis adds Azure's
// default rules itself.
func plannedNSG(nsg tenantplan.AzureNSG) *armnetwork.SecurityGroup {
	g := &armnetwork.SecurityGroup{ID: to.Ptr(nsg.ID), Name: to.Ptr(nsg.Name), Properties: &armnetwork.SecurityGroupPropertiesFormat{}}
	for _, r := range nsg.Rules {
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
			&armnetwork.SecurityRule{ID: to.Ptr(nsg.ID + "/securityRules/" + r.Name), Name: to.Ptr(r.Name), Properties: p})
	}
	return g
}

// plannedPeering is one side of a planned peering, connected.
func plannedPeering(p tenantplan.AzurePeering) *armnetwork.VirtualNetworkPeering {
	return &armnetwork.VirtualNetworkPeering{
		ID: to.Ptr(p.ID), Name: to.Ptr(p.Name),
		Properties: &armnetwork.VirtualNetworkPeeringPropertiesFormat{
			RemoteVirtualNetwork:      &armnetwork.SubResource{ID: to.Ptr(p.RemoteID)},
			PeeringState:              to.Ptr(armnetwork.VirtualNetworkPeeringStateConnected),
			AllowVirtualNetworkAccess: to.Ptr(true),
			AllowForwardedTraffic:     to.Ptr(p.AllowForwardedTraffic),
			AllowGatewayTransit:       to.Ptr(p.AllowGatewayTransit),
			UseRemoteGateways:         to.Ptr(p.UseRemoteGateways),
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
