// Package azure holds the Pulumi programs of the azure target: the Azure resources of every tier
// (azure-native provider v2) plus the Kubernetes part on the shared AKS cluster, which is the
// kubernetes target's (stacks/kubernetes.DeployTenant, DeployPlatform) under a provider for that
// cluster. It lives in a package of its own because the azure-native network package takes
// gigabytes of memory to compile: only the packages that run azure programs import it.
package azure

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-azure-native-sdk/resources/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
	"github.com/connectsoft/tenantctl/stacks/kubernetes"
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

// TenantProgram is the inline program of one tenant stack (stacks.TenantStackName) of an azure
// environment. Besides in, it reads the stack config key tenantctl:kubeconfig (a path) for the
// AKS cluster; Azure credentials are the provider's ambient ones.
func TenantProgram(in stacks.Inputs) pulumi.RunFunc { return tenantProgram(in, nil) }

func tenantProgram(in stacks.Inputs, observe func(*TenantOutputs)) pulumi.RunFunc {
	return kubernetes.Program(
		func() error { _, err := planTenant(in); return err },
		func(ctx *pulumi.Context) (Providers, error) { return newProviders(ctx, in.Env) },
		func(ctx *pulumi.Context, p Providers) (*TenantOutputs, error) { return DeployTenant(ctx, in, p) },
		(*TenantOutputs).Map, observe)
}

// DeployTenant creates a tenant's Azure resources and its Kubernetes part on the shared cluster.
func DeployTenant(ctx *pulumi.Context, in stacks.Inputs, p Providers) (*TenantOutputs, error) {
	pl, err := planTenant(in)
	if err != nil {
		return nil, err
	}
	cc, err := clientConfig(ctx, in.Env, p.Azure)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", pl.id, err)
	}
	var cluster *managedCluster
	if pl.identity != "" || pl.nodePool != nil {
		if cluster, err = sharedCluster(ctx, in.Env, p.Azure); err != nil {
			return nil, fmt.Errorf("tenant %s: %w", pl.id, err)
		}
	}

	root := &kubernetes.Component{}
	if err := ctx.RegisterComponentResource(TypeTenant, pl.id, root); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", pl.id, err)
	}
	out := &TenantOutputs{Modes: pl.modes}
	var group pulumi.StringInput
	if pl.group != "" {
		rg, err := resources.NewResourceGroup(ctx, pl.group, &resources.ResourceGroupArgs{
			ResourceGroupName: pulumi.String(pl.group),
			Location:          pulumi.String(pl.location),
			Tags:              pulumi.ToStringMap(pl.tags),
		}, azOpts(root, p.Azure)...)
		if err != nil {
			return nil, fmt.Errorf("tenant %s resource group: %w", pl.id, err)
		}
		group = rg.Name
		out.ResourceGroup = pl.group
	}

	layer := func(typ string, l isolation.Layer, deploy func(c *kubernetes.Component) error) error {
		c, err := kubernetes.NewComponent(ctx, typ, pl.id, root)
		if err != nil {
			return err
		}
		if err := deploy(c); err != nil {
			return fmt.Errorf("tenant %s %s: %w", pl.id, l, err)
		}
		return ctx.RegisterResourceOutputs(c, pulumi.Map{"mode": pulumi.String(string(pl.modes[l]))})
	}

	var net *tenantNetwork
	if err := layer(TypeTenantNetwork, isolation.LayerNetwork, func(c *kubernetes.Component) error {
		if pl.vnet == nil {
			return nil
		}
		net, err = deployNetwork(ctx, pl, c, p.Azure, group, out)
		return err
	}); err != nil {
		return nil, err
	}
	if err := layer(TypeTenantCompute, isolation.LayerCompute, func(c *kubernetes.Component) error {
		if pl.nodePool == nil {
			return nil
		}
		return deployNodePool(ctx, pl, c, p.Azure, cluster, net.subnets[pl.vnet.nodes], out)
	}); err != nil {
		return nil, err
	}

	var identity *UserAssignedIdentity
	idComp, err := kubernetes.NewComponent(ctx, TypeTenantIdentity, pl.id, root)
	if err != nil {
		return nil, err
	}
	if pl.identity != "" {
		if identity, err = deployIdentity(ctx, pl, idComp, p.Azure, group, cluster, out); err != nil {
			return nil, fmt.Errorf("tenant %s identity: %w", pl.id, err)
		}
	}

	if err := layer(TypeTenantSecrets, isolation.LayerSecrets, func(c *kubernetes.Component) error {
		return deploySecrets(ctx, pl, c, p.Azure, group, cc.TenantId, net, identity, out)
	}); err != nil {
		return nil, err
	}
	if err := layer(TypeTenantData, isolation.LayerData, func(c *kubernetes.Component) error {
		return deployData(ctx, pl, c, p.Azure, out)
	}); err != nil {
		return nil, err
	}

	workloads, err := kubernetes.NewComponent(ctx, TypeWorkloads, pl.id, root)
	if err != nil {
		return nil, err
	}
	k8sOut, err := kubernetes.DeployTenant(ctx, in, p.Kubernetes, pulumi.Parent(workloads))
	if err != nil {
		return nil, err
	}
	if k8sOut.Namespace != pl.namespace || !slices.Equal(k8sOut.ServiceAccounts, []string{pl.serviceAccount}) {
		return nil, fmt.Errorf("tenant %s: the Kubernetes part runs as %s/%v, the workload identity federates with %s/%s",
			pl.id, k8sOut.Namespace, k8sOut.ServiceAccounts, pl.namespace, pl.serviceAccount)
	}
	out.Kubernetes = k8sOut
	if err := ctx.RegisterResourceOutputs(workloads, pulumi.Map{kubernetes.OutputNamespace: pulumi.String(k8sOut.Namespace)}); err != nil {
		return nil, err
	}
	if identity != nil {
		if err := annotateServiceAccount(ctx, pl, idComp, p.Kubernetes, workloads, identity.ClientID); err != nil {
			return nil, fmt.Errorf("tenant %s identity: %w", pl.id, err)
		}
	}
	if err := ctx.RegisterResourceOutputs(idComp, pulumi.Map{OutputIdentity: pulumi.String(out.Identity)}); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(root, pulumi.Map{OutputResourceGroup: pulumi.String(out.ResourceGroup)}); err != nil {
		return nil, err
	}
	return out, nil
}
