// Package azure holds the Pulumi programs of the azure target: the Azure resources of every tier
// (azure-native provider v2) plus the Kubernetes part on the shared AKS cluster, which is the
// kubernetes target's (stacks/kubernetes.DeployTenant, DeployPlatform) under a provider for that
// cluster. It lives in a package of its own because the azure-native network package takes
// gigabytes of memory to compile: only the packages that run azure programs import it.
package azure

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/resources/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Component types of a tenant stack on the azure target. The Azure part reads like a row of the
// tier matrix, one component per layer, each recording its mode; the Kubernetes part is the
// kubernetes target's tree under Workloads.
const (
	TypeTenant         = "tenantctl:azure:Tenant"
	TypeTenantNetwork  = "tenantctl:azure:TenantNetwork"
	TypeTenantCompute  = "tenantctl:azure:TenantCompute"
	TypeTenantIdentity = "tenantctl:azure:TenantIdentity"
	TypeTenantSecrets  = "tenantctl:azure:TenantSecrets"
	TypeTenantData     = "tenantctl:azure:TenantData"
	TypeWorkloads      = "tenantctl:azure:Workloads"
)

// TenantProgram is the inline program of one tenant stack (tenantplan.TenantStackName) of an
// azure environment. Besides in, it reads the stack config key tenantctl:kubeconfig (a path) for
// the AKS cluster; Azure credentials are the provider's ambient ones.
func TenantProgram(in tenantplan.Inputs) pulumi.RunFunc { return tenantProgram(in, nil) }

func tenantProgram(in tenantplan.Inputs, observe func(*TenantOutputs)) pulumi.RunFunc {
	var pl *tenantplan.Tenant
	return kubernetes.Program(
		func() (err error) { pl, err = planTenant(in); return err },
		func(ctx *pulumi.Context) (Providers, error) { return newProviders(ctx, in.Env) },
		func(ctx *pulumi.Context, p Providers) (*TenantOutputs, error) { return DeployTenant(ctx, pl, p) },
		(*TenantOutputs).Map, observe)
}

// planTenant plans a tenant of an azure environment; the plan of another target's environment
// is refused, so a kubernetes environment never runs an azure program.
func planTenant(in tenantplan.Inputs) (*tenantplan.Tenant, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.Env.Spec.Target != isolation.TargetAzure {
		return nil, fmt.Errorf("environment %s has target %q; the azure programs run only %q environments", in.Env.Name(), in.Env.Spec.Target, isolation.TargetAzure)
	}
	pl, err := tenantplan.ForTenant(in)
	if err != nil {
		return nil, err
	}
	if d := pl.Data.Azure; d != nil {
		if err := checkEntraAdmin(in.Env.Name(), d.Engine, d.Server, d.EntraAdmin); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

// DeployTenant creates a planned tenant's Azure resources and its Kubernetes part on the shared
// cluster.
func DeployTenant(ctx *pulumi.Context, pl *tenantplan.Tenant, p Providers) (*TenantOutputs, error) {
	id, az := pl.TenantID, pl.Azure
	cc, err := clientConfig(ctx, az.SubscriptionID, pl.Environment, p.Azure)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", id, err)
	}
	var cluster *managedCluster
	if pl.Identity.Azure != nil || pl.Compute.NodePool != nil {
		if cluster, err = sharedCluster(ctx, az.Cluster, az.ClusterResourceGroup, p.Azure); err != nil {
			return nil, fmt.Errorf("tenant %s: %w", id, err)
		}
	}

	root := &kubernetes.Component{}
	if err := ctx.RegisterComponentResource(TypeTenant, id, root); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", id, err)
	}
	out := &TenantOutputs{Modes: pl.Modes}
	var group pulumi.StringInput
	if az.ResourceGroup != "" {
		rg, err := resources.NewResourceGroup(ctx, az.ResourceGroup, &resources.ResourceGroupArgs{
			ResourceGroupName: pulumi.String(az.ResourceGroup),
			Location:          pulumi.String(az.Location),
			Tags:              pulumi.ToStringMap(az.Tags),
		}, azOpts(root, p.Azure)...)
		if err != nil {
			return nil, fmt.Errorf("tenant %s resource group: %w", id, err)
		}
		group = rg.Name
		out.ResourceGroup = az.ResourceGroup
	}

	layer := func(typ string, l isolation.Layer, deploy func(c *kubernetes.Component) error) error {
		c, err := kubernetes.NewComponent(ctx, typ, id, root)
		if err != nil {
			return err
		}
		if err := deploy(c); err != nil {
			return fmt.Errorf("tenant %s %s: %w", id, l, err)
		}
		return ctx.RegisterResourceOutputs(c, pulumi.Map{"mode": pulumi.String(string(pl.Modes[l]))})
	}

	var net *tenantNetwork
	if err := layer(TypeTenantNetwork, isolation.LayerNetwork, func(c *kubernetes.Component) error {
		if pl.Network.VNet == nil {
			return nil
		}
		net, err = deployNetwork(ctx, pl, c, p.Azure, group, out)
		return err
	}); err != nil {
		return nil, err
	}
	if err := layer(TypeTenantCompute, isolation.LayerCompute, func(c *kubernetes.Component) error {
		if pl.Compute.NodePool == nil {
			return nil
		}
		return deployNodePool(ctx, pl, c, p.Azure, cluster, net.subnets[pl.Compute.NodePool.Subnet], out)
	}); err != nil {
		return nil, err
	}

	var identity *UserAssignedIdentity
	idComp, err := kubernetes.NewComponent(ctx, TypeTenantIdentity, id, root)
	if err != nil {
		return nil, err
	}
	if pl.Identity.Azure != nil {
		if identity, err = deployIdentity(ctx, pl, idComp, p.Azure, group, cluster, out); err != nil {
			return nil, fmt.Errorf("tenant %s identity: %w", id, err)
		}
	}

	if err := layer(TypeTenantSecrets, isolation.LayerSecrets, func(c *kubernetes.Component) error {
		return deploySecrets(ctx, pl, c, p.Azure, group, cc.TenantId, net, identity, out)
	}); err != nil {
		return nil, err
	}
	if err := layer(TypeTenantData, isolation.LayerData, func(c *kubernetes.Component) error {
		return deployData(ctx, pl, c, p.Azure, identity, out)
	}); err != nil {
		return nil, err
	}

	workloads, err := kubernetes.NewComponent(ctx, TypeWorkloads, id, root)
	if err != nil {
		return nil, err
	}
	// The ServiceAccount and the SecretProviderClass name the identity created above: its client
	// id and the directory the deployment signed in to.
	wi := kubernetes.WorkloadIdentity{}
	if identity != nil {
		wi = kubernetes.WorkloadIdentity{ClientID: identity.ClientID, TenantID: pulumi.String(cc.TenantId)}
	}
	k8sOut, err := kubernetes.DeployTenant(ctx, pl, p.Kubernetes, wi, pulumi.Parent(workloads))
	if err != nil {
		return nil, err
	}
	out.Kubernetes = k8sOut
	if err := ctx.RegisterResourceOutputs(workloads, pulumi.Map{kubernetes.OutputNamespace: pulumi.String(k8sOut.Namespace)}); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(idComp, pulumi.Map{OutputIdentity: pulumi.String(out.Identity)}); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(root, pulumi.Map{OutputResourceGroup: pulumi.String(out.ResourceGroup)}); err != nil {
		return nil, err
	}
	return out, nil
}
