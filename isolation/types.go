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
	// Name identifies the document: a DNS-1123 subdomain for a binding (unique among bindings,
	// e.g. acme-dev), a DNS-1123 label for an environment (the name bindings put in
	// spec.environment).
	Name string `yaml:"name" json:"name"`
	// Labels are Kubernetes labels of the document itself; they are not applied to resources.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Annotations are free-form notes about the document; tenantctl ignores them.
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// RuntimeTenantBinding declares one tenant in one environment.
type RuntimeTenantBinding struct {
	// APIVersion is runtime.connectsoft.io/v1alpha1.
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Kind is RuntimeTenantBinding.
	Kind     string      `yaml:"kind" json:"kind"`
	Metadata ObjectMeta  `yaml:"metadata" json:"metadata"`
	Spec     BindingSpec `yaml:"spec" json:"spec"`

	// Source is where the binding was read from; it is not part of the document.
	Source Source `yaml:"-" json:"-"`
}

// BindingSpec is the body of a RuntimeTenantBinding.
type BindingSpec struct {
	// TenantID names the tenant in every environment: a DNS-1123 label (at most 63 lowercase
	// letters, digits and '-') that is not reserved for the platform (admin, default, ingress,
	// platform, shared, system, tenantctl, kube-*, the environment's namespaces). It becomes the
	// stack name tenant.<tenantId>.<environment> and the namespace t-<tenantId>.
	TenantID string `yaml:"tenantId" json:"tenantId"`
	// Environment is the metadata.name of the Environment the tenant lands in.
	Environment string `yaml:"environment" json:"environment"`
	// Tier is silo (dedicated VNet, node pool, database and vault), pool (own namespace on the
	// shared cluster, own schema) or shared (shared namespace, row-level filter); see
	// `tenantctl tiers`.
	Tier Tier `yaml:"tier" json:"tier"`
	// Network is the silo tenant's dedicated VNet; pool and shared tenants have none.
	Network *NetworkSpec `yaml:"network,omitempty" json:"network,omitempty"`
	Quota   QuotaSpec    `yaml:"quota" json:"quota"`
	Data    DataSpec     `yaml:"data,omitempty" json:"data,omitempty"`
	// Secrets are references to Key Vault secrets the tenant's workloads read, never values.
	Secrets []SecretBinding `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	// Labels are added to the tenant's resources. The keys tenant, tier and *connectsoft.io/ are
	// the engine's.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Overrides strengthen one layer beyond what the tier gives (seed: a tenant may buy more
	// isolation on one layer, never less): data or secrets, set to a mode at least as strong as
	// the tier's (see `tenantctl tiers`; Matrix.AllowedOverride decides).
	Overrides map[Layer]Mode `yaml:"overrides,omitempty" json:"overrides,omitempty"`
}

// NetworkSpec is a silo tenant's dedicated VNet. Pool and shared tenants declare none: they get
// network policy on the shared cluster instead.
type NetworkSpec struct {
	// AddressSpace holds the VNet's ranges: inside the environment's addressSpace, outside the
	// platform's ranges and every other silo VNet of the environment.
	AddressSpace []string `yaml:"addressSpace" json:"addressSpace"`
	// Subnets divide the VNet; one must have purpose nodes.
	Subnets []SubnetSpec `yaml:"subnets" json:"subnets"`
}

// SubnetSpec is one subnet of a silo VNet.
type SubnetSpec struct {
	// Name is the subnet's name, unique in the VNet.
	Name string `yaml:"name" json:"name"`
	// AddressPrefix is the subnet's range, inside the VNet's addressSpace and disjoint from the
	// other subnets.
	AddressPrefix string `yaml:"addressPrefix" json:"addressPrefix"`
	// Purpose says what the subnet holds: nodes (the tenant's AKS node pool and pods),
	// endpoints (private endpoints) or workloads.
	Purpose string `yaml:"purpose,omitempty" json:"purpose,omitempty"`
}

// QuotaSpec bounds what a tenant may consume. Quantities use Kubernetes notation ("2", "500m",
// "4Gi").
type QuotaSpec struct {
	// CPU the tenant's pods may request in total (required for pool and shared tenants), at
	// most the environment's capacity.cpu.
	CPU string `yaml:"cpu" json:"cpu"`
	// Memory the tenant's pods may request in total (required for pool and shared tenants), at
	// most the environment's capacity.memory.
	Memory string `yaml:"memory" json:"memory"`
	// Pods the tenant may run (required for pool and shared tenants), at most the environment's
	// capacity.pods.
	Pods int `yaml:"pods" json:"pods"`
	// Storage the tenant's volume claims may request in total, at most the environment's
	// capacity.storage.
	Storage string `yaml:"storage,omitempty" json:"storage,omitempty"`
	// NodePool is the silo tenant's dedicated node pool (required for silo tenants, refused for
	// the others).
	NodePool *NodePoolSpec `yaml:"nodePool,omitempty" json:"nodePool,omitempty"`
}

// NodePoolSpec sizes a silo tenant's dedicated AKS node pool.
type NodePoolSpec struct {
	// Min is the smallest number of nodes, at most max.
	Min int `yaml:"min" json:"min"`
	// Max is the largest number of nodes, at least 1 and at most the environment's
	// capacity.maxNodes.
	Max int `yaml:"max" json:"max"`
	// VMSize is the Azure VM size of the nodes, e.g. Standard_D4s_v5.
	VMSize string `yaml:"vmSize,omitempty" json:"vmSize,omitempty"`
}

// DataSpec names the tenant's database (silo, or pool with a dedicated-database override) or its
// schema/partition in the shared database server.
type DataSpec struct {
	// Database is the tenant's dedicated database: required when the data layer is
	// dedicated-database (silo, or overrides.data), refused otherwise.
	Database string `yaml:"database,omitempty" json:"database,omitempty"`
	// Schema is the tenant's partition in the shared database: required when the data layer is
	// shared-partitioned (pool), used by no other tenant.
	Schema string `yaml:"schema,omitempty" json:"schema,omitempty"`
}

// SecretBinding references a secret in Key Vault. It never carries the value (seed: Secret
// Handling).
type SecretBinding struct {
	// Name is how the tenant's workloads refer to the secret, unique in the binding.
	Name string `yaml:"name" json:"name"`
	// KeyVaultRef is the vault: a Key Vault name or https://<name>.vault.azure.net. Pool and
	// shared tenants reference the environment's shared vault, a silo tenant its own.
	KeyVaultRef string `yaml:"keyVaultRef" json:"keyVaultRef"`
	// SecretName is the secret's name in the vault; in the shared vault it starts with
	// "<tenantId>-".
	SecretName string `yaml:"secretName" json:"secretName"`
	// CurrentVersion pins a version of the secret (32 hexadecimal characters); empty means the
	// latest. `tenantctl secrets rotate` moves it.
	CurrentVersion string `yaml:"currentVersion,omitempty" json:"currentVersion,omitempty"`
}

// Environment describes one platform environment: the shared infrastructure every tenant of it
// lands on and the limits a binding is validated against.
type Environment struct {
	// APIVersion is runtime.connectsoft.io/v1alpha1.
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Kind is Environment.
	Kind     string          `yaml:"kind" json:"kind"`
	Metadata ObjectMeta      `yaml:"metadata" json:"metadata"`
	Spec     EnvironmentSpec `yaml:"spec" json:"spec"`

	Source Source `yaml:"-" json:"-"`
}

// Name is the environment's name (metadata.name), the value bindings put in spec.environment.
func (e *Environment) Name() string { return e.Metadata.Name }

// EnvironmentSpec is the body of an Environment.
type EnvironmentSpec struct {
	// Production marks a production environment, which tenantctl treats more strictly (e.g. a
	// change through the HTTP API applies exactly its approved preview; drift rates an image not
	// pinned by digest high).
	Production bool `yaml:"production" json:"production"`
	// Target selects the programs stacks/ runs: "kubernetes" (any conformant cluster) or "azure".
	Target string `yaml:"target" json:"target"`
	// AddressSpace is the range every silo VNet must fall inside.
	AddressSpace []string `yaml:"addressSpace" json:"addressSpace"`
	// PlatformAddressSpace holds the platform's own ranges (hub, shared cluster) that no tenant
	// may overlap.
	PlatformAddressSpace []string     `yaml:"platformAddressSpace" json:"platformAddressSpace"`
	Hub                  HubSpec      `yaml:"hub" json:"hub"`
	SharedCluster        ClusterSpec  `yaml:"sharedCluster" json:"sharedCluster"`
	SharedVault          VaultSpec    `yaml:"sharedVault" json:"sharedVault"`
	SharedDatabase       DatabaseSpec `yaml:"sharedDatabase" json:"sharedDatabase"`
	// TrustedRegistries are the registry hosts (with an optional :port, no scheme or path)
	// images may be pulled from.
	TrustedRegistries []string     `yaml:"trustedRegistries" json:"trustedRegistries"`
	Capacity          CapacitySpec `yaml:"capacity" json:"capacity"`
	// Azure places the environment in a subscription and region (required for the azure
	// target).
	Azure *AzureSpec `yaml:"azure,omitempty" json:"azure,omitempty"`
	// AllowedRoutes are the cross-tenant routes that are legitimate; drift and reachability
	// never report them.
	AllowedRoutes []AllowedRoute `yaml:"allowedRoutes,omitempty" json:"allowedRoutes,omitempty"`
	// Labels are added to the platform's resources of the environment.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
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
	Kind string `yaml:"kind" json:"kind"`
	// Name is the user, group or ServiceAccount name as RBAC subjects spell it.
	Name string `yaml:"name" json:"name"`
	// Namespace is the ServiceAccount's namespace (required for, and only for, a ServiceAccount).
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Reason says what the principal does for the platform.
	Reason string `yaml:"reason,omitempty" json:"reason,omitempty"`
}

// The kinds of PlatformPrincipal, as RBAC subjects name them.
const (
	PrincipalUser           = "User"
	PrincipalGroup          = "Group"
	PrincipalServiceAccount = "ServiceAccount"
)

// HubSpec is the environment's hub VNet; silo VNets peer to it and to nothing else.
type HubSpec struct {
	// VNetName is the hub VNet's name (required for the azure target).
	VNetName string `yaml:"vnetName" json:"vnetName"`
	// ResourceGroup holds the hub VNet; empty means the platform's resource group.
	ResourceGroup string `yaml:"resourceGroup,omitempty" json:"resourceGroup,omitempty"`
	// AddressSpace holds the hub's ranges, which no tenant may overlap (required for the azure
	// target).
	AddressSpace []string `yaml:"addressSpace" json:"addressSpace"`
	// FirewallIP is the next hop of the hub's firewall, when the hub routes through one.
	FirewallIP string `yaml:"firewallIP,omitempty" json:"firewallIP,omitempty"`
	// UseRemoteGateways makes silo VNets use the hub's VPN or ExpressRoute gateway (peering
	// useRemoteGateways on the spoke, allowGatewayTransit on the hub); the hub must have one.
	UseRemoteGateways bool `yaml:"useRemoteGateways,omitempty" json:"useRemoteGateways,omitempty"`
}

// ClusterSpec is the shared cluster pool and shared tenants run on.
type ClusterSpec struct {
	// Name is the shared cluster's name.
	Name string `yaml:"name" json:"name"`
	// ResourceGroup holds the cluster; empty means the platform's resource group.
	ResourceGroup string `yaml:"resourceGroup,omitempty" json:"resourceGroup,omitempty"`
	// IngressNamespace runs the platform ingress; tenant namespaces admit traffic from it.
	IngressNamespace string `yaml:"ingressNamespace" json:"ingressNamespace"`
	// SharedNamespace hosts shared-tier tenants.
	SharedNamespace string `yaml:"sharedNamespace" json:"sharedNamespace"`
	// PodCIDR is the cluster's pod range, which no tenant may overlap.
	PodCIDR string `yaml:"podCIDR,omitempty" json:"podCIDR,omitempty"`
	// ServiceCIDR is the cluster's service range, which no tenant may overlap.
	ServiceCIDR string `yaml:"serviceCIDR,omitempty" json:"serviceCIDR,omitempty"`
}

// VaultSpec is the environment's shared Key Vault.
type VaultSpec struct {
	// Name is the vault's name: 3-24 letters, digits and single hyphens, starting with a letter.
	Name string `yaml:"name" json:"name"`
	// ResourceGroup holds the vault; empty means the platform's resource group.
	ResourceGroup string `yaml:"resourceGroup,omitempty" json:"resourceGroup,omitempty"`
}

// DatabaseSpec is the environment's shared database server.
type DatabaseSpec struct {
	// Server is the database server's name.
	Server string `yaml:"server" json:"server"`
	// ResourceGroup holds the server; empty means the platform's resource group.
	ResourceGroup string `yaml:"resourceGroup,omitempty" json:"resourceGroup,omitempty"`
	// Engine is postgresql (the default; also postgres) or sqlserver (also azuresql, sql). On
	// the kubernetes target, postgresql makes `up` create the tenants' data on the server of
	// --postgres-connection.
	Engine string `yaml:"engine,omitempty" json:"engine,omitempty"`
	// Tables are the shared schema's tables that row-filtered tenants share, each guarded by
	// one row-level security policy per tenant.
	Tables []string `yaml:"tables,omitempty" json:"tables,omitempty"`
	// EntraAdmin is, on the azure target with engine postgresql, the role of the server's
	// Microsoft Entra administrator that the stacks sign in as (with a Microsoft Entra access
	// token of the identity running them) to create the tenants' roles, schemas, grants and
	// row-level security: the principal name the administrator was added with (Azure portal,
	// ARM, az postgres flexible-server microsoft-entra-admin create), lowercase letters, digits,
	// '_' and '-' (the display name of a managed identity or service principal such as
	// tenantctl-prod). The server accepts no password, so there is no password to configure.
	EntraAdmin string `yaml:"entraAdmin,omitempty" json:"entraAdmin,omitempty"`
}

// CapacitySpec is what one tenant may at most be given in the environment.
type CapacitySpec struct {
	// CPU is the most a tenant's quota.cpu may be.
	CPU string `yaml:"cpu" json:"cpu"`
	// Memory is the most a tenant's quota.memory may be.
	Memory string `yaml:"memory" json:"memory"`
	// Pods is the most a tenant's quota.pods may be.
	Pods int `yaml:"pods" json:"pods"`
	// Storage is the most a tenant's quota.storage may be; no limit when empty.
	Storage string `yaml:"storage,omitempty" json:"storage,omitempty"`
	// MaxNodes is the most nodes a silo tenant's node pool may have; no limit when 0.
	MaxNodes int `yaml:"maxNodes,omitempty" json:"maxNodes,omitempty"`
}

// AzureSpec places the environment's Azure resources.
type AzureSpec struct {
	// SubscriptionID is the Azure subscription (a GUID).
	SubscriptionID string `yaml:"subscriptionId" json:"subscriptionId"`
	// Location is the Azure region, e.g. westeurope.
	Location string `yaml:"location" json:"location"`
	// ResourceGroup is the platform's resource group; empty means rg-platform-<environment>.
	ResourceGroup string `yaml:"resourceGroup,omitempty" json:"resourceGroup,omitempty"`
}

// AllowedRoute declares a legitimate route that crosses a tenant boundary (hub peering, platform
// ingress, an agreed tenant-to-tenant integration). Drift and reachability never report it.
type AllowedRoute struct {
	// From is where the route starts: a tenant id bound in the environment, or "platform".
	From string `yaml:"from" json:"from"`
	// To is where the route ends: a tenant id bound in the environment, or "platform"; not From.
	To string `yaml:"to" json:"to"`
	// Reason says why the route is legitimate.
	Reason string `yaml:"reason" json:"reason"`
}

// Platform is the pseudo-tenant that owns shared infrastructure in routes and reachability.
const Platform = "platform"
