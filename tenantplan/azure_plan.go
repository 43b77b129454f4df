package tenantplan

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// Planning the azure target's part of a tenant (the types are in azure.go): names derived from
// the binding and the environment, the dedicated network, node pool, identity, secrets and data.

// DatabaseEngine normalises sharedDatabase.engine; empty means PostgreSQL.
func DatabaseEngine(env *isolation.Environment) (string, error) {
	switch strings.ToLower(env.Spec.SharedDatabase.Engine) {
	case "", "postgresql", "postgres":
		return EnginePostgres, nil
	case "sqlserver", "azuresql", "sql":
		return EngineSQL, nil
	}
	return "", fmt.Errorf("environment %s: sharedDatabase.engine %q is neither postgresql nor sqlserver", env.Name(), env.Spec.SharedDatabase.Engine)
}

// checkAzureEnv reports what the azure target needs of the environment beyond what the isolation
// package validates.
func checkAzureEnv(env *isolation.Environment) error {
	if env == nil {
		return errors.New("environment is nil")
	}
	if env.Spec.Target != isolation.TargetAzure {
		return fmt.Errorf("environment %s has target %q; the azure programs run only %q environments", env.Name(), env.Spec.Target, isolation.TargetAzure)
	}
	if env.Spec.Azure == nil || env.Spec.Azure.SubscriptionID == "" || env.Spec.Azure.Location == "" {
		return fmt.Errorf("environment %s: spec.azure.subscriptionId and location are required for the azure target", env.Name())
	}
	if len(env.Spec.Hub.AddressSpace) == 0 {
		return fmt.Errorf("environment %s: spec.hub.addressSpace is required for the azure target", env.Name())
	}
	if env.Spec.SharedCluster.Name == "" || env.Spec.SharedVault.Name == "" || env.Spec.SharedDatabase.Server == "" {
		return fmt.Errorf("environment %s: sharedCluster.name, sharedVault.name and sharedDatabase.server are required", env.Name())
	}
	if _, ok := isolation.VaultName(env.Spec.SharedVault.Name); !ok {
		return fmt.Errorf("environment %s: sharedVault.name %q is not a Key Vault name", env.Name(), env.Spec.SharedVault.Name)
	}
	if _, err := DatabaseEngine(env); err != nil {
		return err
	}
	for _, n := range []derivedName{
		{"platform resource group", PlatformResourceGroup(env), maxResourceGroup},
		{"hub VNet", HubVNet(env), maxVNet},
	} {
		if err := checkLength(n.what, n.name, n.max); err != nil {
			return fmt.Errorf("environment %s: %w", env.Name(), err)
		}
	}
	return nil
}

// derivedName is a name tenantctl derives and the Azure limit on its length.
type derivedName struct {
	what, name string
	max        int
}

func newAzureTenant(b *isolation.RuntimeTenantBinding, env *isolation.Environment) *AzureTenant {
	return &AzureTenant{
		SubscriptionID:        env.Spec.Azure.SubscriptionID,
		Location:              env.Spec.Azure.Location,
		Production:            env.Spec.Production,
		Tags:                  TenantTags(b),
		PlatformResourceGroup: PlatformResourceGroup(env),
		HubResourceGroup:      HubResourceGroup(env),
		HubVNet:               HubVNet(env),
		SharedVault:           env.Spec.SharedVault.Name,
		SharedVaultGroup:      VaultResourceGroup(env),
		Cluster:               env.Spec.SharedCluster.Name,
		ClusterResourceGroup:  ClusterResourceGroup(env),
	}
}

