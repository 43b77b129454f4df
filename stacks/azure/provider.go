package azure

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	azurenative "github.com/pulumi/pulumi-azure-native-sdk/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/kubernetes"
)

// Logical names of the explicit providers of every azure stack.
const (
	AzureProviderName      = "azure"
	KubernetesProviderName = kubernetes.ProviderName
)

// newAzureProvider pins every Azure resource of a stack to the environment's subscription and
// location. Credentials are the provider's ambient ones (Azure CLI login, managed identity or
// OIDC federation in CI); none is ever stack config.
func newAzureProvider(ctx *pulumi.Context, env *isolation.Environment) (*azurenative.Provider, error) {
	a := env.Spec.Azure
	p, err := azurenative.NewProvider(ctx, AzureProviderName, &azurenative.ProviderArgs{
		SubscriptionId: pulumi.String(a.SubscriptionID),
		Location:       pulumi.String(a.Location),
	})
	if err != nil {
		return nil, fmt.Errorf("azure-native provider: %w", err)
	}
	return p, nil
}

// Providers are the two explicit providers an azure program registers everything with.
type Providers struct {
	Azure      pulumi.ProviderResource
	Kubernetes pulumi.ProviderResource
}

func newProviders(ctx *pulumi.Context, env *isolation.Environment) (Providers, error) {
	az, err := newAzureProvider(ctx, env)
	if err != nil {
		return Providers{}, err
	}
	// The Kubernetes part on the AKS cluster gets the kubernetes target's provider (same config
	// keys, same options), so its objects behave the same on both targets.
	kp, err := kubernetes.NewProvider(ctx, env)
	if err != nil {
		return Providers{}, err
	}
	return Providers{Azure: az, Kubernetes: kp}, nil
}

// clientConfig reads who the provider runs as and refuses a subscription other than the
// environment's: a stack must never land in the wrong subscription because of an ambient login.
func clientConfig(ctx *pulumi.Context, subscription, env string, p pulumi.ProviderResource) (*authorization.GetClientConfigResult, error) {
	c, err := authorization.GetClientConfig(ctx, pulumi.Provider(p))
	if err != nil {
		return nil, fmt.Errorf("read azure client config: %w", err)
	}
	if !strings.EqualFold(c.SubscriptionId, subscription) {
		return nil, fmt.Errorf("the azure-native provider runs in subscription %s, environment %s is in %s", c.SubscriptionId, env, subscription)
	}
	if c.TenantId == "" {
		return nil, errors.New("the azure-native provider reports no Microsoft Entra tenant id")
	}
	return c, nil
}

// sharedCluster reads the environment's AKS cluster. tenantctl references the cluster rather than
// creating it: the platform team owns its shape (versions, system pool, network profile), and the
// Kubernetes part needs it to exist before any stack runs, through the kubeconfig in config.
// Workload identity federation needs the cluster's OIDC issuer and workload identity enabled.
func sharedCluster(ctx *pulumi.Context, name, group string, p pulumi.ProviderResource) (*managedCluster, error) {
	var c managedCluster
	// InvokePackageRaw rather than Invoke: the response is the whole cluster, and the provider may
	// mark parts of it secret; only the fields of managedCluster are kept.
	if _, err := ctx.InvokePackageRaw(InvokeGetManagedCluster, getManagedClusterArgs{ResourceGroupName: group, ResourceName: name}, &c, "",
		pulumi.Provider(p), pulumi.Version(ProviderVersion)); err != nil {
		return nil, fmt.Errorf("read AKS cluster %s in resource group %s: %w", name, group, err)
	}
	if c.OidcIssuerProfile == nil || c.OidcIssuerProfile.Enabled == nil || !*c.OidcIssuerProfile.Enabled || c.OidcIssuerProfile.IssuerURL == "" {
		return nil, fmt.Errorf("AKS cluster %s has no OIDC issuer: enable it (az aks update --enable-oidc-issuer); tenant workload identities federate with it", name)
	}
	if wi := c.SecurityProfile; wi == nil || wi.WorkloadIdentity == nil || wi.WorkloadIdentity.Enabled == nil || !*wi.WorkloadIdentity.Enabled {
		return nil, fmt.Errorf("AKS cluster %s does not have workload identity enabled (az aks update --enable-workload-identity)", name)
	}
	return &c, nil
}

// controlPlanePrincipal is the object id of the cluster identity that joins node pools to
// subnets and so needs Network Contributor on a silo's nodes subnet.
func (c *managedCluster) controlPlanePrincipal() (string, error) {
	if c.Identity == nil {
		return "", fmt.Errorf("AKS cluster %s has no managed identity; a dedicated node pool in a tenant subnet needs one", c.Name)
	}
	if c.Identity.PrincipalID != "" {
		return c.Identity.PrincipalID, nil
	}
	if len(c.Identity.UserAssignedIdentities) == 1 {
		for _, u := range c.Identity.UserAssignedIdentities {
			if u.PrincipalID != "" {
				return u.PrincipalID, nil
			}
		}
	}
	return "", fmt.Errorf("AKS cluster %s: cannot tell its control-plane identity (%d user-assigned identities)", c.Name, len(c.Identity.UserAssignedIdentities))
}
