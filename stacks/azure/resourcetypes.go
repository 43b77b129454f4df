package azure

import (
	"fmt"
	"reflect"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ProviderVersion is the azure-native provider every resource of the azure target asks the engine
// for. The typed SDK packages (network, keyvault, resources, authorization, sql,
// operationalinsights) are pinned to it in go.mod and send it themselves; the resources below
// send it explicitly, so one stack never loads two provider versions.
const ProviderVersion = "2.90.0"

// Resources registered by type token. The typed Go packages for them
// (pulumi-azure-native-sdk/containerservice/v2, dbforpostgresql/v2 and managedidentity/v2) are not
// served by the module proxy this project builds against at any version tried, so the resources
// are registered with ctx.RegisterResource under the provider's own type tokens, with the few
// arguments tenantctl sets typed below. The provider validates the arguments against the same
// schema as the typed SDK would; only the Go convenience layer is missing. Once those modules
// are available, these types can be swapped for the generated ones without a state change: the
// type token and the inputs stay the same.
const (
	TypeAgentPool                   = "azure-native:containerservice:AgentPool"
	TypeFlexibleServer              = "azure-native:dbforpostgresql:Server"
	TypeFlexibleServerDatabase      = "azure-native:dbforpostgresql:Database"
	TypeFlexibleServerAdministrator = "azure-native:dbforpostgresql:Administrator"
	TypeUserAssignedIdentity        = "azure-native:managedidentity:UserAssignedIdentity"
	TypeFederatedIdentityCredential = "azure-native:managedidentity:FederatedIdentityCredential"
	// InvokeGetManagedCluster reads the shared AKS cluster (containerservice is not served either).
	InvokeGetManagedCluster = "azure-native:containerservice:getManagedCluster"
)

// registerResource registers a resource of the types below by its type token, pinned to
// ProviderVersion.
func registerResource(ctx *pulumi.Context, token, name string, args pulumi.Input, res pulumi.CustomResource, opts []pulumi.ResourceOption) error {
	opts = append(opts, pulumi.Version(ProviderVersion))
	if err := ctx.RegisterResource(token, name, args, res, opts...); err != nil {
		return fmt.Errorf("%s %s: %w", token, name, err)
	}
	return nil
}

// AgentPool is a node pool of an AKS cluster (azure-native:containerservice:AgentPool).
type AgentPool struct {
	pulumi.CustomResourceState
	Name       pulumi.StringOutput      `pulumi:"name"`
	NodeTaints pulumi.StringArrayOutput `pulumi:"nodeTaints"`
}

// AgentPoolArgs are the node pool arguments tenantctl sets.
type AgentPoolArgs struct {
	ResourceGroupName pulumi.StringInput
	// ResourceName is the cluster's name.
	ResourceName      pulumi.StringInput
	AgentPoolName     pulumi.StringInput
	Mode              pulumi.StringInput
	OsType            pulumi.StringInput
	Type              pulumi.StringInput
	VmSize            pulumi.StringInput
	Count             pulumi.IntInput
	EnableAutoScaling pulumi.BoolInput
	MinCount          pulumi.IntInput
	MaxCount          pulumi.IntInput
	NodeLabels        pulumi.StringMapInput
	NodeTaints        pulumi.StringArrayInput
	VnetSubnetID      pulumi.StringInput
	Tags              pulumi.StringMapInput
}

type agentPoolArgs struct {
	ResourceGroupName string            `pulumi:"resourceGroupName"`
	ResourceName      string            `pulumi:"resourceName"`
	AgentPoolName     string            `pulumi:"agentPoolName"`
	Mode              string            `pulumi:"mode"`
	OsType            string            `pulumi:"osType"`
	Type              string            `pulumi:"type"`
	VmSize            string            `pulumi:"vmSize"`
	Count             int               `pulumi:"count"`
	EnableAutoScaling bool              `pulumi:"enableAutoScaling"`
	MinCount          int               `pulumi:"minCount"`
	MaxCount          int               `pulumi:"maxCount"`
	NodeLabels        map[string]string `pulumi:"nodeLabels"`
	NodeTaints        []string          `pulumi:"nodeTaints"`
	VnetSubnetID      string            `pulumi:"vnetSubnetID"`
	Tags              map[string]string `pulumi:"tags"`
}

// ElementType tells the SDK which pulumi names the fields marshal to.
func (AgentPoolArgs) ElementType() reflect.Type { return reflect.TypeOf((*agentPoolArgs)(nil)).Elem() }

// FlexibleServer is an Azure Database for PostgreSQL flexible server
// (azure-native:dbforpostgresql:Server, API 2022-12-01 in provider v2).
type FlexibleServer struct {
	pulumi.CustomResourceState
	Name                     pulumi.StringOutput `pulumi:"name"`
	FullyQualifiedDomainName pulumi.StringOutput `pulumi:"fullyQualifiedDomainName"`
}

// FlexibleServerArgs are the server arguments tenantctl sets. There is deliberately no
// administrator login or password: the server accepts Microsoft Entra authentication only, so no
// credential is ever an argument, a config value or state.
type FlexibleServerArgs struct {
	ResourceGroupName pulumi.StringInput
	ServerName        pulumi.StringInput
	Location          pulumi.StringInput
	Version           pulumi.StringInput
	Sku               *PostgresSku
	Storage           *PostgresStorage
	AuthConfig        *PostgresAuthConfig
	Backup            *PostgresBackup
	HighAvailability  *PostgresHighAvailability
	Tags              pulumi.StringMapInput
}

type flexibleServerArgs struct {
	ResourceGroupName string                    `pulumi:"resourceGroupName"`
	ServerName        string                    `pulumi:"serverName"`
	Location          string                    `pulumi:"location"`
	Version           string                    `pulumi:"version"`
	Sku               *PostgresSku              `pulumi:"sku"`
	Storage           *PostgresStorage          `pulumi:"storage"`
	AuthConfig        *PostgresAuthConfig       `pulumi:"authConfig"`
	Backup            *PostgresBackup           `pulumi:"backup"`
	HighAvailability  *PostgresHighAvailability `pulumi:"highAvailability"`
	Tags              map[string]string         `pulumi:"tags"`
}

// ElementType tells the SDK which pulumi names the fields marshal to.
func (FlexibleServerArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*flexibleServerArgs)(nil)).Elem()
}