func planVNet(b *isolation.RuntimeTenantBinding, env *isolation.Environment, az *AzureTenant) (*AzureVNet, error) {
	n := b.Spec.Network
	if n == nil || len(n.AddressSpace) == 0 || len(n.Subnets) == 0 {
		return nil, fmt.Errorf("network mode %s needs spec.network with addressSpace and subnets", isolation.NetworkDedicatedVNet)
	}
	if len(env.Spec.AddressSpace) == 0 {
		return nil, fmt.Errorf("environment %s declares no addressSpace; the VNet's NSG denies it", env.Name())
	}
	id, envName := b.Spec.TenantID, env.Name()
	group := TenantResourceGroup(id, envName)
	name := TenantVNet(id, envName)
	v := &AzureVNet{
		Name:          name,
		ID:            ResourceID(az.SubscriptionID, group, TypeVirtualNetwork, name),
		ResourceGroup: group,
		AddressSpace:  slices.Clone(n.AddressSpace),
	}
	for _, s := range n.Subnets {
		switch {
		case s.Purpose == isolation.SubnetNodes && v.NodesSubnet == "":
			v.NodesSubnet = s.Name
		case s.Purpose == isolation.SubnetEndpoints && v.EndpointsSubnet == "":
			v.EndpointsSubnet = s.Name
		}
	}
	if v.NodesSubnet == "" {
		return nil, fmt.Errorf("the dedicated VNet needs a subnet with purpose %s", isolation.SubnetNodes)
	}
	nsg := TenantNSG(id, envName)
	v.NSG = AzureNSG{
		Name:  nsg,
		ID:    ResourceID(az.SubscriptionID, group, TypeNSG, nsg),
		Rules: TenantSecurityRules(v.AddressSpace, slices.Clone(env.Spec.Hub.AddressSpace), slices.Clone(env.Spec.AddressSpace)),
	}
	if ip := env.Spec.Hub.FirewallIP; ip != "" {
		rt := TenantRouteTable(id, envName)
		v.RouteTable = &AzureRouteTable{
			Name:   rt,
			ID:     ResourceID(az.SubscriptionID, group, TypeRouteTable, rt),
			Routes: []AzureRoute{{Name: RouteDefaultViaFirewall, AddressPrefix: "0.0.0.0/0", NextHopType: "VirtualAppliance", NextHopIPAddress: ip}},
		}
	}
	for _, s := range n.Subnets {
		v.Subnets = append(v.Subnets, AzureSubnet{
			Name: s.Name, ID: SubnetID(v.ID, s.Name), AddressPrefix: s.AddressPrefix, Purpose: s.Purpose,
			RouteTable: v.RouteTable != nil && s.Name != v.EndpointsSubnet,
		})
	}
	hubID := ResourceID(az.SubscriptionID, az.HubResourceGroup, TypeVirtualNetwork, az.HubVNet)
	gateways := env.Spec.Hub.UseRemoteGateways
	v.Peerings = []AzurePeering{
		{Name: PeeringToHub, ID: v.ID + "/virtualNetworkPeerings/" + PeeringToHub, ResourceGroup: group, VNet: name,
			RemoteID: hubID, UseRemoteGateways: gateways},
		{Name: PeeringToTenant(id), ID: hubID + "/virtualNetworkPeerings/" + PeeringToTenant(id), ResourceGroup: az.HubResourceGroup, VNet: az.HubVNet,
			RemoteID: v.ID, AllowGatewayTransit: gateways},
	}
	return v, nil
}

// azureNodePool: a dedicated node pool needs the nodes subnet of the tenant's dedicated VNet.
func (p *planner) azureNodePool() error {
	t := p.t
	if t.Compute.Mode != isolation.ComputeDedicatedNodePool {
		return nil
	}
	np := p.in.Binding.Spec.Quota.NodePool
	switch {
	case t.Network.VNet == nil:
		return p.fail("compute mode %s needs the nodes subnet of a dedicated VNet, network mode is %s", isolation.ComputeDedicatedNodePool, t.Network.Mode)
	case np == nil:
		return p.fail("compute mode %s needs spec.quota.nodePool", isolation.ComputeDedicatedNodePool)
	case np.Min < 0 || np.Max < 1 || np.Min > np.Max:
		return p.fail("spec.quota.nodePool min %d / max %d is not a valid range", np.Min, np.Max)
	}
	v := t.Network.VNet
	t.Compute.NodePool = &AzureNodePool{
		Name: AgentPoolName(p.id), Min: np.Min, Max: np.Max, VMSize: orDefault(np.VMSize, DefaultVMSize),
		Cluster: t.Azure.Cluster, ClusterResourceGroup: t.Azure.ClusterResourceGroup,
		Subnet: v.NodesSubnet, SubnetID: SubnetID(v.ID, v.NodesSubnet),
		Labels: NodePoolLabels(p.id), Taints: []string{NodePoolTaint(p.id)},
	}
	return nil
}

