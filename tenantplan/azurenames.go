package tenantplan

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// Azure names. Every tenant-owned name is derived from the tenant id and the environment, so a
// name alone tells the owner and two tenants can never be given the same one. The shapes agree
// with what the reachability analysis assumes (isolation/reach): rg-<tenant>-<env>,
// vnet-<tenant>-<env>, peerings to-hub and to-<tenant>.

// TenantResourceGroup is the resource group holding a tenant's own resources.
func TenantResourceGroup(tenantID, env string) string { return "rg-" + tenantID + "-" + env }

// TenantVNet is a dedicated-vnet tenant's VNet.
func TenantVNet(tenantID, env string) string { return "vnet-" + tenantID + "-" + env }

// TenantNSG is the network security group on every subnet of a tenant's VNet.
func TenantNSG(tenantID, env string) string { return "nsg-" + tenantID + "-" + env }

// TenantRouteTable sends a tenant VNet's egress through the hub firewall.
func TenantRouteTable(tenantID, env string) string { return "rt-" + tenantID + "-" + env }

// TenantIdentity is the tenant's user-assigned workload identity. Bindings carry no list of
// services, so there is one identity per tenant and environment.
func TenantIdentity(tenantID, env string) string { return "id-" + tenantID + "-" + env }

// FederatedCredentialName is the tenant identity's federation with its Kubernetes ServiceAccount.
func FederatedCredentialName(tenantID string) string { return "fic-" + tenantID }

// PeeringToHub is the spoke side of a tenant VNet's peering; PeeringToTenant the hub side.
const PeeringToHub = "to-hub"

// PeeringToTenant is the hub side of a tenant VNet's peering.
func PeeringToTenant(tenantID string) string { return "to-" + tenantID }

// PrivateEndpointName is the private endpoint of a tenant's dedicated vault.
func PrivateEndpointName(vault string) string { return "pe-" + vault }

// Platform defaults, used when the environment does not name them.

// PlatformResourceGroup is the environment's platform resource group: spec.azure.resourceGroup,
// or rg-platform-<env>.
func PlatformResourceGroup(env *isolation.Environment) string {
	if a := env.Spec.Azure; a != nil && a.ResourceGroup != "" {
		return a.ResourceGroup
	}
	return "rg-platform-" + env.Name()
}

// HubResourceGroup is where the hub VNet lives (and where its tenant peerings are created).
func HubResourceGroup(env *isolation.Environment) string {
	return orDefault(env.Spec.Hub.ResourceGroup, PlatformResourceGroup(env))
}

// HubVNet is the hub VNet's name.
func HubVNet(env *isolation.Environment) string {
	return orDefault(env.Spec.Hub.VNetName, "vnet-hub-"+env.Name())
}

// ClusterResourceGroup is the shared AKS cluster's resource group.
func ClusterResourceGroup(env *isolation.Environment) string {
	return orDefault(env.Spec.SharedCluster.ResourceGroup, PlatformResourceGroup(env))
}

// VaultResourceGroup is the shared Key Vault's resource group.
func VaultResourceGroup(env *isolation.Environment) string {
	return orDefault(env.Spec.SharedVault.ResourceGroup, PlatformResourceGroup(env))
}

// DatabaseResourceGroup is the shared database server's resource group.
func DatabaseResourceGroup(env *isolation.Environment) string {
	return orDefault(env.Spec.SharedDatabase.ResourceGroup, PlatformResourceGroup(env))
}

// LogAnalyticsWorkspace is the environment's Log Analytics workspace.
func LogAnalyticsWorkspace(env *isolation.Environment) string { return "log-tenantctl-" + env.Name() }

// SharedDatabaseName is the database on the shared server that partitioned (one schema per
// tenant) and row-filtered tenants share.
const SharedDatabaseName = "tenants"

// PostgresServerFQDN is the host name of an Azure Database for PostgreSQL flexible server
// (public cloud); a private endpoint's DNS zone resolves the same name.
func PostgresServerFQDN(server string) string { return server + ".postgres.database.azure.com" }

// VaultPrivateDNSZone is the private DNS zone of Key Vault private endpoints (public cloud).
const VaultPrivateDNSZone = "privatelink.vaultcore.azure.net"

