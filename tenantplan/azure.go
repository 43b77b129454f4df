package tenantplan

// The azure target's part of a tenant plan: Azure resources of every layer, next to the
// Kubernetes part on the shared AKS cluster, which is the same as on the kubernetes target.

// AzureTenant is what every Azure resource of a tenant shares, and the environment's shared
// resources they refer to.
type AzureTenant struct {
	SubscriptionID string `json:"subscriptionId"`
	Location       string `json:"location"`
	Production     bool   `json:"production"`
	// ResourceGroup holds the tenant's own Azure resources; empty when it owns none.
	ResourceGroup         string            `json:"resourceGroup,omitempty"`
	Tags                  map[string]string `json:"tags"`
	PlatformResourceGroup string            `json:"platformResourceGroup"`
	HubResourceGroup      string            `json:"hubResourceGroup"`
	HubVNet               string            `json:"hubVnet"`
	SharedVault           string            `json:"sharedVault"`
	SharedVaultGroup      string            `json:"sharedVaultResourceGroup"`
	Cluster               string            `json:"cluster"`
	ClusterResourceGroup  string            `json:"clusterResourceGroup"`
}

// AzureVNet is a dedicated-vnet tenant's network: the VNet, its subnets (each with the NSG), the
// route table through the hub firewall (when the hub has one) and the peering with the hub in
// both directions. The VNet peers with the hub and nothing else.
type AzureVNet struct {
	Name          string        `json:"name"`
	ID            string        `json:"id"`
	ResourceGroup string        `json:"resourceGroup"`
	AddressSpace  []string      `json:"addressSpace"`
	Subnets       []AzureSubnet `json:"subnets"`
	// NodesSubnet holds the node pool; EndpointsSubnet private endpoints ("" when none).
	NodesSubnet     string           `json:"nodesSubnet"`
	EndpointsSubnet string           `json:"endpointsSubnet,omitempty"`
	NSG             AzureNSG         `json:"nsg"`
	RouteTable      *AzureRouteTable `json:"routeTable,omitempty"`
	// Peerings are the spoke side (to-hub) and the hub side (to-<tenant>).
	Peerings []AzurePeering `json:"peerings"`
}

// AzureSubnet is one subnet of a tenant VNet. Every subnet gets the tenant NSG and private
// endpoint network policies, so the NSG applies to private endpoints too.
type AzureSubnet struct {
	Name          string `json:"name"`
	ID            string `json:"id"`
	AddressPrefix string `json:"addressPrefix"`
	Purpose       string `json:"purpose,omitempty"`
	// RouteTable: the subnet's egress goes through the hub firewall (every subnet but the
	// endpoints one, when there is a firewall).
	RouteTable bool `json:"routeTable"`
}

// AzureNSG is the network security group on every subnet of a tenant VNet.
type AzureNSG struct {
	Name  string         `json:"name"`
	ID    string         `json:"id"`
	Rules []SecurityRule `json:"rules"`
}

// AzureRouteTable sends a tenant VNet's egress through the hub firewall. Routes learnt from the
// hub's gateway must not bypass the firewall, so BGP route propagation is off.
type AzureRouteTable struct {
	Name   string       `json:"name"`
	ID     string       `json:"id"`
	Routes []AzureRoute `json:"routes"`
}

// AzureRoute is one user-defined route.
type AzureRoute struct {
	Name             string `json:"name"`
	AddressPrefix    string `json:"addressPrefix"`
	NextHopType      string `json:"nextHopType"`
	NextHopIPAddress string `json:"nextHopIpAddress"`
}

// AzurePeering is one side of a VNet peering. Nothing the hub forwards (from another spoke or
// on-premises) enters a tenant VNet: forwarded traffic is never allowed.
type AzurePeering struct {
	Name                  string `json:"name"`
	ID                    string `json:"id"`
	ResourceGroup         string `json:"resourceGroup"`
	VNet                  string `json:"vnet"`
	RemoteID              string `json:"remoteVnetId"`
	AllowForwardedTraffic bool   `json:"allowForwardedTraffic"`
	AllowGatewayTransit   bool   `json:"allowGatewayTransit"`
	UseRemoteGateways     bool   `json:"useRemoteGateways"`
}

// Route names of a tenant VNet's route table.
const RouteDefaultViaFirewall = "default-via-hub-firewall"

// Service tags and wildcards of NSG rules.
const (
	tagVirtualNetwork    = "VirtualNetwork"
	tagAzureLoadBalancer = "AzureLoadBalancer"
	anyPrefix            = "*"
)

// SecurityRule is one NSG rule as tenantctl writes it: every protocol and port, so a rule says
// only who may talk to whom. Exactly one of the prefix and prefixes fields is set per side.
type SecurityRule struct {
	Name                       string   `json:"name"`
	Priority                   int      `json:"priority"`
	Direction                  string   `json:"direction"` // Inbound, Outbound
	Access                     string   `json:"access"`    // Allow, Deny
	SourceAddressPrefix        string   `json:"sourceAddressPrefix,omitempty"`
	SourceAddressPrefixes      []string `json:"sourceAddressPrefixes,omitempty"`
	DestinationAddressPrefix   string   `json:"destinationAddressPrefix,omitempty"`
	DestinationAddressPrefixes []string `json:"destinationAddressPrefixes,omitempty"`
}

