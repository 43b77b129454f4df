package azure

import (
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Tenant stack output keys of the azure target, in addition to the kubernetes target's
// (kubernetes.Output*), which a tenant stack on AKS exports as well.
const (
	OutputResourceGroup        = "resourceGroup"
	OutputVNet                 = "vnet"
	OutputVNetID               = "vnetId"
	OutputSubnets              = "subnets"
	OutputNetworkSecurityGroup = "networkSecurityGroup"
	OutputRouteTable           = "routeTable"
	OutputPeerings             = "peerings"
	OutputNodePool             = "nodePool"
	OutputIdentity             = "identity"
	OutputIdentityID           = "identityId"
	OutputIdentityClientID     = "identityClientId"
	OutputFederatedSubject     = "federatedSubject"
	OutputVault                = "vault"
	OutputVaultURI             = "vaultUri"
	OutputPrivateEndpoint      = "privateEndpoint"
	OutputKeyVaultReferences   = "keyVaultReferences"
	OutputDatabase             = "database"
	OutputRoleAssignments      = "roleAssignments"
)

// TenantOutputs is what a tenant stack on the azure target exports: names, ARM ids and Key Vault
// references, never a secret value. Fields of layers the tenant's modes do not create are empty.
type TenantOutputs struct {
	Modes      map[isolation.Layer]isolation.Mode
	Kubernetes *kubernetes.TenantOutputs

	ResourceGroup        string
	VNet                 string
	VNetID               string
	Subnets              map[string]string // name -> address prefix
	NetworkSecurityGroup string
	RouteTable           string
	Peerings             []string
	NodePool             string
	Identity             string
	IdentityID           string
	// IdentityClientID is known once the identity exists; it is not a secret (it names the
	// identity, the federation is what authenticates).
	IdentityClientID pulumi.StringOutput
	FederatedSubject string
	Vault            string
	VaultURI         string
	PrivateEndpoint  string
	// KeyVaultReferences maps each SecretBinding name to its Key Vault secret URI.
	KeyVaultReferences map[string]string
	Database           DatabaseRef
	RoleAssignments    []tenantplan.AzureRoleGrant
}

// Map is the outputs as stack exports: the Kubernetes part's keys plus the Azure ones. Every key
// is always present.
func (o *TenantOutputs) Map() pulumi.Map {
	m := pulumi.Map{}
	if o.Kubernetes != nil {
		maps.Copy(m, o.Kubernetes.Map())
	}
	grants := pulumi.Array{}
	for _, g := range o.RoleAssignments {
		grants = append(grants, pulumi.StringMap{"role": pulumi.String(g.Role), "scope": pulumi.String(g.Scope), "principal": pulumi.String(g.Principal)})
	}
	clientID := pulumi.StringInput(pulumi.String(""))
	if o.Identity != "" {
		clientID = o.IdentityClientID
	}
	m[OutputResourceGroup] = pulumi.String(o.ResourceGroup)
	m[OutputVNet] = pulumi.String(o.VNet)
	m[OutputVNetID] = pulumi.String(o.VNetID)
	m[OutputSubnets] = pulumi.ToStringMap(o.Subnets)
	m[OutputNetworkSecurityGroup] = pulumi.String(o.NetworkSecurityGroup)
	m[OutputRouteTable] = pulumi.String(o.RouteTable)
	m[OutputPeerings] = pulumi.ToStringArray(o.Peerings)
	m[OutputNodePool] = pulumi.String(o.NodePool)
	m[OutputIdentity] = pulumi.String(o.Identity)
	m[OutputIdentityID] = pulumi.String(o.IdentityID)
	m[OutputIdentityClientID] = clientID
	m[OutputFederatedSubject] = pulumi.String(o.FederatedSubject)
	m[OutputVault] = pulumi.String(o.Vault)
	m[OutputVaultURI] = pulumi.String(o.VaultURI)
	m[OutputPrivateEndpoint] = pulumi.String(o.PrivateEndpoint)
	m[OutputKeyVaultReferences] = pulumi.ToStringMap(o.KeyVaultReferences)
	m[OutputDatabase] = pulumi.StringMap{
		"engine": pulumi.String(o.Database.Engine), "server": pulumi.String(o.Database.Server),
		"serverId": pulumi.String(o.Database.ServerID), "database": pulumi.String(o.Database.Name),
		"schema": pulumi.String(o.Database.Schema), "host": pulumi.String(o.Database.Host),
		"loginRole": pulumi.String(o.Database.LoginRole), "auth": pulumi.String(o.Database.Auth),
	}
	m[OutputRoleAssignments] = grants
	return m
}

// Platform stack output keys of the azure target, in addition to tenantplan.Output*.
const (
	OutputPlatformResourceGroup = "resourceGroup"
	OutputHubVNetID             = "hubVnetId"
	OutputSharedVaultID         = "sharedVaultId"
	OutputSharedVaultURI        = "sharedVaultUri"
	OutputSharedDatabaseServer  = "sharedDatabaseServerId"
	OutputSharedDatabase        = "sharedDatabase"
	OutputLogAnalyticsWorkspace = "logAnalyticsWorkspaceId"
	OutputVaultDNSZoneID        = "vaultPrivateDnsZoneId"
	OutputClusterID             = "clusterId"
	OutputOIDCIssuerURL         = "oidcIssuerUrl"
)

// PlatformOutputs is what a platform stack on the azure target exports: the kubernetes target's
// outputs, which tenant stacks consume (tenantplan.PlatformOutputsFromMap), and the ids of the shared
// Azure resources.
type PlatformOutputs struct {
	tenantplan.PlatformOutputs
	ResourceGroup          string
	HubVNetID              string
	SharedVaultID          string
	SharedVaultURI         string
	SharedDatabaseServerID string
	SharedDatabase         string
	LogAnalyticsWorkspace  string
	VaultDNSZoneID         string
	ClusterID              string
	OIDCIssuerURL          string
}

// Map is the outputs as stack exports: what every platform stack exports for its tenants, and
// the Azure ids.
func (o *PlatformOutputs) Map() pulumi.Map {
	m := kubernetes.PlatformExports(&o.PlatformOutputs)
	m[OutputPlatformResourceGroup] = pulumi.String(o.ResourceGroup)
	m[OutputHubVNetID] = pulumi.String(o.HubVNetID)
	m[OutputSharedVaultID] = pulumi.String(o.SharedVaultID)
	m[OutputSharedVaultURI] = pulumi.String(o.SharedVaultURI)
	m[OutputSharedDatabaseServer] = pulumi.String(o.SharedDatabaseServerID)
	m[OutputSharedDatabase] = pulumi.String(o.SharedDatabase)
	m[OutputLogAnalyticsWorkspace] = pulumi.String(o.LogAnalyticsWorkspace)
	m[OutputVaultDNSZoneID] = pulumi.String(o.VaultDNSZoneID)
	m[OutputClusterID] = pulumi.String(o.ClusterID)
	m[OutputOIDCIssuerURL] = pulumi.String(o.OIDCIssuerURL)
	return m
}
