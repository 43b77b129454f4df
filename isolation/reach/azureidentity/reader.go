package azureidentity

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
)

// Read lists what the identity analysis needs in one subscription: every role assignment and
// role definition (built-in and custom) visible at the subscription, Key Vaults with their access
// policies, user-assigned identities and each identity's federated credentials. Each becomes an
// inventory resource whose Raw is the SDK value marshalled back to ARM JSON, as the network
// reader (isolation/reach/azurenet.Read) does. Any failed list fails the read.
//
// Options are the network reader's (azurenet.WithClientOptions), so one set serves both readers.
func Read(ctx context.Context, cred azcore.TokenCredential, subscriptionID string, opts ...azurenet.ReadOption) ([]inventory.AzureResource, error) {
	var co arm.ClientOptions
	for _, o := range opts {
		o(&co)
	}
	wrap := func(what string, err error) error {
		return fmt.Errorf("azure identity clients for subscription %s: %s: %w", subscriptionID, what, err)
	}
	assignments, err := armauthorization.NewRoleAssignmentsClient(subscriptionID, cred, &co)
	if err != nil {
		return nil, wrap("role assignments", err)
	}
	definitions, err := armauthorization.NewRoleDefinitionsClient(cred, &co)
	if err != nil {
		return nil, wrap("role definitions", err)
	}
	vaults, err := armkeyvault.NewVaultsClient(subscriptionID, cred, &co)
	if err != nil {
		return nil, wrap("key vaults", err)
	}
	identities, err := armmsi.NewUserAssignedIdentitiesClient(subscriptionID, cred, &co)
	if err != nil {
		return nil, wrap("user-assigned identities", err)
	}
	credentials, err := armmsi.NewFederatedIdentityCredentialsClient(subscriptionID, cred, &co)
	if err != nil {
		return nil, wrap("federated identity credentials", err)
	}

	var out []inventory.AzureResource
	add := func(v any, id, name *string, typ string, tags map[string]*string) error {
		r, err := azurenet.Resource(v, deref(id), deref(name), typ, tags)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	}
	if err := azurenet.Drain(ctx, "role assignments", assignments.NewListForSubscriptionPager(nil), func(p armauthorization.RoleAssignmentsClientListForSubscriptionResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypeRoleAssignment, nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := azurenet.Drain(ctx, "role definitions", definitions.NewListPager("/subscriptions/"+subscriptionID, nil), func(p armauthorization.RoleDefinitionsClientListResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypeRoleDefinition, nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := azurenet.Drain(ctx, "key vaults", vaults.NewListBySubscriptionPager(nil), func(p armkeyvault.VaultsClientListBySubscriptionResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypeVault, v.Tags); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var ids []*armmsi.Identity
	if err := azurenet.Drain(ctx, "user-assigned identities", identities.NewListBySubscriptionPager(nil), func(p armmsi.UserAssignedIdentitiesClientListBySubscriptionResponse) error {
		for _, v := range p.Value {
			if err := add(v, v.ID, v.Name, TypeIdentity, v.Tags); err != nil {
				return err
			}
			ids = append(ids, v)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// Credentials are listed per identity: ARM has no subscription-wide list of them.
	for _, id := range ids {
		group, name := resourceGroup(deref(id.ID)), deref(id.Name)
		what := "federated identity credentials of " + deref(id.ID)
		if err := azurenet.Drain(ctx, what, credentials.NewListPager(group, name, nil), func(p armmsi.FederatedIdentityCredentialsClientListResponse) error {
			for _, v := range p.Value {
				if err := add(v, v.ID, v.Name, TypeFederatedCredential, nil); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
