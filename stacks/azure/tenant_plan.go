package azure

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
)

// tenantPlan is every Azure resource a tenant stack creates, decided from the inputs before any
// resource is registered. Programs switch on the layer modes (isolation.Resolve), never on the
// tier, so an override changes exactly the resources of its layer.
type tenantPlan struct {
	id, env     string
	modes       map[isolation.Layer]isolation.Mode
	tags        map[string]string
	sub         string
	location    string
	production  bool
	platformRG  string
	hubGroup    string
	hubVNet     string
	sharedVault string
	vaultGroup  string
	// group is the tenant's resource group; empty when the tenant owns no Azure resource.
	group string
	// namespace and serviceAccount are the tenant's Kubernetes identity, the subject its
	// workload identity federates with.
	namespace      string
	serviceAccount string

	vnet      *vnetPlan
	nodePool  *nodePoolPlan
	identity  string // user-assigned identity name; empty when the tenant gets none
	vault     *vaultPlan
	sharedRef []sharedSecret // per-secret grants in the shared vault
	data      dataPlan
	refs      []stacks.SecretRef
}

type vnetPlan struct {
	name         string
	addressSpace []string
	subnets      []isolation.SubnetSpec
	hub          []string // hub address space, the only peer
	envSpace     []string // every tenant range of the environment
	firewallIP   string
	gateways     bool
	nodes        string // subnet of the node pool
	endpoints    string // subnet of private endpoints, "" when none
}

type nodePoolPlan struct {
	name                  string
	min, max              int
	vmSize                string
	cluster, clusterGroup string
}

type vaultPlan struct {
	name string
	// endpoint is true when the vault gets a private endpoint in the tenant's endpoints subnet.
	endpoint bool
}

type sharedSecret struct{ refName, secretName string }

type dataPlan struct {
	engine   string // EnginePostgres or EngineSQL
	server   string
	group    string
	database string
	schema   string
	// dedicated is true when the tenant's database is created by its stack.
	dedicated bool
}

// Database engines of sharedDatabase.engine.
const (
	EnginePostgres = "postgresql"
	EngineSQL      = "sqlserver"
)

// DefaultVMSize sizes a dedicated node pool whose binding names none.
const DefaultVMSize = "Standard_D4s_v5"

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

// checkAzureEnv reports what an azure program needs of the environment beyond what the isolation
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

func planTenant(in stacks.Inputs) (*tenantPlan, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := checkAzureEnv(in.Env); err != nil {
		return nil, err
	}
	b, env := in.Binding, in.Env
	id := b.Spec.TenantID
	pl := &tenantPlan{
		id:             id,
		env:            env.Name(),
		modes:          isolation.Resolve(b),
		tags:           TenantTags(b),
		sub:            env.Spec.Azure.SubscriptionID,
		location:       env.Spec.Azure.Location,
		production:     env.Spec.Production,
		platformRG:     PlatformResourceGroup(env),
		hubGroup:       HubResourceGroup(env),
		hubVNet:        HubVNet(env),
		vaultGroup:     VaultResourceGroup(env),
		sharedVault:    env.Spec.SharedVault.Name,
		serviceAccount: stacks.TenantObjectName(id),
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("tenant %s: %s", id, fmt.Sprintf(format, args...))
	}
	wrap := func(err error) error { return fmt.Errorf("tenant %s: %w", id, err) }

	switch m := pl.modes[isolation.LayerCompute]; m {
	case isolation.ComputeDedicatedNodePool, isolation.ComputeDedicatedNamespace:
		pl.namespace = stacks.TenantNamespace(id)
	case isolation.ComputeSharedNamespace:
		pl.namespace = in.Platform.SharedNamespace
	default:
		return nil, fail("compute mode %q is not supported by the azure target", m)
	}

	switch m := pl.modes[isolation.LayerNetwork]; m {
	case isolation.NetworkDedicatedVNet:
		v, err := planVNet(b, env)
		if err != nil {
			return nil, wrap(err)
		}
		pl.vnet = v
	case isolation.NetworkPolicyPerTenant, isolation.NetworkSharedWithPolicy:
		// NetworkPolicies on the shared cluster: the Kubernetes part.
	default:
		return nil, fail("network mode %q is not supported by the azure target", m)
	}

	if pl.modes[isolation.LayerCompute] == isolation.ComputeDedicatedNodePool {
		np := b.Spec.Quota.NodePool
		switch {
		case pl.vnet == nil:
			return nil, fail("compute mode %s needs the nodes subnet of a dedicated VNet, network mode is %s", isolation.ComputeDedicatedNodePool, pl.modes[isolation.LayerNetwork])
		case np == nil:
			return nil, fail("compute mode %s needs spec.quota.nodePool", isolation.ComputeDedicatedNodePool)
		case np.Min < 0 || np.Max < 1 || np.Min > np.Max:
			return nil, fail("spec.quota.nodePool min %d / max %d is not a valid range", np.Min, np.Max)
		}
		pl.nodePool = &nodePoolPlan{
			name: AgentPoolName(id), min: np.Min, max: np.Max, vmSize: orDefault(np.VMSize, DefaultVMSize),
			cluster: env.Spec.SharedCluster.Name, clusterGroup: ClusterResourceGroup(env),
		}
	}

	refs, err := stacks.SecretRefs(b, nil)
	if err != nil {
		return nil, err
	}
	pl.refs = refs
	switch m := pl.modes[isolation.LayerSecrets]; m {
	case isolation.SecretsDedicatedVault:
		name, err := dedicatedVaultName(id, env.Name(), env.Spec.SharedVault.Name, refs)
		if err != nil {
			return nil, wrap(err)
		}
		pl.vault = &vaultPlan{name: name, endpoint: pl.vnet != nil}
		if pl.vnet != nil && pl.vnet.endpoints == "" {
			return nil, fail("secrets mode %s: the dedicated VNet needs a subnet with purpose %s for the vault's private endpoint", m, isolation.SubnetEndpoints)
		}
	case isolation.SecretsVaultAccessPolicy:
		seen := map[string]bool{}
		for _, r := range refs {
			if v, _ := isolation.VaultName(r.KeyVaultRef); !strings.EqualFold(v, pl.sharedVault) {
				return nil, fail("secret %s references vault %q; secrets mode %s grants access in the shared vault %s only", r.Name, r.KeyVaultRef, m, pl.sharedVault)
			}
			if !strings.HasPrefix(r.SecretName, id+"-") {
				return nil, fail("secret %s: %q is outside the tenant's prefix %q in the shared vault", r.Name, r.SecretName, id+"-")
			}
			if !seen[r.SecretName] {
				seen[r.SecretName] = true
				pl.sharedRef = append(pl.sharedRef, sharedSecret{refName: r.Name, secretName: r.SecretName})
			}
		}
	case isolation.SecretsScopedReferences:
		// The platform's secret store resolves these; the tenant gets no Azure identity.
	default:
		return nil, fail("secrets mode %q is not supported by the azure target", m)
	}
	if pl.modes[isolation.LayerSecrets] != isolation.SecretsScopedReferences {
		pl.identity = TenantIdentity(id, env.Name())
	}

	if pl.data, err = planData(b, env, pl.modes[isolation.LayerData]); err != nil {
		return nil, wrap(err)
	}

	if pl.vnet != nil || pl.identity != "" || pl.vault != nil {
		pl.group = TenantResourceGroup(id, env.Name())
	}
	names := []derivedName{{"resource group", pl.group, maxResourceGroup}, {"identity", pl.identity, maxIdentity}}
	if pl.vnet != nil {
		names = append(names, derivedName{"VNet", pl.vnet.name, maxVNet}, derivedName{"network security group", TenantNSG(id, env.Name()), maxNSG})
	}
	for _, n := range names {
		if err := checkLength(n.what, n.name, n.max); err != nil {
			return nil, wrap(err)
		}
	}
	return pl, nil
}

