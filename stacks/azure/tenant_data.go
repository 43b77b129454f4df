package azure

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/sql/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/tenantplan"
)

// deployData realises the planned data layer on the environment's shared server. A dedicated
// database is created here (retained on delete in production, so destroying a stack never drops a
// tenant's data). A partition (schema) and a row filter live inside the shared database, which
// the platform stack creates; schemas, roles and row-level security are objects inside the
// database engine, not Azure resources, so the tenant's migrations create them, signed in as the
// tenant's workload identity (Microsoft Entra authentication only).
func deployData(ctx *pulumi.Context, pl *tenantplan.Tenant, parent pulumi.Resource, p pulumi.ProviderResource, out *TenantOutputs) error {
	d, az := pl.Data.Azure, pl.Azure
	out.Database = DatabaseRef{Engine: d.Engine, Server: d.Server, ServerID: d.ServerID, Name: d.Database, Schema: d.Schema}
	if !d.Dedicated {
		return nil
	}
	o := azOpts(parent, p, pulumi.RetainOnDelete(az.Production))
	key := d.Server + "/" + d.Database
	switch d.Engine {
	case tenantplan.EnginePostgres:
		if err := registerResource(ctx, TypeFlexibleServerDatabase, key, &FlexibleServerDatabaseArgs{
			ResourceGroupName: pulumi.String(d.ServerResourceGroup),
			ServerName:        pulumi.String(d.Server),
			DatabaseName:      pulumi.String(d.Database),
			Charset:           pulumi.String("UTF8"),
			Collation:         pulumi.String("en_US.utf8"),
		}, &FlexibleServerDatabase{}, o); err != nil {
			return err
		}
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
}
