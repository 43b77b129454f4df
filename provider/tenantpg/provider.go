// Package tenantpg is a Pulumi resource provider for the data objects of tenantctl's data layer
// on PostgreSQL: roles, databases, schemas, grants, default privileges, row-level security,
// policies and role memberships. Statements and catalog reads come from package pgcatalog (no
// Pulumi there), which the drift fast path shares; every Read returns the live catalog state,
// so `pulumi refresh` and `preview --refresh` see drift made outside Pulumi.
package tenantpg

import (
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	p "github.com/pulumi/pulumi-go-provider"
)

// Name is the Pulumi package name (plugin pulumi-resource-tenantpg).
const Name = "tenantpg"

// Version is stamped at build time (-X) by hack/build-tool.sh; tests see the default.
var Version = "0.1.0"

// GoImportPath is where the generated Go SDK lives in the main module.
const GoImportPath = "github.com/connectsoft/tenantctl/sdk/go/tenantpg"

// New builds the provider.
func New() (p.Provider, error) {
	return infer.NewProviderBuilder().
		WithDisplayName("tenantctl PostgreSQL data layer").
		WithDescription("Roles, databases, schemas, grants, default privileges, row-level security, policies and memberships on PostgreSQL, read back live from the catalog.").
		WithNamespace("connectsoft").
		WithPublisher("connectsoft").
		WithKeywords("postgresql", "tenantctl", "category/database").
		WithLicense("Apache-2.0").
		WithGoImportPath(GoImportPath).
		WithModuleMap(map[tokens.ModuleName]tokens.ModuleName{"tenantpg": "index"}).
		WithConfig(infer.Config(&Config{})).
		WithResources(
			infer.Resource(&Role{}),
			infer.Resource(&Database{}),
			infer.Resource(&Schema{}),
			infer.Resource(&Grant{}),
			infer.Resource(&DefaultPrivileges{}),
			infer.Resource(&RowLevelSecurity{}),
			infer.Resource(&Policy{}),
			infer.Resource(&Membership{}),
		).
		Build()
}