func planVNet(b *isolation.RuntimeTenantBinding, env *isolation.Environment) (*vnetPlan, error) {
	n := b.Spec.Network
	if n == nil || len(n.AddressSpace) == 0 || len(n.Subnets) == 0 {
		return nil, fmt.Errorf("network mode %s needs spec.network with addressSpace and subnets", isolation.NetworkDedicatedVNet)
	}
	v := &vnetPlan{
		name:         TenantVNet(b.Spec.TenantID, env.Name()),
		addressSpace: slices.Clone(n.AddressSpace),
		subnets:      slices.Clone(n.Subnets),
		hub:          slices.Clone(env.Spec.Hub.AddressSpace),
		envSpace:     slices.Clone(env.Spec.AddressSpace),
		firewallIP:   env.Spec.Hub.FirewallIP,
		gateways:     env.Spec.Hub.UseRemoteGateways,
	}
	if len(v.envSpace) == 0 {
		return nil, fmt.Errorf("environment %s declares no addressSpace; the VNet's NSG denies it", env.Name())
	}
	for _, s := range n.Subnets {
		switch {
		case s.Purpose == isolation.SubnetNodes && v.nodes == "":
			v.nodes = s.Name
		case s.Purpose == isolation.SubnetEndpoints && v.endpoints == "":
			v.endpoints = s.Name
		}
	}
	if v.nodes == "" {
		return nil, fmt.Errorf("the dedicated VNet needs a subnet with purpose %s", isolation.SubnetNodes)
	}
	return v, nil
}

// dedicatedVaultName is the vault a dedicated-vault tenant's references name. A tenant has one
// dedicated vault, which is never the shared one.
func dedicatedVaultName(id, env, shared string, refs []stacks.SecretRef) (string, error) {
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

func planData(b *isolation.RuntimeTenantBinding, env *isolation.Environment, mode isolation.Mode) (dataPlan, error) {
	engine, err := DatabaseEngine(env)
	if err != nil {
		return dataPlan{}, err
	}
	d := dataPlan{engine: engine, server: env.Spec.SharedDatabase.Server, group: DatabaseResourceGroup(env)}
	switch mode {
	case isolation.DataDedicatedDatabase:
		if b.Spec.Data.Database == "" {
			return dataPlan{}, fmt.Errorf("data mode %s needs spec.data.database", mode)
		}
		if strings.EqualFold(b.Spec.Data.Database, SharedDatabaseName) {
			return dataPlan{}, fmt.Errorf("spec.data.database %q is the shared tenants' database", b.Spec.Data.Database)
		}
		d.database, d.dedicated = b.Spec.Data.Database, true
	case isolation.DataPartitioned:
		if b.Spec.Data.Schema == "" {
			return dataPlan{}, fmt.Errorf("data mode %s needs spec.data.schema", mode)
		}
		d.database, d.schema = SharedDatabaseName, b.Spec.Data.Schema
	case isolation.DataRowFilter:
		d.database = SharedDatabaseName
	default:
		return dataPlan{}, fmt.Errorf("data mode %q is not supported by the azure target", mode)
	}
	return d, nil
}

// secretURI is the Key Vault reference of one secret: https://<vault>/secrets/<name>[/<version>].
// Without a version it resolves to the latest, which is what rotation relies on.
func secretURI(r stacks.SecretRef) string {
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

// vaultURI is a vault's data-plane URI in the public cloud.
func vaultURI(name string) string { return "https://" + name + ".vault.azure.net/" }