// ResourceID is the ARM id of a resource of type typ ("Microsoft.Network/virtualNetworks") in a
// resource group; children add "/<type>/<name>" to it.
func ResourceID(subscription, group, typ, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", subscription, group, typ, name)
}

// ResourceGroupID is the ARM id of a resource group.
func ResourceGroupID(subscription, group string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", subscription, group)
}

// SecretScope is the ARM scope of one secret in a vault: the narrowest scope Azure RBAC grants a
// data-plane role on. There is no prefix scope ("every secret starting with acme-").
func SecretScope(vaultID, secretName string) string { return vaultID + "/secrets/" + secretName }

// Azure's limits on the names tenantctl derives.
const (
	maxResourceGroup = 90
	maxVNet          = 64
	maxNSG           = 80
	maxIdentity      = 128
	maxVault         = 24
	maxAgentPool     = 12
)

// checkLength refuses a derived name Azure would reject, instead of shortening it: a shortened
// name could no longer be mapped back to its tenant by convention.
func checkLength(what, name string, max int) error {
	if len(name) > max {
		return fmt.Errorf("%s name %q is %d characters; Azure allows %d: use a shorter tenant id or environment name", what, name, len(name), max)
	}
	return nil
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9]`)

// AgentPoolName is the AKS node pool of a tenant: "t", up to five characters of the tenant id
// and six hex digits of its hash. AKS allows 12 lowercase alphanumerics for a Linux pool, too few
// for a tenant id, and dropping dashes alone would give "a-b" and "ab" the same pool.
func AgentPoolName(tenantID string) string {
	prefix := nonAlnum.ReplaceAllString(strings.ToLower(tenantID), "")
	if len(prefix) > 5 {
		prefix = prefix[:5]
	}
	sum := sha256.Sum256([]byte(tenantID))
	return "t" + prefix + hex.EncodeToString(sum[:])[:6]
}

// DefaultVaultName names a dedicated vault whose tenant references no secret yet:
// kv-<tenant>-<env> when that fits Key Vault's 24 characters, otherwise kv-<prefix>-<hash>.
// Vault names are global, so the hash covers tenant and environment.
func DefaultVaultName(tenantID, env string) string {
	if n := "kv-" + tenantID + "-" + env; len(n) <= maxVault {
		if _, ok := isolation.VaultName(n); ok {
			return n
		}
	}
	sum := sha256.Sum256([]byte(tenantID + "/" + env))
	prefix := strings.Trim(tenantID, "-")
	if len(prefix) > 12 {
		prefix = strings.TrimRight(prefix[:12], "-")
	}
	return "kv-" + prefix + "-" + hex.EncodeToString(sum[:])[:8]
}

// roleAssignmentNamespace is the UUID namespace of tenantctl's role assignment names.
var roleAssignmentNamespace = [16]byte{0x6b, 0x1f, 0x3a, 0x52, 0x0e, 0x8c, 0x4d, 0x2a, 0x9f, 0x41, 0x7d, 0x10, 0x3c, 0x55, 0xa2, 0x90}

// RoleAssignmentName is the name (a GUID, as Azure requires) of a role assignment: a
// name-based UUID (RFC 4122 version 5) of scope, principal and role, so the same grant gets the
// same name on every run and a changed grant gets a new one. principal is a stable key of the
// principal (its resource name), because its object id is unknown until it exists.
func RoleAssignmentName(scope, principal, roleID string) string {
	h := sha1.New()
	h.Write(roleAssignmentNamespace[:])
	h.Write([]byte(strings.ToLower(scope) + "|" + principal + "|" + roleID))
	u := h.Sum(nil)[:16]
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Built-in role definition ids (global, the same in every tenant).
const (
	RoleKeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6"
	RoleNetworkContributor  = "4d97b98b-1d4f-4787-a291-c67834d212e7"
)

// RoleDefinitionID is the subscription-scoped id of a built-in role.
func RoleDefinitionID(subscription, role string) string {
	return "/subscriptions/" + subscription + "/providers/Microsoft.Authorization/roleDefinitions/" + role
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
