package azure

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/stacks"
)

// Node pool labels and taints. The key is the label key of the kubernetes target
// (stacks.LabelTenant, "tenantctl.io/tenant"), not the bare "tenant" of the first design: the
// platform's admission policies pin a silo tenant's pods to nodes labelled, and let them
// tolerate nodes tainted, with exactly this key, and forbid every other tenant's pods to.
const NodeTaintEffect = "NoSchedule"

// NodePoolTaint is the taint of a tenant's dedicated node pool: "tenantctl.io/tenant=<id>:NoSchedule".
func NodePoolTaint(tenantID string) string {
	return stacks.LabelTenant + "=" + tenantID + ":" + NodeTaintEffect
}

// NodePoolLabels are the labels of a tenant's dedicated nodes; the pods' nodeSelector matches
// them.
func NodePoolLabels(tenantID string) map[string]string {
	return map[string]string{stacks.LabelTenant: tenantID}
}

// deployNodePool adds the tenant's dedicated, autoscaled user node pool to the shared cluster, in
// the nodes subnet of its VNet, and lets the cluster's control-plane identity join that subnet
// (Network Contributor on the subnet alone).
//
// AKS requires all node pool subnets of a cluster to be in one VNet (Azure/AKS#2595), so Azure
// accepts this pool only where the cluster runs in the tenant's VNet; on a shared cluster in the
// platform's network it refuses it. The program realises the seed's contract (dedicated VNet and
// dedicated node pool) as written; docs/stacks-azure.md records the decision still open.
func deployNodePool(ctx *pulumi.Context, pl *tenantPlan, parent pulumi.Resource, p pulumi.ProviderResource, cluster *managedCluster, nodes *network.Subnet, out *TenantOutputs) error {
	np := pl.nodePool
	principal, err := cluster.controlPlanePrincipal()
	if err != nil {
		return err
	}
	scope := subnetID(out.VNetID, pl.vnet.nodes)
	grant, err := assignRole(ctx, parent, p, pl.sub, roleGrant{
		Role: RoleNetworkContributor, Scope: scope, Principal: "cluster:" + cluster.Name,
	}, pulumi.String(principal), nodes.ID().ToStringOutput())
	if err != nil {
		return fmt.Errorf("node pool %s: %w", np.name, err)
	}
	out.RoleAssignments = append(out.RoleAssignments, grant)

	pool := &AgentPool{}
	if err := byToken(ctx, TypeAgentPool, np.cluster+"/"+np.name, &AgentPoolArgs{
		ResourceGroupName: pulumi.String(np.clusterGroup),
		ResourceName:      pulumi.String(np.cluster),
		AgentPoolName:     pulumi.String(np.name),
		Mode:              pulumi.String("User"),
		OsType:            pulumi.String("Linux"),
		Type:              pulumi.String("VirtualMachineScaleSets"),
		VmSize:            pulumi.String(np.vmSize),
		Count:             pulumi.Int(np.min),
		EnableAutoScaling: pulumi.Bool(true),
		MinCount:          pulumi.Int(np.min),
		MaxCount:          pulumi.Int(np.max),
		NodeLabels:        pulumi.ToStringMap(NodePoolLabels(pl.id)),
		NodeTaints:        pulumi.ToStringArray([]string{NodePoolTaint(pl.id)}),
		VnetSubnetID:      nodes.ID().ToStringOutput(),
		Tags:              pulumi.ToStringMap(pl.tags),
	}, pool, azOpts(parent, p,
		// The autoscaler owns the node count once the pool exists.
		pulumi.IgnoreChanges([]string{"count"}),
		pulumi.DependsOn([]pulumi.Resource{grant.resource}))); err != nil {
		return err
	}
	out.NodePool = np.name
	return nil
}

// roleGrant is one role assignment: a built-in role on one scope for one principal.
type roleGrant struct {
	Role  string `json:"role"`
	Scope string `json:"scope"`
	// Principal names who gets the role ("identity:<name>", "cluster:<name>"); it keys the
	// assignment's name.
	Principal string `json:"principal"`

	resource *authorization.RoleAssignment
}

// assignRole creates a role assignment. scope is the ARM id tenantctl computes (and names the
// assignment by); scopeRef is the same id as a resource output, so the assignment waits for the
// resource it is scoped to.
func assignRole(ctx *pulumi.Context, parent pulumi.Resource, p pulumi.ProviderResource, sub string, g roleGrant, principalID pulumi.StringInput, scopeRef pulumi.StringInput) (roleGrant, error) {
	name := RoleAssignmentName(g.Scope, g.Principal, g.Role)
	ra, err := authorization.NewRoleAssignment(ctx, name, &authorization.RoleAssignmentArgs{
		RoleAssignmentName: pulumi.String(name),
		RoleDefinitionId:   pulumi.String(RoleDefinitionID(sub, g.Role)),
		PrincipalId:        principalID,
		// Managed identities: saying so spares Azure the directory lookup that fails while a
		// new identity replicates.
		PrincipalType: pulumi.String("ServicePrincipal"),
		Scope:         scopeRef,
	}, azOpts(parent, p)...)
	if err != nil {
		return roleGrant{}, fmt.Errorf("role assignment %s on %s: %w", g.Role, g.Scope, err)
	}
	g.resource = ra
	return g, nil
}

// azOpts are the options of every Azure resource: its component parent and the explicit provider.
func azOpts(parent pulumi.Resource, p pulumi.ProviderResource, extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Parent(parent), pulumi.Provider(p)}, extra...)
}