// PostgresSku is a flexible server's compute tier.
type PostgresSku struct {
	Name string `pulumi:"name"`
	Tier string `pulumi:"tier"`
}

// PostgresStorage is a flexible server's storage size.
type PostgresStorage struct {
	StorageSizeGB int `pulumi:"storageSizeGB"`
}

// PostgresAuthConfig selects the authentication methods a flexible server accepts.
type PostgresAuthConfig struct {
	ActiveDirectoryAuth string `pulumi:"activeDirectoryAuth"`
	PasswordAuth        string `pulumi:"passwordAuth"`
	TenantID            string `pulumi:"tenantId"`
}

// PostgresBackup is a flexible server's backup retention.
type PostgresBackup struct {
	BackupRetentionDays int    `pulumi:"backupRetentionDays"`
	GeoRedundantBackup  string `pulumi:"geoRedundantBackup"`
}

// PostgresHighAvailability is a flexible server's high-availability mode.
type PostgresHighAvailability struct {
	Mode string `pulumi:"mode"`
}

// FlexibleServerDatabase is a database on a flexible server
// (azure-native:dbforpostgresql:Database).
type FlexibleServerDatabase struct {
	pulumi.CustomResourceState
	Name pulumi.StringOutput `pulumi:"name"`
}

// FlexibleServerDatabaseArgs are the database arguments tenantctl sets.
type FlexibleServerDatabaseArgs struct {
	ResourceGroupName pulumi.StringInput
	ServerName        pulumi.StringInput
	DatabaseName      pulumi.StringInput
	Charset           pulumi.StringInput
	Collation         pulumi.StringInput
}

type flexibleServerDatabaseArgs struct {
	ResourceGroupName string `pulumi:"resourceGroupName"`
	ServerName        string `pulumi:"serverName"`
	DatabaseName      string `pulumi:"databaseName"`
	Charset           string `pulumi:"charset"`
	Collation         string `pulumi:"collation"`
}

// ElementType tells the SDK which pulumi names the fields marshal to.
func (FlexibleServerDatabaseArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*flexibleServerDatabaseArgs)(nil)).Elem()
}

// FlexibleServerAdministrator is a Microsoft Entra administrator of a flexible server
// (azure-native:dbforpostgresql:Administrator, API 2022-12-01 in provider v2): a principal that
// signs in with access tokens under PrincipalName and may manage the server's other Entra roles.
type FlexibleServerAdministrator struct {
	pulumi.CustomResourceState
	PrincipalName pulumi.StringOutput `pulumi:"principalName"`
}

// FlexibleServerAdministratorArgs are the administrator arguments tenantctl sets.
type FlexibleServerAdministratorArgs struct {
	ResourceGroupName pulumi.StringInput
	ServerName        pulumi.StringInput
	ObjectID          pulumi.StringInput
	PrincipalName     pulumi.StringInput
	PrincipalType     pulumi.StringInput
	TenantID          pulumi.StringInput
}

