package azure

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/tenantplan"
)

// deployIdentity creates the tenant's planned user-assigned identity and federates it with the
// tenant's ServiceAccount on the shared cluster, and nothing else: its roles are granted by the
// layers that own the scopes (secrets), each on the tenant's own resources only. Its client id
// is a tenant stack output, and the Kubernetes part names it on the ServiceAccount
// (azure.workload.identity/client-id) and in the SecretProviderClass.
func deployIdentity(ctx *pulumi.Context, pl *tenantplan.Tenant, parent pulumi.Resource, p pulumi.ProviderResource, group pulumi.StringInput, cluster *managedCluster, out *TenantOutputs) (*UserAssignedIdentity, error) {
	plan := pl.Identity.Azure
	id := &UserAssignedIdentity{}
	if err := registerResource(ctx, TypeUserAssignedIdentity, plan.Name, &UserAssignedIdentityArgs{
		ResourceGroupName: group,
		ResourceName:      pulumi.String(plan.Name),
		Location:          pulumi.String(pl.Azure.Location),
		Tags:              pulumi.ToStringMap(pl.Azure.Tags),
	}, id, azOpts(parent, p)); err != nil {
		return nil, err
	}
	if err := registerResource(ctx, TypeFederatedIdentityCredential, plan.Name+"/"+plan.FederatedCredential, &FederatedIdentityCredentialArgs{
		ResourceGroupName:                       group,
		ResourceName:                            id.Name,
		FederatedIdentityCredentialResourceName: pulumi.String(plan.FederatedCredential),
		Issuer:                                  pulumi.String(cluster.OidcIssuerProfile.IssuerURL),
		Subject:                                 pulumi.String(plan.Subject),
		Audiences:                               pulumi.ToStringArray(plan.Audiences),
	}, &FederatedIdentityCredential{}, azOpts(parent, p)); err != nil {
		return nil, err
	}
	out.Identity = plan.Name
	out.IdentityID = plan.ID
	out.IdentityClientID = id.ClientID
	out.FederatedSubject = plan.Subject
	return id, nil
}
