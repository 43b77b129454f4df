package azure

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/tenantplan"
)

// deployNodePool adds the tenant's planned dedicated, autoscaled user node pool to the shared
// cluster, in the nodes subnet of its VNet, and lets the cluster's control-plane identity join
// that subnet (Network Contributor on the subnet alone).
//
// AKS requires all node pool subnets of a cluster to be in one VNet (Azure/AKS#2595), so Azure
// accepts this pool only where the cluster runs in the tenant's VNet; on a shared cluster in the
// platform's network it refuses it. The program realises the seed's contract (dedicated VNet and
// dedicated node pool) as written; docs/stacks-azure.md records the decision still open.
func deployNodePool(ctx *pulumi.Context, pl *tenantplan.Tenant, parent pulumi.Resource, p pulumi.ProviderResource, cluster *managedCluster, nodes *network.Subnet, out *TenantOutputs) error {
	np, az := pl.Compute.NodePool, pl.Azure
	principal, err := cluster.controlPlanePrincipal()
	if err != nil {
		return err
	}
	grant := tenantplan.NewAzureRoleGrant(tenantplan.RoleNetworkContributor, np.SubnetID, "cluster:"+cluster.Name)
	ra, err := assignRole(ctx, parent, p, az.SubscriptionID, grant, pulumi.String(principal), nodes.ID().ToStringOutput())
	if err != nil {
		return fmt.Errorf("node pool %s: %w", np.Name, err)
	}
	out.RoleAssignments = append(out.RoleAssignments, grant)

	pool := &AgentPool{}
	if err := registerResource(ctx, TypeAgentPool, np.Cluster+"/"+np.Name, &AgentPoolArgs{
		ResourceGroupName: pulumi.String(np.ClusterResourceGroup),
		ResourceName:      pulumi.String(np.Cluster),
		AgentPoolName:     pulumi.String(np.Name),
		Mode:              pulumi.String("User"),
		OsType:            pulumi.String("Linux"),
		Type:              pulumi.String("VirtualMachineScaleSets"),
		VmSize:            pulumi.String(np.VMSize),
		Count:             pulumi.Int(np.Min),
		EnableAutoScaling: pulumi.Bool(true),
		MinCount:          pulumi.Int(np.Min),
		MaxCount:          pulumi.Int(np.Max),
		NodeLabels:        pulumi.ToStringMap(np.Labels),
		NodeTaints:        pulumi.ToStringArray(np.Taints),
		VnetSubnetID:      nodes.ID().ToStringOutput(),
		Tags:              pulumi.ToStringMap(az.Tags),
	}, pool, azOpts(parent, p,
		// The autoscaler owns the node count once the pool exists.
		pulumi.IgnoreChanges([]string{"count"}),
		pulumi.DependsOn([]pulumi.Resource{ra}))); err != nil {
		return err
	}
	out.NodePool = np.Name
	return nil
}

// assignRole creates the planned role assignment g. scopeRef is g.Scope as a resource output, so
// the assignment waits for the resource it is scoped to.
func assignRole(ctx *pulumi.Context, parent pulumi.Resource, p pulumi.ProviderResource, sub string, g tenantplan.AzureRoleGrant, principalID pulumi.StringInput, scopeRef pulumi.StringInput) (*authorization.RoleAssignment, error) {
	ra, err := authorization.NewRoleAssignment(ctx, g.Name, &authorization.RoleAssignmentArgs{
		RoleAssignmentName: pulumi.String(g.Name),
		RoleDefinitionId:   pulumi.String(tenantplan.RoleDefinitionID(sub, g.Role)),
		PrincipalId:        principalID,
		// Managed identities: saying so spares Azure the directory lookup that fails while a
		// new identity replicates.
		PrincipalType: pulumi.String("ServicePrincipal"),
		Scope:         scopeRef,
	}, azOpts(parent, p)...)
	if err != nil {
		return nil, fmt.Errorf("role assignment %s on %s: %w", g.Role, g.Scope, err)
	}
	return ra, nil
}

// azOpts are the options of every Azure resource: its component parent and the explicit provider.
func azOpts(parent pulumi.Resource, p pulumi.ProviderResource, extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Parent(parent), pulumi.Provider(p)}, extra...)
}