func planAzureIdentity(id, env, namespace, serviceAccount string, az *AzureTenant) *AzureIdentity {
	name := TenantIdentity(id, env)
	return &AzureIdentity{
		Name:                name,
		ID:                  ResourceID(az.SubscriptionID, TenantResourceGroup(id, env), TypeIdentity, name),
		FederatedCredential: FederatedCredentialName(id),
		Subject:             ServiceAccountSubject(namespace, serviceAccount),
		Audiences:           []string{TokenExchangeAudience},
		Principal:           identityPrincipal(name),
	}
}

func identityPrincipal(name string) string { return "identity:" + name }

func planAzureSecrets(b *isolation.RuntimeTenantBinding, env *isolation.Environment, t *Tenant) (*AzureSecrets, error) {
	id, az, refs := t.TenantID, t.Azure, t.Secrets.Refs
	fail := func(format string, args ...any) error {
		return fmt.Errorf("tenant %s: %s", id, fmt.Sprintf(format, args...))
	}
	s := &AzureSecrets{KeyVaultReferences: map[string]string{}}
	for _, r := range refs {
		s.KeyVaultReferences[r.Name] = SecretURI(r)
	}
	principal := identityPrincipal(TenantIdentity(id, t.Environment))
	switch m := t.Secrets.Mode; m {
	case isolation.SecretsDedicatedVault:
		name, err := dedicatedVaultName(id, env.Name(), az.SharedVault, refs)
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", id, err)
		}
		v := &AzureVault{Name: name, ID: ResourceID(az.SubscriptionID, TenantResourceGroup(id, env.Name()), TypeVault, name), URI: VaultURI(name)}
		if vn := t.Network.VNet; vn != nil {
			if vn.EndpointsSubnet == "" {
				return nil, fail("secrets mode %s: the dedicated VNet needs a subnet with purpose %s for the vault's private endpoint", m, isolation.SubnetEndpoints)
			}
			v.PrivateEndpoint = &AzurePrivateEndpoint{
				Name: PrivateEndpointName(name), Subnet: vn.EndpointsSubnet,
				DNSZone: VaultPrivateDNSZone, DNSZoneGroup: az.PlatformResourceGroup,
				DNSZoneID:   ResourceID(az.SubscriptionID, az.PlatformResourceGroup, TypePrivateDNSZone, VaultPrivateDNSZone),
				DNSZoneLink: vn.Name, DNSZoneLinkTarget: vn.ID,
			}
		}
		s.Vault = v
		s.Grants = []AzureRoleGrant{NewAzureRoleGrant(RoleKeyVaultSecretsUser, v.ID, principal)}
	case isolation.SecretsVaultAccessPolicy, isolation.SecretsScopedReferences:
		// Both shared-vault modes read through the tenant's own identity with one grant per
		// referenced secret: Azure RBAC has no prefix scope, and one platform identity federated
		// with several tenants' ServiceAccounts would let each act as the others (a
		// federated-credential route the identity analysis reports).
		sharedID := ResourceID(az.SubscriptionID, az.SharedVaultGroup, TypeVault, az.SharedVault)
		seen := map[string]bool{}
		for _, r := range refs {
			if v, _ := isolation.VaultName(r.KeyVaultRef); !strings.EqualFold(v, az.SharedVault) {
				return nil, fail("secret %s references vault %q; secrets mode %s grants access in the shared vault %s only", r.Name, r.KeyVaultRef, m, az.SharedVault)
			}
			if !strings.HasPrefix(r.SecretName, id+"-") {
				return nil, fail("secret %s: %q is outside the tenant's prefix %q in the shared vault", r.Name, r.SecretName, id+"-")
			}
			if !seen[r.SecretName] {
				seen[r.SecretName] = true
				scope := SecretScope(sharedID, r.SecretName)
				s.SharedSecrets = append(s.SharedSecrets, AzureSharedSecret{Ref: r.Name, SecretName: r.SecretName, Scope: scope})
				s.Grants = append(s.Grants, NewAzureRoleGrant(RoleKeyVaultSecretsUser, scope, principal))
			}
		}
	default:
		return nil, fail("secrets mode %q is not supported by the azure target", m)
	}
	return s, nil
}