type flexibleServerAdministratorArgs struct {
	ResourceGroupName string `pulumi:"resourceGroupName"`
	ServerName        string `pulumi:"serverName"`
	ObjectID          string `pulumi:"objectId"`
	PrincipalName     string `pulumi:"principalName"`
	PrincipalType     string `pulumi:"principalType"`
	TenantID          string `pulumi:"tenantId"`
}

// ElementType tells the SDK which pulumi names the fields marshal to.
func (FlexibleServerAdministratorArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*flexibleServerAdministratorArgs)(nil)).Elem()
}

// UserAssignedIdentity is a user-assigned managed identity
// (azure-native:managedidentity:UserAssignedIdentity).
type UserAssignedIdentity struct {
	pulumi.CustomResourceState
	Name        pulumi.StringOutput `pulumi:"name"`
	ClientID    pulumi.StringOutput `pulumi:"clientId"`
	PrincipalID pulumi.StringOutput `pulumi:"principalId"`
	TenantID    pulumi.StringOutput `pulumi:"tenantId"`
}

// UserAssignedIdentityArgs are the identity arguments tenantctl sets.
type UserAssignedIdentityArgs struct {
	ResourceGroupName pulumi.StringInput
	ResourceName      pulumi.StringInput
	Location          pulumi.StringInput
	Tags              pulumi.StringMapInput
}

type userAssignedIdentityArgs struct {
	ResourceGroupName string            `pulumi:"resourceGroupName"`
	ResourceName      string            `pulumi:"resourceName"`
	Location          string            `pulumi:"location"`
	Tags              map[string]string `pulumi:"tags"`
}

// ElementType tells the SDK which pulumi names the fields marshal to.
func (UserAssignedIdentityArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*userAssignedIdentityArgs)(nil)).Elem()
}

// FederatedIdentityCredential lets tokens of one Kubernetes ServiceAccount act as a
// user-assigned identity (azure-native:managedidentity:FederatedIdentityCredential).
type FederatedIdentityCredential struct {
	pulumi.CustomResourceState
	Name    pulumi.StringOutput `pulumi:"name"`
	Subject pulumi.StringOutput `pulumi:"subject"`
}

// FederatedIdentityCredentialArgs are the credential arguments tenantctl sets.
type FederatedIdentityCredentialArgs struct {
	ResourceGroupName pulumi.StringInput
	// ResourceName is the identity's name.
	ResourceName                            pulumi.StringInput
	FederatedIdentityCredentialResourceName pulumi.StringInput
	Issuer                                  pulumi.StringInput
	Subject                                 pulumi.StringInput
	Audiences                               pulumi.StringArrayInput
}

type federatedIdentityCredentialArgs struct {
	ResourceGroupName                       string   `pulumi:"resourceGroupName"`
	ResourceName                            string   `pulumi:"resourceName"`
	FederatedIdentityCredentialResourceName string   `pulumi:"federatedIdentityCredentialResourceName"`
	Issuer                                  string   `pulumi:"issuer"`
	Subject                                 string   `pulumi:"subject"`
	Audiences                               []string `pulumi:"audiences"`
}

// ElementType tells the SDK which pulumi names the fields marshal to.
func (FederatedIdentityCredentialArgs) ElementType() reflect.Type {
	return reflect.TypeOf((*federatedIdentityCredentialArgs)(nil)).Elem()
}

// managedCluster is what tenantctl reads of the shared AKS cluster.
type managedCluster struct {
	ID                string                    `pulumi:"id"`
	Name              string                    `pulumi:"name"`
	OidcIssuerProfile *clusterOIDCIssuerProfile `pulumi:"oidcIssuerProfile"`
	SecurityProfile   *clusterSecurityProfile   `pulumi:"securityProfile"`
	Identity          *clusterIdentity          `pulumi:"identity"`
}

type clusterOIDCIssuerProfile struct {
	Enabled   *bool  `pulumi:"enabled"`
	IssuerURL string `pulumi:"issuerURL"`
}

type clusterSecurityProfile struct {
	WorkloadIdentity *struct {
		Enabled *bool `pulumi:"enabled"`
	} `pulumi:"workloadIdentity"`
}

type clusterIdentity struct {
	Type                   string                             `pulumi:"type"`
	PrincipalID            string                             `pulumi:"principalId"`
	UserAssignedIdentities map[string]clusterAssignedIdentity `pulumi:"userAssignedIdentities"`
}

type clusterAssignedIdentity struct {
	PrincipalID string `pulumi:"principalId"`
}

type getManagedClusterArgs struct {
	ResourceGroupName string `pulumi:"resourceGroupName"`
	ResourceName      string `pulumi:"resourceName"`
}
