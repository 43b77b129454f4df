package azure

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/sql/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// deployData realises the data layer on the environment's shared server. A dedicated database is
// a database of the tenant's own, created here (retained on delete in production, so destroying
// a stack never drops a tenant's data). A partition (schema) and a row filter live inside the
// shared database, which the platform stack creates; schemas, roles and row-level security are
// objects inside the database engine, not Azure resources, so the tenant's migrations create
// them, signed in as the tenant's workload identity (Microsoft Entra authentication only).
func deployData(ctx *pulumi.Context, pl *tenantPlan, parent pulumi.Resource, p pulumi.ProviderResource, out *TenantOutputs) error {
	d := pl.data
	out.Database = DatabaseRef{Engine: d.engine, Server: d.server, Name: d.database, Schema: d.schema}
	if d.engine == EnginePostgres {
		out.Database.ServerID = ResourceID(pl.sub, d.group, typePostgres, d.server)
	} else {
		out.Database.ServerID = ResourceID(pl.sub, d.group, typeSQLServer, d.server)
	}
	if !d.dedicated {
		return nil
	}
	o := azOpts(parent, p, pulumi.RetainOnDelete(pl.production))
	key := d.server + "/" + d.database
	switch d.engine {
	case EnginePostgres:
		if err := byToken(ctx, TypeFlexibleServerDatabase, key, &FlexibleServerDatabaseArgs{
			ResourceGroupName: pulumi.String(d.group),
			ServerName:        pulumi.String(d.server),
			DatabaseName:      pulumi.String(d.database),
			Charset:           pulumi.String("UTF8"),
			Collation:         pulumi.String("en_US.utf8"),
		}, &FlexibleServerDatabase{}, o); err != nil {
			return err
		}
	case EngineSQL:
		if _, err := sql.NewDatabase(ctx, key, &sql.DatabaseArgs{
			ResourceGroupName: pulumi.String(d.group),
			ServerName:        pulumi.String(d.server),
			DatabaseName:      pulumi.String(d.database),
			Location:          pulumi.String(pl.location),
			Tags:              pulumi.ToStringMap(pl.tags),
		}, o...); err != nil {
			return fmt.Errorf("sql database %s: %w", key, err)
		}
	default:
		return fmt.Errorf("database engine %q is not supported", d.engine)
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
