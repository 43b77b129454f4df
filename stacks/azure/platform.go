package azure

import (
	"errors"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-azure-native-sdk/keyvault/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/operationalinsights/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/resources/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/sql/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks/kubernetes"
	"github.com/connectsoft/tenantctl/stacks/pgdata"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Component types of a platform stack on the azure target.
const (
	TypePlatform           = "tenantctl:azure:Platform"
	TypePlatformNetwork    = "tenantctl:azure:PlatformNetwork"
	TypePlatformMonitoring = "tenantctl:azure:PlatformMonitoring"
	TypePlatformSecrets    = "tenantctl:azure:PlatformSecrets"
	TypePlatformData       = "tenantctl:azure:PlatformData"
)

// Shared database server sizing. Provider v2 creates flexible servers with API 2022-12-01, whose
// newest major version is 14.
const (
	PostgresVersion = "14"
	postgresSku     = "Standard_D2ds_v5"
	postgresTier    = "GeneralPurpose"
	postgresStorage = 128
)

// PlatformProgram is the inline program of an azure environment's platform stack
// (tenantplan.PlatformStackName). Run it before any tenant stack of the environment.
func PlatformProgram(env *isolation.Environment) pulumi.RunFunc { return platformProgram(env, nil) }

func platformProgram(env *isolation.Environment, observe func(*PlatformOutputs)) pulumi.RunFunc {
	var pl *tenantplan.Platform
	return kubernetes.Program(
		func() (err error) { pl, err = planPlatform(env); return err },
		func(ctx *pulumi.Context) (Providers, error) { return newProviders(ctx, env) },
		func(ctx *pulumi.Context, p Providers) (*PlatformOutputs, error) { return DeployPlatform(ctx, pl, p) },
		(*PlatformOutputs).Map, observe)
}

// planPlatform plans the platform of an azure environment, and refuses another target's.
func planPlatform(env *isolation.Environment) (*tenantplan.Platform, error) {
	if env != nil && env.Spec.Target != isolation.TargetAzure {
		return nil, fmt.Errorf("platform: environment %s has target %q; the azure programs run only %q environments", env.Name(), env.Spec.Target, isolation.TargetAzure)
	}
	if env == nil {
		return nil, errors.New("platform: environment is nil")
	}
	pl, err := tenantplan.ForPlatform(env)
	if err != nil {
		return nil, err
	}
	if a := pl.Azure; a != nil {
		db := a.SharedDatabase
		if err := checkEntraAdmin(env.Name(), db.Engine, db.Server, db.EntraAdmin); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

// DeployPlatform creates a planned azure environment's shared resources (tenantplan.AzurePlatform)
// and the Kubernetes platform part on the referenced AKS cluster.
func DeployPlatform(ctx *pulumi.Context, pl *tenantplan.Platform, p Providers) (*PlatformOutputs, error) {
	name, az := pl.Environment, pl.Azure
	tags := pulumi.ToStringMap(az.Tags)
	cc, err := clientConfig(ctx, az.SubscriptionID, name, p.Azure)
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", name, err)
	}
	cluster, err := sharedCluster(ctx, az.Cluster, az.ClusterResourceGroup, p.Azure)
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", name, err)
	}

	root := &kubernetes.Component{}
	if err := ctx.RegisterComponentResource(TypePlatform, name, root); err != nil {
		return nil, fmt.Errorf("platform %s: %w", name, err)
	}
	o := func(parent pulumi.Resource, extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
		return azOpts(parent, p.Azure, extra...)
	}
	groups := map[string]pulumi.StringInput{az.ClusterResourceGroup: pulumi.String(az.ClusterResourceGroup)}
	for _, g := range az.ResourceGroups {
		rg, err := resources.NewResourceGroup(ctx, g, &resources.ResourceGroupArgs{
			ResourceGroupName: pulumi.String(g), Location: pulumi.String(az.Location), Tags: tags,
		}, o(root)...)
		if err != nil {
			return nil, fmt.Errorf("platform %s resource group %s: %w", name, g, err)
		}
		groups[g] = rg.Name
	}
	platformRG := groups[az.ResourceGroup]
	out := &PlatformOutputs{ResourceGroup: az.ResourceGroup, ClusterID: cluster.ID, OIDCIssuerURL: cluster.OidcIssuerProfile.IssuerURL}

	netc, err := kubernetes.NewComponent(ctx, TypePlatformNetwork, name, root)
	if err != nil {
		return nil, err
	}
	hub, err := network.NewVirtualNetwork(ctx, az.Hub.Name, &network.VirtualNetworkArgs{
		ResourceGroupName:  groups[az.Hub.ResourceGroup],
		VirtualNetworkName: pulumi.String(az.Hub.Name),
		Location:           pulumi.String(az.Location),
		AddressSpace:       &network.AddressSpaceArgs{AddressPrefixes: pulumi.ToStringArray(az.Hub.AddressSpace)},
		Tags:               tags,
	}, o(netc)...)
	if err != nil {
		return nil, fmt.Errorf("platform %s hub vnet: %w", name, err)
	}
	out.HubVNetID = az.Hub.ID
	zone, err := network.NewPrivateZone(ctx, az.VaultDNSZone.Name, &network.PrivateZoneArgs{
		ResourceGroupName: platformRG, PrivateZoneName: pulumi.String(az.VaultDNSZone.Name), Location: pulumi.String("global"), Tags: tags,
	}, o(netc)...)
	if err != nil {
		return nil, fmt.Errorf("platform %s private DNS zone: %w", name, err)
	}
	if _, err := network.NewVirtualNetworkLink(ctx, az.VaultDNSZone.Name+"/"+az.Hub.Name, &network.VirtualNetworkLinkArgs{
		ResourceGroupName: platformRG, PrivateZoneName: zone.Name, VirtualNetworkLinkName: pulumi.String(az.Hub.Name),
		Location: pulumi.String("global"), VirtualNetwork: &network.SubResourceArgs{Id: hub.ID().ToStringOutput()},
		RegistrationEnabled: pulumi.Bool(false), Tags: tags,
	}, o(netc)...); err != nil {
		return nil, fmt.Errorf("platform %s private DNS zone link: %w", name, err)
	}
	out.VaultDNSZoneID = az.VaultDNSZone.ID
	if err := ctx.RegisterResourceOutputs(netc, pulumi.Map{OutputHubVNetID: pulumi.String(out.HubVNetID)}); err != nil {
		return nil, err
	}

	mon, err := kubernetes.NewComponent(ctx, TypePlatformMonitoring, name, root)
	if err != nil {
		return nil, err
	}
	ws := az.LogAnalytics
	if _, err := operationalinsights.NewWorkspace(ctx, ws.Name, &operationalinsights.WorkspaceArgs{
		ResourceGroupName: platformRG, WorkspaceName: pulumi.String(ws.Name), Location: pulumi.String(az.Location),
		Sku: &operationalinsights.WorkspaceSkuArgs{Name: pulumi.String("PerGB2018")}, RetentionInDays: pulumi.Int(ws.RetentionDays), Tags: tags,
	}, o(mon)...); err != nil {
		return nil, fmt.Errorf("platform %s log analytics workspace: %w", name, err)
	}
	out.LogAnalyticsWorkspace = ws.ID
	if err := ctx.RegisterResourceOutputs(mon, pulumi.Map{OutputLogAnalyticsWorkspace: pulumi.String(out.LogAnalyticsWorkspace)}); err != nil {
		return nil, err
	}

	sec, err := kubernetes.NewComponent(ctx, TypePlatformSecrets, name, root)
	if err != nil {
		return nil, err
	}
	vault := az.SharedVault
	if _, err := keyvault.NewVault(ctx, vault.Name, vaultArgs(vault.Name, az.Location, cc.TenantId, groups[vault.ResourceGroup], az.Tags), o(sec)...); err != nil {
		return nil, fmt.Errorf("platform %s shared vault: %w", name, err)
	}
	out.SharedVaultID = vault.ID
	out.SharedVaultURI = vault.URI
	if err := ctx.RegisterResourceOutputs(sec, pulumi.Map{OutputSharedVaultID: pulumi.String(out.SharedVaultID)}); err != nil {
		return nil, err
	}

	data, err := kubernetes.NewComponent(ctx, TypePlatformData, name, root)
	if err != nil {
		return nil, err
	}
	deps, err := deploySharedDatabase(ctx, name, az, groups[az.SharedDatabase.ResourceGroup], cc.TenantId, cc.ObjectId, o(data), out)
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", name, err)
	}
	if db := az.SharedDatabase; db.Postgres != nil {
		if err := checkEntraAdmin(name, db.Engine, db.Server, db.EntraAdmin); err != nil {
			return nil, err
		}
		prov, err := newDataProvider(ctx, db.Host, db.EntraAdmin, deps)
		if err != nil {
			return nil, fmt.Errorf("platform %s: %w", name, err)
		}
		server := &pgdata.Server{Provider: prov, ExternalDatabases: true, AdminMember: db.EntraAdmin, DependsOn: deps}
		if err := pgdata.DeployPlatform(ctx, data, server, db.Postgres); err != nil {
			return nil, fmt.Errorf("platform %s shared database objects: %w", name, err)
		}
	}
	if err := ctx.RegisterResourceOutputs(data, pulumi.Map{OutputSharedDatabaseServer: pulumi.String(out.SharedDatabaseServerID)}); err != nil {
		return nil, err
	}

	workloads, err := kubernetes.NewComponent(ctx, TypeWorkloads, name, root)
	if err != nil {
		return nil, err
	}
	k8sOut, err := kubernetes.DeployPlatform(ctx, pl, p.Kubernetes, pulumi.Parent(workloads))
	if err != nil {
		return nil, err
	}
	out.PlatformOutputs = *k8sOut
	if err := ctx.RegisterResourceOutputs(workloads, pulumi.Map{}); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(root, out.Map()); err != nil {
		return nil, err
	}
	return out, nil
}