// dedicatedVaultName is the vault a dedicated-vault tenant's references name. A tenant has one
// dedicated vault, which is never the shared one.
func dedicatedVaultName(id, env, shared string, refs []SecretRef) (string, error) {
	var names []string
	for _, r := range refs {
		v, ok := isolation.VaultName(r.KeyVaultRef)
		if !ok {
			return "", fmt.Errorf("secret %s: %q is not a Key Vault name or URI", r.Name, r.KeyVaultRef)
		}
		v = strings.ToLower(v)
		if strings.EqualFold(v, shared) {
			return "", fmt.Errorf("secret %s references the shared vault %s; secrets mode %s uses the tenant's own vault", r.Name, shared, isolation.SecretsDedicatedVault)
		}
		if !slices.Contains(names, v) {
			names = append(names, v)
		}
	}
	switch len(names) {
	case 0:
		return DefaultVaultName(id, env), nil
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("secret references name vaults %s; a tenant has one dedicated vault", strings.Join(names, ", "))
}

// azureData: the tenant's database on the environment's shared server.
func (p *planner) azureData() error {
	b, env := p.in.Binding, p.in.Env
	engine, err := DatabaseEngine(env)
	if err != nil {
		return p.wrap(err)
	}
	d := &AzureDatabase{Engine: engine, Server: env.Spec.SharedDatabase.Server, ServerResourceGroup: DatabaseResourceGroup(env)}
	d.ServerID = DatabaseServerID(p.t.Azure.SubscriptionID, d.ServerResourceGroup, engine, d.Server)
	if engine == EnginePostgres {
		d.Host, d.EntraAdmin = PostgresServerFQDN(d.Server), env.Spec.SharedDatabase.EntraAdmin
	}
	switch mode := p.t.Data.Mode; mode {
	case isolation.DataDedicatedDatabase:
		if b.Spec.Data.Database == "" {
			return p.wrap(fmt.Errorf("data mode %s needs spec.data.database", mode))
		}
		if strings.EqualFold(b.Spec.Data.Database, SharedDatabaseName) {
			return p.wrap(fmt.Errorf("spec.data.database %q is the shared tenants' database", b.Spec.Data.Database))
		}
		d.Database, d.Dedicated = b.Spec.Data.Database, true
	case isolation.DataPartitioned:
		if b.Spec.Data.Schema == "" {
			return p.wrap(fmt.Errorf("data mode %s needs spec.data.schema", mode))
		}
		d.Database, d.Schema = SharedDatabaseName, b.Spec.Data.Schema
	case isolation.DataRowFilter:
		d.Database = SharedDatabaseName
	default:
		return p.wrap(fmt.Errorf("data mode %q is not supported by the azure target", mode))
	}
	p.t.Data.Azure = d
	return nil
}

// DatabaseServerID is the ARM id of the shared database server of engine.
func DatabaseServerID(subscription, group, engine, server string) string {
	if engine == EnginePostgres {
		return ResourceID(subscription, group, TypePostgres, server)
	}
	return ResourceID(subscription, group, TypeSQLServer, server)
}

// azureNames: the tenant's resource group exists when it owns an Azure resource, and every name
// tenantctl derives must fit Azure's limits.
func (p *planner) azureNames() error {
	t := p.t
	identity := ""
	if t.Identity.Azure != nil {
		identity = t.Identity.Azure.Name
	}
	if t.Network.VNet != nil || identity != "" || (t.Secrets.Azure != nil && t.Secrets.Azure.Vault != nil) {
		t.Azure.ResourceGroup = TenantResourceGroup(p.id, t.Environment)
	}
	names := []derivedName{{"resource group", t.Azure.ResourceGroup, maxResourceGroup}, {"identity", identity, maxIdentity}}
	if v := t.Network.VNet; v != nil {
		names = append(names, derivedName{"VNet", v.Name, maxVNet}, derivedName{"network security group", v.NSG.Name, maxNSG})
	}
	for _, n := range names {
		if err := checkLength(n.what, n.name, n.max); err != nil {
			return p.wrap(err)
		}
	}
	return nil
}

// SecretURI is the Key Vault reference of one secret: https://<vault>/secrets/<name>[/<version>].
// Without a version it resolves to the latest, which is what rotation relies on.
func SecretURI(r SecretRef) string {
	host := r.KeyVaultRef + ".vault.azure.net"
	if u, err := url.Parse(r.KeyVaultRef); err == nil && u.Scheme == "https" && u.Host != "" {
		host = u.Hostname()
	}
	out := "https://" + strings.ToLower(host) + "/secrets/" + r.SecretName
	if r.Version != "" {
		out += "/" + r.Version
	}
	return out
}

// VaultURI is a vault's data-plane URI in the public cloud.
func VaultURI(name string) string { return "https://" + name + ".vault.azure.net/" }