// TenantSecurityRules are the rules of a dedicated VNet's NSG: the hub and the VNet itself may
// talk to the VNet; every other address of the environment's tenant range, and the VirtualNetwork
// service tag (which covers every peered network and the platform's own), is denied explicitly,
// ahead of Azure's default AllowVnetInBound/OutBound rules. Other tenants are denied by range,
// not by name, so adding a tenant changes no other tenant's stack and no stack names another
// tenant's addresses. Internet egress keeps Azure's default (or the hub firewall route).
func TenantSecurityRules(vnetSpace, hub, envSpace []string) []SecurityRule {
	return []SecurityRule{
		{Name: "allow-hub-inbound", Priority: 100, Direction: "Inbound", Access: "Allow", SourceAddressPrefixes: hub, DestinationAddressPrefixes: vnetSpace},
		{Name: "allow-vnet-inbound", Priority: 110, Direction: "Inbound", Access: "Allow", SourceAddressPrefixes: vnetSpace, DestinationAddressPrefixes: vnetSpace},
		// Health probes of the node pool's load balancers.
		{Name: "allow-azure-load-balancer-inbound", Priority: 120, Direction: "Inbound", Access: "Allow", SourceAddressPrefix: tagAzureLoadBalancer, DestinationAddressPrefixes: vnetSpace},
		{Name: "deny-tenant-ranges-inbound", Priority: 4000, Direction: "Inbound", Access: "Deny", SourceAddressPrefixes: envSpace, DestinationAddressPrefix: anyPrefix},
		{Name: "deny-virtual-network-inbound", Priority: 4010, Direction: "Inbound", Access: "Deny", SourceAddressPrefix: tagVirtualNetwork, DestinationAddressPrefix: anyPrefix},
		{Name: "deny-all-inbound", Priority: 4096, Direction: "Inbound", Access: "Deny", SourceAddressPrefix: anyPrefix, DestinationAddressPrefix: anyPrefix},
		{Name: "allow-hub-outbound", Priority: 100, Direction: "Outbound", Access: "Allow", SourceAddressPrefixes: vnetSpace, DestinationAddressPrefixes: hub},
		{Name: "allow-vnet-outbound", Priority: 110, Direction: "Outbound", Access: "Allow", SourceAddressPrefixes: vnetSpace, DestinationAddressPrefixes: vnetSpace},
		{Name: "deny-tenant-ranges-outbound", Priority: 4000, Direction: "Outbound", Access: "Deny", SourceAddressPrefix: anyPrefix, DestinationAddressPrefixes: envSpace},
		{Name: "deny-virtual-network-outbound", Priority: 4010, Direction: "Outbound", Access: "Deny", SourceAddressPrefix: anyPrefix, DestinationAddressPrefix: tagVirtualNetwork},
	}
}

// AzureNodePool is a dedicated-node-pool tenant's AKS node pool, autoscaled, in the nodes subnet
// of its VNet. Its nodes carry the label and taint the platform's admission policies pin the
// tenant's pods to.
type AzureNodePool struct {
	Name                 string            `json:"name"`
	Cluster              string            `json:"cluster"`
	ClusterResourceGroup string            `json:"clusterResourceGroup"`
	VMSize               string            `json:"vmSize"`
	Min                  int               `json:"min"`
	Max                  int               `json:"max"`
	Subnet               string            `json:"subnet"`
	SubnetID             string            `json:"subnetId"`
	Labels               map[string]string `json:"labels"`
	Taints               []string          `json:"taints"`
}

// AzureIdentity is a tenant's user-assigned workload identity, federated with its Kubernetes
// ServiceAccount and nothing else: its roles are granted by the layers that own the scopes. Every
// tenant of an azure environment has one: its SecretProviderClass reads Key Vault as it.
type AzureIdentity struct {
	Name                string   `json:"name"`
	ID                  string   `json:"id"`
	FederatedCredential string   `json:"federatedCredential"`
	Subject             string   `json:"subject"`
	Audiences           []string `json:"audiences"`
	// Principal is the stable key of the identity in role assignment names (its object id is
	// unknown until it exists).
	Principal string `json:"principal"`
}

// AzureSecrets is the Key Vault side of a tenant's secrets. Dedicated vault: the tenant's vault,
// reachable only through a private endpoint in its endpoints subnet, and Key Vault Secrets User on
// that vault for the tenant identity. Shared vault (per-tenant access, scoped references): that
// role on each secret the binding references, because Azure RBAC scopes a data-plane role to a
// vault or to one secret, never to a name prefix.
type AzureSecrets struct {
	// KeyVaultReferences maps each reference name to its Key Vault secret URI.
	KeyVaultReferences map[string]string `json:"keyVaultReferences"`
	Vault              *AzureVault       `json:"vault,omitempty"`
	// SharedSecrets are the shared vault's secrets the tenant may read, one grant each.
	SharedSecrets []AzureSharedSecret `json:"sharedSecrets,omitempty"`
	// Grants are the tenant identity's role assignments of this layer.
	Grants []AzureRoleGrant `json:"grants,omitempty"`
}

