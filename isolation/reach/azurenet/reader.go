package azurenet

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v8"

	"github.com/connectsoft/tenantctl/inventory"
)

// ReadOption tunes Read.
type ReadOption func(*arm.ClientOptions)

// WithClientOptions sets the ARM client options (a fake transport in tests, a sovereign cloud,
// retry policy).
func WithClientOptions(o arm.ClientOptions) ReadOption {
	return func(c *arm.ClientOptions) { *c = o }
}

// TypeManagedCluster is an AKS cluster: its agent pool profiles say which subnet each node pool's
// traffic leaves from (package underlay reads them).
const TypeManagedCluster = "Microsoft.ContainerService/managedClusters"

// Read lists the network resources reachability needs in one subscription: VNets (their subnets
// and peerings come inline), route tables, NSGs, private endpoints, Azure Firewalls, NICs and the
// managed clusters (their agent pools and subnets come inline). Each
// becomes an inventory resource whose Raw is the SDK value marshalled back to ARM JSON, so a
// snapshot written from it reads exactly like one written from the REST API.
func Read(ctx context.Context, cred azcore.TokenCredential, subscriptionID string, opts ...ReadOption) ([]inventory.AzureResource, error) {
	var co arm.ClientOptions
	for _, o := range opts {
		o(&co)
	}
	f, err := armnetwork.NewClientFactory(subscriptionID, cred, &co)
	if err != nil {
		return nil, fmt.Errorf("azure network clients for subscription %s: %w", subscriptionID, err)
	}
	var out []inventory.AzureResource
	add := func(v any, id, name *string, typ string, tags map[string]*string) error {
		r, err := Resource(v, deref(id), deref(name), typ, tags)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	}
	if err := Drain(ctx, "virtual networks", f.NewVirtualNetworksClient().NewListAllPager(nil), func(p armnetwork.VirtualNetworksClientListAllResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypeVirtualNetwork, v.Tags); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := Drain(ctx, "route tables", f.NewRouteTablesClient().NewListAllPager(nil), func(p armnetwork.RouteTablesClientListAllResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypeRouteTable, v.Tags); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := Drain(ctx, "network security groups", f.NewSecurityGroupsClient().NewListAllPager(nil), func(p armnetwork.SecurityGroupsClientListAllResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypeNSG, v.Tags); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := Drain(ctx, "private endpoints", f.NewPrivateEndpointsClient().NewListBySubscriptionPager(nil), func(p armnetwork.PrivateEndpointsClientListBySubscriptionResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypePrivateEndpoint, v.Tags); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := Drain(ctx, "azure firewalls", f.NewAzureFirewallsClient().NewListAllPager(nil), func(p armnetwork.AzureFirewallsClientListAllResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypeFirewall, v.Tags); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := Drain(ctx, "network interfaces", f.NewInterfacesClient().NewListAllPager(nil), func(p armnetwork.InterfacesClientListAllResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypeInterface, v.Tags); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	clusters, err := armcontainerservice.NewManagedClustersClient(subscriptionID, cred, &co)
	if err != nil {
		return nil, fmt.Errorf("azure managed cluster client for subscription %s: %w", subscriptionID, err)
	}
	if err := Drain(ctx, "managed clusters", clusters.NewListPager(nil), func(p armcontainerservice.ManagedClustersClientListResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypeManagedCluster, v.Tags); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// Drain reads every page of a pager (the identity reader lists through it too).
func Drain[T any](ctx context.Context, what string, pager *runtime.Pager[T], page func(T) error) error {
	for pager.More() {
		p, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", what, err)
		}
		if err := page(p); err != nil {
			return fmt.Errorf("list %s: %w", what, err)
		}
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
