package azure

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/sdk/go/tenantpg"
	"github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// The data objects inside an Azure Database for PostgreSQL server (roles, schemas, grants,
// row-level security) are the kubernetes target's, rendered from the same plan by package
// pgdata with the same tenantpg provider. The server accepts Microsoft Entra authentication
// only, so the provider signs in as the server's Entra administrator with an access token of the
// identity running the stack, and a tenant's login role is its workload identity's Entra
// principal: no password exists for any of them, in config, state, Key Vault or the cluster.

// DataProviderName is the logical name of the explicit tenantpg provider, as on the kubernetes
// target.
const DataProviderName = kubernetes.PostgresProviderName

// DatabaseAuthEntra is how a tenant's workloads sign in to its PostgreSQL data (the database
// output's auth): as the Entra principal of the tenant's workload identity, with an access token
// for tenantpg.DefaultEntraScope from the federated credential.
const DatabaseAuthEntra = "entra"

// postgresPort is the port of every flexible server.
const postgresPort = 5432

// AdminPrincipalType is the principal type of the Entra administrator the platform stack adds:
// the stacks run as a managed identity or service principal (spec.sharedDatabase.entraAdmin is
// its display name, which a user principal name cannot be).
const AdminPrincipalType = "ServicePrincipal"

// checkEntraAdmin refuses an environment whose tenant data is on a PostgreSQL server without the
// Entra administrator the stacks sign in as: a stack that left the data objects out would delete
// every role, grant and policy its last update created.
func checkEntraAdmin(env, engine, server, admin string) error {
	if engine != tenantplan.EnginePostgres || admin != "" {
		return nil
	}
	return fmt.Errorf("environment %s keeps tenant data on Azure Database for PostgreSQL server %s: set spec.sharedDatabase.entraAdmin to the "+
		"Microsoft Entra administrator the stacks sign in as (the platform stack makes the identity it runs as that administrator); "+
		"the server accepts no password, and without it the stacks cannot create the tenants' roles, grants and row-level security", env, server)
}

// newDataProvider creates the tenantpg provider that signs in to the server at host as its Entra
// administrator admin, with an access token of the ambient Azure identity per connection and the
// server's certificate verified. deps are what must exist first (the server's administrator).
func newDataProvider(ctx *pulumi.Context, host, admin string, deps []pulumi.Resource) (*tenantpg.Provider, error) {
	p, err := tenantpg.NewProvider(ctx, DataProviderName, &tenantpg.ProviderArgs{
		Host:     pulumi.String(host),
		Port:     pulumi.IntPtr(postgresPort),
		Database: pulumi.StringPtr("postgres"), // where Azure's pgaadauth functions are
		Username: pulumi.String(admin),
		Auth:     pulumi.StringPtr(DatabaseAuthEntra),
		Sslmode:  pulumi.StringPtr("verify-full"),
	}, pulumi.DependsOn(deps))
	if err != nil {
		return nil, fmt.Errorf("postgres provider: %w", err)
	}
	return p, nil
}