// AzureVault is a Key Vault.
type AzureVault struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	URI  string `json:"uri"`
	// PrivateEndpoint connects a dedicated vault to its tenant's VNet; nil without a VNet.
	PrivateEndpoint *AzurePrivateEndpoint `json:"privateEndpoint,omitempty"`
}

// AzurePrivateEndpoint is a vault's private endpoint, registered in the platform's private DNS
// zone, which the tenant VNet resolves through a link of the same name as the VNet.
type AzurePrivateEndpoint struct {
	Name              string `json:"name"`
	Subnet            string `json:"subnet"`
	DNSZone           string `json:"dnsZone"`
	DNSZoneID         string `json:"dnsZoneId"`
	DNSZoneGroup      string `json:"dnsZoneResourceGroup"`
	DNSZoneLink       string `json:"dnsZoneLink"`
	DNSZoneLinkTarget string `json:"dnsZoneLinkVnetId"`
}

// AzureSharedSecret is one secret of the shared vault a tenant may read.
type AzureSharedSecret struct {
	Ref        string `json:"ref"`
	SecretName string `json:"secretName"`
	Scope      string `json:"scope"`
}

// AzureRoleGrant is one role assignment: a built-in role on one scope for one principal.
type AzureRoleGrant struct {
	// Name is the assignment's name (RoleAssignmentName of scope, principal and role).
	Name  string `json:"name"`
	Role  string `json:"role"`
	Scope string `json:"scope"`
	// Principal names who gets the role ("identity:<name>", "cluster:<name>").
	Principal string `json:"principal"`
}

// NewAzureRoleGrant names the assignment of role on scope to principal.
func NewAzureRoleGrant(role, scope, principal string) AzureRoleGrant {
	return AzureRoleGrant{Name: RoleAssignmentName(scope, principal, role), Role: role, Scope: scope, Principal: principal}
}

// AzureDatabase locates a tenant's data on the environment's shared server. A dedicated database
// is created by the tenant stack; a partition (schema) and a row filter live inside the shared
// database, which the platform stack creates.
type AzureDatabase struct {
	Engine              string `json:"engine"`
	Server              string `json:"server"`
	ServerResourceGroup string `json:"serverResourceGroup"`
	ServerID            string `json:"serverId"`
	Database            string `json:"database"`
	Schema              string `json:"schema,omitempty"`
	Dedicated           bool   `json:"dedicated"`
	// Host and EntraAdmin are how the tenant stack reaches a PostgreSQL server's catalog (as
	// AzureSharedDatabase's); empty for SQL Server.
	Host       string `json:"host,omitempty"`
	EntraAdmin string `json:"entraAdmin,omitempty"`
}

// Database engines of sharedDatabase.engine.
const (
	EnginePostgres = "postgresql"
	EngineSQL      = "sqlserver"
)

// DefaultVMSize sizes a dedicated node pool whose binding names none.
const DefaultVMSize = "Standard_D4s_v5"

// Workload identity on AKS: the token audience a federated credential accepts.
const TokenExchangeAudience = "api://AzureADTokenExchange"

// ServiceAccountSubject is the subject of a Kubernetes ServiceAccount's tokens.
func ServiceAccountSubject(namespace, serviceAccount string) string {
	return "system:serviceaccount:" + namespace + ":" + serviceAccount
}

// ARM resource types of the ids tenantctl computes.
const (
	TypeVirtualNetwork = "Microsoft.Network/virtualNetworks"
	TypeNSG            = "Microsoft.Network/networkSecurityGroups"
	TypeRouteTable     = "Microsoft.Network/routeTables"
	TypeVault          = "Microsoft.KeyVault/vaults"
	TypePrivateDNSZone = "Microsoft.Network/privateDnsZones"
	TypeIdentity       = "Microsoft.ManagedIdentity/userAssignedIdentities"
	TypeWorkspace      = "Microsoft.OperationalInsights/workspaces"
	TypePostgres       = "Microsoft.DBforPostgreSQL/flexibleServers"
	TypeSQLServer      = "Microsoft.Sql/servers"
)

// SubnetID is the ARM id of a subnet of a VNet.
func SubnetID(vnetID, subnet string) string { return vnetID + "/subnets/" + subnet }

// NodePoolTaint is the taint of a tenant's dedicated node pool: "tenantctl.io/tenant=<id>:NoSchedule".
// The key is the kubernetes target's label key: the platform's admission policies pin a silo
// tenant's pods to nodes labelled, and let them tolerate nodes tainted, with exactly this key.
func NodePoolTaint(tenantID string) string {
	return NodeLabelTenant + "=" + tenantID + ":" + NodeTaintEffect
}

// NodePoolLabels are the labels of a tenant's dedicated nodes; the pods' nodeSelector matches
// them.
func NodePoolLabels(tenantID string) map[string]string {
	return map[string]string{NodeLabelTenant: tenantID}
}
