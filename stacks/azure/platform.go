package azure

import (
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
// (stacks.PlatformStackName). Run it before any tenant stack of the environment.
func PlatformProgram(env *isolation.Environment) pulumi.RunFunc { return platformProgram(env, nil) }

func platformProgram(env *isolation.Environment, observe func(*PlatformOutputs)) pulumi.RunFunc {
	return kubernetes.Program(
		func() error {
			if err := checkAzureEnv(env); err != nil {
				return fmt.Errorf("platform: %w", err)
			}
			return nil
		},
		func(ctx *pulumi.Context) (Providers, error) { return newProviders(ctx, env) },
		func(ctx *pulumi.Context, p Providers) (*PlatformOutputs, error) { return DeployPlatform(ctx, env, p) },
		(*PlatformOutputs).Map, observe)
}

// PlatformResourceGroups are the resource groups a platform stack creates: the platform's, the
// hub's, the shared vault's and the shared database's, each once, except the shared cluster's.
// The cluster exists before the platform stack runs (the Kubernetes part needs it), so its
// resource group does too; the stack creates resources in it but does not claim it.
func PlatformResourceGroups(env *isolation.Environment) []string {
	var out []string
	for _, g := range []string{PlatformResourceGroup(env), HubResourceGroup(env), VaultResourceGroup(env), DatabaseResourceGroup(env)} {
		if g != ClusterResourceGroup(env) && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// DeployPlatform creates an azure environment's shared resources: resource groups, the hub VNet,
// the private DNS zone of vault endpoints, the Log Analytics workspace, the shared Key Vault, the
// shared database server and its shared tenants' database, and the Kubernetes platform part on
// the referenced AKS cluster.
func DeployPlatform(ctx *pulumi.Context, env *isolation.Environment, p Providers) (*PlatformOutputs, error) {
	if err := checkAzureEnv(env); err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	name, sub, location := env.Name(), env.Spec.Azure.SubscriptionID, env.Spec.Azure.Location
	tags := pulumi.ToStringMap(PlatformTags(env))
	engine, err := DatabaseEngine(env)
	if err != nil {
		return nil, err
	}
	cc, err := clientConfig(ctx, env, p.Azure)
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", name, err)
	}
	cluster, err := sharedCluster(ctx, env, p.Azure)
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
	groups := map[string]pulumi.StringInput{ClusterResourceGroup(env): pulumi.String(ClusterResourceGroup(env))}
	for _, g := range PlatformResourceGroups(env) {
		rg, err := resources.NewResourceGroup(ctx, g, &resources.ResourceGroupArgs{
			ResourceGroupName: pulumi.String(g), Location: pulumi.String(location), Tags: tags,
		}, o(root)...)
		if err != nil {
			return nil, fmt.Errorf("platform %s resource group %s: %w", name, g, err)
		}
		groups[g] = rg.Name
	}
	platformRG := groups[PlatformResourceGroup(env)]
	out := &PlatformOutputs{ResourceGroup: PlatformResourceGroup(env), ClusterID: cluster.ID, OIDCIssuerURL: cluster.OidcIssuerProfile.IssuerURL}

	netc, err := kubernetes.NewComponent(ctx, TypePlatformNetwork, name, root)
	if err != nil {
		return nil, err
	}
	hubName := HubVNet(env)
	// The hub declares no subnets: they are the platform team's (firewall, gateway, resolvers),
	// and tenant stacks add their peerings to it.
	hub, err := network.NewVirtualNetwork(ctx, hubName, &network.VirtualNetworkArgs{
		ResourceGroupName:  groups[HubResourceGroup(env)],
		VirtualNetworkName: pulumi.String(hubName),
		Location:           pulumi.String(location),
		AddressSpace:       &network.AddressSpaceArgs{AddressPrefixes: pulumi.ToStringArray(env.Spec.Hub.AddressSpace)},
		Tags:               tags,
	}, o(netc)...)
	if err != nil {
		return nil, fmt.Errorf("platform %s hub vnet: %w", name, err)
	}
	out.HubVNetID = ResourceID(sub, HubResourceGroup(env), typeVirtualNetwork, hubName)
	zone, err := network.NewPrivateZone(ctx, VaultPrivateDNSZone, &network.PrivateZoneArgs{
		ResourceGroupName: platformRG, PrivateZoneName: pulumi.String(VaultPrivateDNSZone), Location: pulumi.String("global"), Tags: tags,
	}, o(netc)...)
	if err != nil {
		return nil, fmt.Errorf("platform %s private DNS zone: %w", name, err)
	}
	if _, err := network.NewVirtualNetworkLink(ctx, VaultPrivateDNSZone+"/"+hubName, &network.VirtualNetworkLinkArgs{
		ResourceGroupName: platformRG, PrivateZoneName: zone.Name, VirtualNetworkLinkName: pulumi.String(hubName),
		Location: pulumi.String("global"), VirtualNetwork: &network.SubResourceArgs{Id: hub.ID().ToStringOutput()},
		RegistrationEnabled: pulumi.Bool(false), Tags: tags,
	}, o(netc)...); err != nil {
		return nil, fmt.Errorf("platform %s private DNS zone link: %w", name, err)
	}
	out.VaultDNSZoneID = ResourceID(sub, PlatformResourceGroup(env), typePrivateDNSZone, VaultPrivateDNSZone)
	if err := ctx.RegisterResourceOutputs(netc, pulumi.Map{OutputHubVNetID: pulumi.String(out.HubVNetID)}); err != nil {
		return nil, err
	}

	mon, err := kubernetes.NewComponent(ctx, TypePlatformMonitoring, name, root)
	if err != nil {
		return nil, err
	}
	wsName := LogAnalyticsWorkspace(env)
	retention := 30
	if env.Spec.Production {
		retention = 90
	}
	if _, err := operationalinsights.NewWorkspace(ctx, wsName, &operationalinsights.WorkspaceArgs{
		ResourceGroupName: platformRG, WorkspaceName: pulumi.String(wsName), Location: pulumi.String(location),
		Sku: &operationalinsights.WorkspaceSkuArgs{Name: pulumi.String("PerGB2018")}, RetentionInDays: pulumi.Int(retention), Tags: tags,
	}, o(mon)...); err != nil {
		return nil, fmt.Errorf("platform %s log analytics workspace: %w", name, err)
	}
	out.LogAnalyticsWorkspace = ResourceID(sub, PlatformResourceGroup(env), typeWorkspace, wsName)
	if err := ctx.RegisterResourceOutputs(mon, pulumi.Map{OutputLogAnalyticsWorkspace: pulumi.String(out.LogAnalyticsWorkspace)}); err != nil {
		return nil, err
	}

	sec, err := kubernetes.NewComponent(ctx, TypePlatformSecrets, name, root)
	if err != nil {
		return nil, err
	}
	vaultName := env.Spec.SharedVault.Name
	if _, err := keyvault.NewVault(ctx, vaultName, vaultArgs(vaultName, location, cc.TenantId, groups[VaultResourceGroup(env)], PlatformTags(env)), o(sec)...); err != nil {
		return nil, fmt.Errorf("platform %s shared vault: %w", name, err)
	}
	out.SharedVaultID = ResourceID(sub, VaultResourceGroup(env), typeVault, vaultName)
	out.SharedVaultURI = vaultURI(vaultName)
	if err := ctx.RegisterResourceOutputs(sec, pulumi.Map{OutputSharedVaultID: pulumi.String(out.SharedVaultID)}); err != nil {
		return nil, err
	}

	data, err := kubernetes.NewComponent(ctx, TypePlatformData, name, root)
	if err != nil {
		return nil, err
	}
	if err := deploySharedDatabase(ctx, env, engine, groups[DatabaseResourceGroup(env)], cc.TenantId, cc.ObjectId, o(data), out); err != nil {
		return nil, fmt.Errorf("platform %s: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(data, pulumi.Map{OutputSharedDatabaseServer: pulumi.String(out.SharedDatabaseServerID)}); err != nil {
		return nil, err
	}

	workloads, err := kubernetes.NewComponent(ctx, TypeWorkloads, name, root)
	if err != nil {
		return nil, err
	}
	k8sOut, err := kubernetes.DeployPlatform(ctx, env, p.Kubernetes, pulumi.Parent(workloads))
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
// tenants share. Both engines accept Microsoft Entra authentication only, so no password exists
// anywhere. The SQL server's Entra administrator is the identity running the stack; a
// PostgreSQL server's administrators are added by the platform team (az postgres flexible-server
// ad-admin create), because the API needs their display name, which the stack cannot know.
// Neither server gets a public endpoint rule: clients reach it through a private endpoint the
// platform team places in its network.
func deploySharedDatabase(ctx *pulumi.Context, env *isolation.Environment, engine string, group pulumi.StringInput, tenantID, deployer string, opts []pulumi.ResourceOption, out *PlatformOutputs) error {
	server, location := env.Spec.SharedDatabase.Server, env.Spec.Azure.Location
	tags := pulumi.ToStringMap(PlatformTags(env))
	out.SharedDatabase = SharedDatabaseName
	key := server + "/" + SharedDatabaseName
	switch engine {
	case EnginePostgres:
		backup, ha := 7, "Disabled"
		if env.Spec.Production {
			backup, ha = 35, "ZoneRedundant"
		}
		srv := &FlexibleServer{}
		if err := byToken(ctx, TypeFlexibleServer, server, &FlexibleServerArgs{
			ResourceGroupName: group,
			ServerName:        pulumi.String(server),
			Location:          pulumi.String(location),
			Version:           pulumi.String(PostgresVersion),
			Sku:               &PostgresSku{Name: postgresSku, Tier: postgresTier},
			Storage:           &PostgresStorage{StorageSizeGB: postgresStorage},
			AuthConfig:        &PostgresAuthConfig{ActiveDirectoryAuth: "Enabled", PasswordAuth: "Disabled", TenantID: tenantID},
			Backup:            &PostgresBackup{BackupRetentionDays: backup, GeoRedundantBackup: "Disabled"},
			HighAvailability:  &PostgresHighAvailability{Mode: ha},
			Tags:              tags,
		}, srv, opts); err != nil {
			return err
		}
		if err := byToken(ctx, TypeFlexibleServerDatabase, key, &FlexibleServerDatabaseArgs{
			ResourceGroupName: group, ServerName: srv.Name, DatabaseName: pulumi.String(SharedDatabaseName),
			Charset: pulumi.String("UTF8"), Collation: pulumi.String("en_US.utf8"),
		}, &FlexibleServerDatabase{}, append(slices.Clone(opts), pulumi.RetainOnDelete(env.Spec.Production))); err != nil {
			return err
		}
		out.SharedDatabaseServerID = ResourceID(env.Spec.Azure.SubscriptionID, DatabaseResourceGroup(env), typePostgres, server)
	case EngineSQL:
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
				Login:                     pulumi.String("tenantctl-" + env.Name()),
				Sid:                       pulumi.String(deployer),
				TenantId:                  pulumi.String(tenantID),
			},
			Tags: tags,
		}, opts...)
		if err != nil {
			return fmt.Errorf("sql server %s: %w", server, err)
		}
		if _, err := sql.NewDatabase(ctx, key, &sql.DatabaseArgs{
			ResourceGroupName: group, ServerName: srv.Name, DatabaseName: pulumi.String(SharedDatabaseName),
			Location: pulumi.String(location), Tags: tags,
		}, append(slices.Clone(opts), pulumi.RetainOnDelete(env.Spec.Production))...); err != nil {
			return fmt.Errorf("sql database %s: %w", key, err)
		}
		out.SharedDatabaseServerID = ResourceID(env.Spec.Azure.SubscriptionID, DatabaseResourceGroup(env), typeSQLServer, server)
	default:
		return fmt.Errorf("database engine %q is not supported", engine)
	}
	return nil
}