// deploySharedDatabase creates the shared server and the database partitioned and row-filtered
// tenants share, and returns what the objects inside the database wait for. Both engines accept
// Microsoft Entra authentication only, so no password exists anywhere. The Entra administrator
// of either server is the identity running the stack: for SQL Server under the login
// tenantctl-<environment>; for PostgreSQL under spec.sharedDatabase.entraAdmin (the name it
// signs in with, which the API needs and the stack cannot look up), so the tenantpg provider
// can sign in as that identity to create the data objects. Neither server gets a public
// endpoint rule: clients reach it through a private endpoint the platform team places in its
// network.
func deploySharedDatabase(ctx *pulumi.Context, environment string, az *tenantplan.AzurePlatform, group pulumi.StringInput, tenantID, deployer string, opts []pulumi.ResourceOption, out *PlatformOutputs) ([]pulumi.Resource, error) {
	db := az.SharedDatabase
	server, location := db.Server, az.Location
	tags := pulumi.ToStringMap(az.Tags)
	out.SharedDatabase = db.Database
	key := server + "/" + db.Database
	retain := pulumi.RetainOnDelete(az.Production)
	switch db.Engine {
	case tenantplan.EnginePostgres:
		srv := &FlexibleServer{}
		if err := registerResource(ctx, TypeFlexibleServer, server, &FlexibleServerArgs{
			ResourceGroupName: group,
			ServerName:        pulumi.String(server),
			Location:          pulumi.String(location),
			Version:           pulumi.String(PostgresVersion),
			Sku:               &PostgresSku{Name: postgresSku, Tier: postgresTier},
			Storage:           &PostgresStorage{StorageSizeGB: postgresStorage},
			AuthConfig:        &PostgresAuthConfig{ActiveDirectoryAuth: "Enabled", PasswordAuth: "Disabled", TenantID: tenantID},
			Backup:            &PostgresBackup{BackupRetentionDays: db.BackupRetentionDays, GeoRedundantBackup: "Disabled"},
			HighAvailability:  &PostgresHighAvailability{Mode: db.HighAvailability},
			Tags:              tags,
		}, srv, opts); err != nil {
			return nil, err
		}
		var deps []pulumi.Resource
		if db.EntraAdmin != "" {
			admin := &FlexibleServerAdministrator{}
			if err := registerResource(ctx, TypeFlexibleServerAdministrator, server+"/"+db.EntraAdmin, &FlexibleServerAdministratorArgs{
				ResourceGroupName: group, ServerName: srv.Name, ObjectID: pulumi.String(deployer), PrincipalName: pulumi.String(db.EntraAdmin),
				PrincipalType: pulumi.String(AdminPrincipalType), TenantID: pulumi.String(tenantID),
			}, admin, opts); err != nil {
				return nil, err
			}
			deps = append(deps, admin)
		}
		database := &FlexibleServerDatabase{}
		if err := registerResource(ctx, TypeFlexibleServerDatabase, key, &FlexibleServerDatabaseArgs{
			ResourceGroupName: group, ServerName: srv.Name, DatabaseName: pulumi.String(db.Database),
			Charset: pulumi.String("UTF8"), Collation: pulumi.String("en_US.utf8"),
		}, database, append(slices.Clone(opts), retain)); err != nil {
			return nil, err
		}
		out.SharedDatabaseServerID = db.ServerID
		return append(deps, database), nil
	case tenantplan.EngineSQL:
		srv, err := sql.NewServer(ctx, server, &sql.ServerArgs{
			ResourceGroupName:   group,
			ServerName:          pulumi.String(server),
			Location:            pulumi.String(location),
			Version:             pulumi.String("12.0"),
			MinimalTlsVersion:   pulumi.String("1.2"),
			PublicNetworkAccess: pulumi.String("Disabled"),
			Administrators: &sql.ServerExternalAdministratorArgs{
				AdministratorType:         pulumi.String("ActiveDirectory"),
				AzureADOnlyAuthentication: pulumi.Bool(true),
				Login:                     pulumi.String("tenantctl-" + environment),
				Sid:                       pulumi.String(deployer),
				TenantId:                  pulumi.String(tenantID),
			},
			Tags: tags,
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("sql server %s: %w", server, err)
		}
		if _, err := sql.NewDatabase(ctx, key, &sql.DatabaseArgs{
			ResourceGroupName: group, ServerName: srv.Name, DatabaseName: pulumi.String(db.Database),
			Location: pulumi.String(location), Tags: tags,
		}, append(slices.Clone(opts), retain)...); err != nil {
			return nil, fmt.Errorf("sql database %s: %w", key, err)
		}
		out.SharedDatabaseServerID = db.ServerID
		return nil, nil
	default:
		return nil, fmt.Errorf("database engine %q is not supported", db.Engine)
	}
}
