package azure

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/tenantplan"
)

// AnnotationWorkloadClientID is the ServiceAccount annotation that tells AKS's workload identity
// webhook which identity a pod acts as.
const AnnotationWorkloadClientID = "azure.workload.identity/client-id"

// deployIdentity creates the tenant's planned user-assigned identity and federates it with the
// tenant's ServiceAccount on the shared cluster, and nothing else: its roles are granted by the
// layers that own the scopes (secrets), each on the tenant's own resources only.
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

// annotateServiceAccount adds the identity's client id to the tenant's ServiceAccount, which the
// kubernetes part owns, with a server-side-apply patch: the patch owns only this annotation, so
// neither program overwrites the other's fields. It waits for the Kubernetes part (workloads)
// because a patch needs the object to exist.
func annotateServiceAccount(ctx *pulumi.Context, pl *tenantplan.Tenant, parent pulumi.Resource, k8s pulumi.ProviderResource, workloads pulumi.Resource, clientID pulumi.StringOutput) error {
	sa := pl.Identity.ServiceAccount.Metadata
	key := sa.Namespace + "/" + sa.Name
	if _, err := corev1.NewServiceAccountPatch(ctx, key, &corev1.ServiceAccountPatchArgs{
		Metadata: &metav1.ObjectMetaPatchArgs{
			Name:        pulumi.String(sa.Name),
			Namespace:   pulumi.String(sa.Namespace),
			Annotations: pulumi.StringMap{AnnotationWorkloadClientID: clientID},
		},
	}, pulumi.Parent(parent), pulumi.Provider(k8s), pulumi.DependsOn([]pulumi.Resource{workloads})); err != nil {
		return fmt.Errorf("service account patch %s: %w", key, err)
	}
	return nil
}
