// Package isolation owns the tenancy model every other part of tenantctl reads: tenant bindings,
// environments, the tier × layer matrix, validation and the desired state loaded from Git.
package isolation

// APIVersion and the kinds of the desired-state documents.
const (
	APIVersion      = "runtime.connectsoft.io/v1alpha1"
	KindBinding     = "RuntimeTenantBinding"
	KindEnvironment = "Environment"
)

// Tier is a tenant's isolation tier (seed: Tenant Runtime Isolation).
type Tier string

const (
	TierSilo   Tier = "silo"
	TierPool   Tier = "pool"
	TierShared Tier = "shared"
)

// Tiers lists every tier from the strongest isolation to the weakest.
var Tiers = []Tier{TierSilo, TierPool, TierShared}

// Source locates a document or field in the desired-state folder so every error and report can
// point at the line a person has to edit.
type Source struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

// ObjectMeta is the Kubernetes-style metadata of a desired-state document.
type ObjectMeta struct {
	Name        string            `yaml:"name" json:"name"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// RuntimeTenantBinding declares one tenant in one environment.
type RuntimeTenantBinding struct {
	APIVersion string      `yaml:"apiVersion" json:"apiVersion"`
	Kind       string      `yaml:"kind" json:"kind"`
	Metadata   ObjectMeta  `yaml:"metadata" json:"metadata"`
	Spec       BindingSpec `yaml:"spec" json:"spec"`

	// Source is where the binding was read from; it is not part of the document.
	Source Source `yaml:"-" json:"-"`
}

// BindingSpec is the body of a RuntimeTenantBinding.
type BindingSpec struct {
	TenantID    string            `yaml:"tenantId" json:"tenantId"`
	Environment string            `yaml:"environment" json:"environment"`
	Tier        Tier              `yaml:"tier" json:"tier"`
	Network     *NetworkSpec      `yaml:"network,omitempty" json:"network,omitempty"`
	Quota       QuotaSpec         `yaml:"quota" json:"quota"`
	Data        DataSpec          `yaml:"data,omitempty" json:"data,omitempty"`
	Secrets     []SecretBinding   `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Overrides strengthen one layer beyond what the tier gives (seed: a tenant may buy more
	// isolation on one layer, never less); see Matrix.AllowedOverride.
	Overrides map[Layer]Mode `yaml:"overrides,omitempty" json:"overrides,omitempty"`
}

// NetworkSpec is a silo tenant's dedicated VNet. Pool and shared tenants declare none: they get
// network policy on the shared cluster instead.
type NetworkSpec struct {
	AddressSpace []string     `yaml:"addressSpace" json:"addressSpace"`
	Subnets      []SubnetSpec `yaml:"subnets" json:"subnets"`
}

// SubnetSpec is one subnet of a silo VNet.
type SubnetSpec struct {
	Name          string `yaml:"name" json:"name"`
	AddressPrefix string `yaml:"addressPrefix" json:"addressPrefix"`
	// Purpose says what the subnet holds: nodes (the tenant's AKS node pool and pods),
	// endpoints (private endpoints) or workloads.
	Purpose string `yaml:"purpose,omitempty" json:"purpose,omitempty"`
}

// QuotaSpec bounds what a tenant may consume. Quantities use Kubernetes notation ("2", "500m",
// "4Gi").
type QuotaSpec struct {
	CPU      string        `yaml:"cpu" json:"cpu"`
	Memory   string        `yaml:"memory" json:"memory"`
	Pods     int           `yaml:"pods" json:"pods"`
	Storage  string        `yaml:"storage,omitempty" json:"storage,omitempty"`
	NodePool *NodePoolSpec `yaml:"nodePool,omitempty" json:"nodePool,omitempty"`
}

// NodePoolSpec sizes a silo tenant's dedicated AKS node pool.
type NodePoolSpec struct {
	Min    int    `yaml:"min" json:"min"`
	Max    int    `yaml:"max" json:"max"`
	VMSize string `yaml:"vmSize,omitempty" json:"vmSize,omitempty"`
}

// DataSpec names the tenant's database (silo, or pool with a dedicated-database override) or its
// schema/partition in the shared database server.
type DataSpec struct {
	Database string `yaml:"database,omitempty" json:"database,omitempty"`
	Schema   string `yaml:"schema,omitempty" json:"schema,omitempty"`
}

// SecretBinding references a secret in Key Vault. It never carries the value (seed: Secret
// Handling).
type SecretBinding struct {
	Name           string `yaml:"name" json:"name"`
	KeyVaultRef    string `yaml:"keyVaultRef" json:"keyVaultRef"`
	SecretName     string `yaml:"secretName" json:"secretName"`
	CurrentVersion string `yaml:"currentVersion,omitempty" json:"currentVersion,omitempty"`
}

// Environment describes one platform environment: the shared infrastructure every tenant of it
// lands on and the limits a binding is validated against.
type Environment struct {
	APIVersion string          `yaml:"apiVersion" json:"apiVersion"`
	Kind       string          `yaml:"kind" json:"kind"`
	Metadata   ObjectMeta      `yaml:"metadata" json:"metadata"`
	Spec       EnvironmentSpec `yaml:"spec" json:"spec"`

	Source Source `yaml:"-" json:"-"`
}

// Name is the environment's name (metadata.name), the value bindings put in spec.environment.
func (e *Environment) Name() string { return e.Metadata.Name }

// EnvironmentSpec is the body of an Environment.
type EnvironmentSpec struct {
	Production bool `yaml:"production" json:"production"`
	// Target selects the programs stacks/ runs: "kubernetes" (any conformant cluster) or "azure".
	Target string `yaml:"target" json:"target"`
	// AddressSpace is the range every silo VNet must fall inside.
	AddressSpace []string `yaml:"addressSpace" json:"addressSpace"`
	// PlatformAddressSpace holds the platform's own ranges (hub, shared cluster) that no tenant
	// may overlap.
	PlatformAddressSpace []string          `yaml:"platformAddressSpace" json:"platformAddressSpace"`
	Hub                  HubSpec           `yaml:"hub" json:"hub"`
	SharedCluster        ClusterSpec       `yaml:"sharedCluster" json:"sharedCluster"`
	SharedVault          VaultSpec         `yaml:"sharedVault" json:"sharedVault"`
	SharedDatabase       DatabaseSpec      `yaml:"sharedDatabase" json:"sharedDatabase"`
	TrustedRegistries    []string          `yaml:"trustedRegistries" json:"trustedRegistries"`
	Capacity             CapacitySpec      `yaml:"capacity" json:"capacity"`
	Azure                *AzureSpec        `yaml:"azure,omitempty" json:"azure,omitempty"`
	AllowedRoutes        []AllowedRoute    `yaml:"allowedRoutes,omitempty" json:"allowedRoutes,omitempty"`
	Labels               map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// PlatformPrincipals declares the Kubernetes identities that are the platform's (operators'
	// users and groups, agents' ServiceAccounts), beyond Kubernetes' own system: identities and
	// the ServiceAccounts of platform namespaces. The identity analysis never counts a declared
	// principal as a tenant's, even where a binding in a tenant's scope names it.
	PlatformPrincipals []PlatformPrincipal `yaml:"platformPrincipals,omitempty" json:"platformPrincipals,omitempty"`
	// WorkloadIdentity declares, on the kubernetes target, the Microsoft Entra identities the
	// tenants' workloads use to read Key Vault (Azure workload identity on a cluster tenantctl does
	// not create identities for). The azure target creates each tenant's identity itself and
	// refuses this field.
	WorkloadIdentity *WorkloadIdentitySpec `yaml:"workloadIdentity,omitempty" json:"workloadIdentity,omitempty"`
}

// WorkloadIdentitySpec names Microsoft Entra identities, never credentials: a directory (tenant)
// id and application (client) ids are identifiers; what authenticates a workload is the federated
// credential between its ServiceAccount and the identity, which the platform team creates.
type WorkloadIdentitySpec struct {
	// TenantID is the Microsoft Entra directory of the vaults (the SecretProviderClass tenantId).
	TenantID string `yaml:"tenantId" json:"tenantId"`
	// ClientIDs maps a tenant id to the client id of the identity its ServiceAccount t-<tenant>
	// is federated with. One identity per tenant: two tenants sharing one would read each
	// other's secrets.
	ClientIDs map[string]string `yaml:"clientIds,omitempty" json:"clientIds,omitempty"`
}

// PlatformPrincipal is one Kubernetes identity of the platform, as an RBAC subject names it.
type PlatformPrincipal struct {
	// Kind is User, Group or ServiceAccount.
	Kind      string `yaml:"kind" json:"kind"`
	Name      string `yaml:"name" json:"name"`
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Reason    string `yaml:"reason,omitempty" json:"reason,omitempty"`
}

// HubSpec is the environment's hub VNet; silo VNets peer to it and to nothing else.
type HubSpec struct {
	VNetName      string   `yaml:"vnetName" json:"vnetName"`
	ResourceGroup string   `yaml:"resourceGroup,omitempty" json:"resourceGroup,omitempty"`
	AddressSpace  []string `yaml:"addressSpace" json:"addressSpace"`
	// FirewallIP is the next hop of the hub's firewall, when the hub routes through one.
	FirewallIP string `yaml:"firewallIP,omitempty" json:"firewallIP,omitempty"`
	// UseRemoteGateways makes silo VNets use the hub's VPN or ExpressRoute gateway (peering
	// useRemoteGateways on the spoke, allowGatewayTransit on the hub); the hub must have one.
	UseRemoteGateways bool `yaml:"useRemoteGateways,omitempty" json:"useRemoteGateways,omitempty"`
}

// ClusterSpec is the shared cluster pool and shared tenants run on.
type ClusterSpec struct {
	Name          string `yaml:"name" json:"name"`
	ResourceGroup string `yaml:"resourceGroup,omitempty" json:"resourceGroup,omitempty"`
	// IngressNamespace runs the platform ingress; tenant namespaces admit traffic from it.
	IngressNamespace string `yaml:"ingressNamespace" json:"ingressNamespace"`
	// SharedNamespace hosts shared-tier tenants.
	SharedNamespace string `yaml:"sharedNamespace" json:"sharedNamespace"`
	PodCIDR         string `yaml:"podCIDR,omitempty" json:"podCIDR,omitempty"`
	ServiceCIDR     string `yaml:"serviceCIDR,omitempty" json:"serviceCIDR,omitempty"`
}

// VaultSpec is the environment's shared Key Vault.
type VaultSpec struct {
	Name          string `yaml:"name" json:"name"`
	ResourceGroup string `yaml:"resourceGroup,omitempty" json:"resourceGroup,omitempty"`
}

// DatabaseSpec is the environment's shared database server.
type DatabaseSpec struct {
	Server        string `yaml:"server" json:"server"`
	ResourceGroup string `yaml:"resourceGroup,omitempty" json:"resourceGroup,omitempty"`
	Engine        string `yaml:"engine,omitempty" json:"engine,omitempty"`
	// Tables are the shared schema's tables that row-filtered tenants share, each guarded by
	// one row-level security policy per tenant.
	Tables []string `yaml:"tables,omitempty" json:"tables,omitempty"`
}

// CapacitySpec is what one tenant may at most be given in the environment.
type CapacitySpec struct {
	CPU      string `yaml:"cpu" json:"cpu"`
	Memory   string `yaml:"memory" json:"memory"`
	Pods     int    `yaml:"pods" json:"pods"`
	Storage  string `yaml:"storage,omitempty" json:"storage,omitempty"`
	MaxNodes int    `yaml:"maxNodes,omitempty" json:"maxNodes,omitempty"`
}

// AzureSpec places the environment's Azure resources.
type AzureSpec struct {
	SubscriptionID string `yaml:"subscriptionId" json:"subscriptionId"`
	Location       string `yaml:"location" json:"location"`
	ResourceGroup  string `yaml:"resourceGroup,omitempty" json:"resourceGroup,omitempty"`
}

// AllowedRoute declares a legitimate route that crosses a tenant boundary (hub peering, platform
// ingress, an agreed tenant-to-tenant integration). Drift and reachability never report it.
type AllowedRoute struct {
	// From and To are tenant ids or "platform".
	From   string `yaml:"from" json:"from"`
	To     string `yaml:"to" json:"to"`
	Reason string `yaml:"reason" json:"reason"`
}

// Platform is the pseudo-tenant that owns shared infrastructure in routes and reachability.
const Platform = "platform"
