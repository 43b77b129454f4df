package azure

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Workload identity on AKS: the token audience a federated credential accepts, and the
// ServiceAccount annotation that tells the webhook which identity a pod acts as.
const (
	TokenExchangeAudience      = "api://AzureADTokenExchange"
	AnnotationWorkloadClientID = "azure.workload.identity/client-id"
)

// ServiceAccountSubject is the subject of a Kubernetes ServiceAccount's tokens.
func ServiceAccountSubject(namespace, serviceAccount string) string {
	return "system:serviceaccount:" + namespace + ":" + serviceAccount
}

// deployIdentity creates the tenant's user-assigned identity and federates it with the tenant's
// ServiceAccount on the shared cluster, and nothing else: its roles are granted by the layers that
// own the scopes (secrets), each on the tenant's own resources only.
func deployIdentity(ctx *pulumi.Context, pl *tenantPlan, parent pulumi.Resource, p pulumi.ProviderResource, group pulumi.StringInput, cluster *managedCluster, out *TenantOutputs) (*UserAssignedIdentity, error) {
	id := &UserAssignedIdentity{}
	if err := byToken(ctx, TypeUserAssignedIdentity, pl.identity, &UserAssignedIdentityArgs{
		ResourceGroupName: group,
		ResourceName:      pulumi.String(pl.identity),
		Location:          pulumi.String(pl.location),
		Tags:              pulumi.ToStringMap(pl.tags),
	}, id, azOpts(parent, p)); err != nil {
		return nil, err
	}
	fic := FederatedCredentialName(pl.id)
	subject := ServiceAccountSubject(pl.namespace, pl.serviceAccount)
	if err := byToken(ctx, TypeFederatedIdentityCredential, pl.identity+"/"+fic, &FederatedIdentityCredentialArgs{
		ResourceGroupName:                       group,
		ResourceName:                            id.Name,
		FederatedIdentityCredentialResourceName: pulumi.String(fic),
		Issuer:                                  pulumi.String(cluster.OidcIssuerProfile.IssuerURL),
		Subject:                                 pulumi.String(subject),
		Audiences:                               pulumi.ToStringArray([]string{TokenExchangeAudience}),
	}, &FederatedIdentityCredential{}, azOpts(parent, p)); err != nil {
		return nil, err
	}
	out.Identity = pl.identity
	out.IdentityID = ResourceID(pl.sub, pl.group, typeIdentity, pl.identity)
	out.IdentityClientID = id.ClientID
	out.FederatedSubject = subject
	return id, nil
}

// annotateServiceAccount adds the identity's client id to the tenant's ServiceAccount, which the
// kubernetes part owns, with a server-side-apply patch: the patch owns only this annotation, so
// neither program overwrites the other's fields. It waits for the Kubernetes part (workloads)
// because a patch needs the object to exist.
func annotateServiceAccount(ctx *pulumi.Context, pl *tenantPlan, parent pulumi.Resource, k8s pulumi.ProviderResource, workloads pulumi.Resource, clientID pulumi.StringOutput) error {
	key := pl.namespace + "/" + pl.serviceAccount
	if _, err := corev1.NewServiceAccountPatch(ctx, key, &corev1.ServiceAccountPatchArgs{
		Metadata: &metav1.ObjectMetaPatchArgs{
			Name:        pulumi.String(pl.serviceAccount),
			Namespace:   pulumi.String(pl.namespace),
			Annotations: pulumi.StringMap{AnnotationWorkloadClientID: clientID},
		},
	}, pulumi.Parent(parent), pulumi.Provider(k8s), pulumi.DependsOn([]pulumi.Resource{workloads})); err != nil {
		return fmt.Errorf("service account patch %s: %w", key, err)
	}
	return nil
}
