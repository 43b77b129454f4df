package azure

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/sql/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/stacks/pgdata"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// deployData realises the planned data layer on the environment's shared server. A dedicated
// database is created here as an Azure resource (retained on delete in production, so destroying
// a stack never drops a tenant's data); a partition (schema) and a row filter live inside the
// shared database, which the platform stack creates. On PostgreSQL the objects inside the
// database (owner and login roles, schema, grants, default privileges, row-level security
// policies) are then created through the tenantpg provider from the same plan as on the
// kubernetes target (package pgdata). The login role is the Entra principal of the tenant's
// workload identity, so workloads sign in with the identity's tokens and no password exists.
func deployData(ctx *pulumi.Context, pl *tenantplan.Tenant, parent pulumi.Resource, p pulumi.ProviderResource, identity *UserAssignedIdentity, out *TenantOutputs) error {
	d, az := pl.Data.Azure, pl.Azure
	out.Database = DatabaseRef{Engine: d.Engine, Server: d.Server, ServerID: d.ServerID, Name: d.Database, Schema: d.Schema}
	var deps []pulumi.Resource
	if d.Dedicated {
		o := azOpts(parent, p, pulumi.RetainOnDelete(az.Production))
		key := d.Server + "/" + d.Database
		switch d.Engine {
		case tenantplan.EnginePostgres:
			db := &FlexibleServerDatabase{}
			if err := registerResource(ctx, TypeFlexibleServerDatabase, key, &FlexibleServerDatabaseArgs{
				ResourceGroupName: pulumi.String(d.ServerResourceGroup),
				ServerName:        pulumi.String(d.Server),
				DatabaseName:      pulumi.String(d.Database),
				Charset:           pulumi.String("UTF8"),
				Collation:         pulumi.String("en_US.utf8"),
			}, db, o); err != nil {
				return err
			}
			deps = append(deps, db)
		case tenantplan.EngineSQL:
			if _, err := sql.NewDatabase(ctx, key, &sql.DatabaseArgs{
				ResourceGroupName: pulumi.String(d.ServerResourceGroup),
				ServerName:        pulumi.String(d.Server),
				DatabaseName:      pulumi.String(d.Database),
				Location:          pulumi.String(az.Location),
				Tags:              pulumi.ToStringMap(az.Tags),
			}, o...); err != nil {
				return fmt.Errorf("sql database %s: %w", key, err)
			}
		default:
			return fmt.Errorf("database engine %q is not supported", d.Engine)
		}
	}
	pg := pl.Data.Postgres
	if d.Engine != tenantplan.EnginePostgres || pg == nil {
		return nil
	}
	if identity == nil {
		return errors.New("the tenant has no workload identity, whose Microsoft Entra principal its database login role is")
	}
	if err := checkEntraAdmin(pl.Environment, d.Engine, d.Server, d.EntraAdmin); err != nil {
		return err
	}
	prov, err := newDataProvider(ctx, d.Host, d.EntraAdmin, nil)
	if err != nil {
		return err
	}
	server := &pgdata.Server{Provider: prov, ExternalDatabases: true, AdminMember: d.EntraAdmin, DependsOn: deps}
	if _, err := pgdata.DeployTenant(ctx, parent, server, pg, pgdata.Login{EntraObjectID: identity.PrincipalID}); err != nil {
		return err
	}
	out.Database.Host, out.Database.Schema, out.Database.LoginRole, out.Database.Auth = d.Host, pg.Schema, pg.LoginRole, DatabaseAuthEntra
	return nil
}

// DatabaseRef locates a tenant's data: server, database and, for a partition, schema. It names
// no credential; workloads sign in with their workload identity.
type DatabaseRef struct {
	Engine   string `json:"engine"`
	Server   string `json:"server"`
	ServerID string `json:"serverId"`
	Name     string `json:"database"`
	Schema   string `json:"schema,omitempty"`
	// Host, LoginRole and Auth (DatabaseAuthEntra) are how a workload signs in to PostgreSQL data:
	// to Host, as LoginRole, with an access token of the tenant's workload identity.
	Host      string `json:"host,omitempty"`
	LoginRole string `json:"loginRole,omitempty"`
	Auth      string `json:"auth,omitempty"`
}
