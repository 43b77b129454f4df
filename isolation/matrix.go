package isolation

// Layer is one row of the seed's Tenant Runtime Isolation table.
type Layer string

const (
	LayerCompute Layer = "compute"
	LayerNetwork Layer = "network"
	LayerData    Layer = "data"
	LayerSecrets Layer = "secrets"
	LayerQuota   Layer = "quota"
)

// Layers lists the layers in the order the seed's table uses.
var Layers = []Layer{LayerCompute, LayerNetwork, LayerData, LayerSecrets, LayerQuota}

// Mode is how one layer is isolated. Programs in stacks/ switch on modes, never on tiers, so an
// override changes exactly the resources of its layer.
type Mode string

const (
	ComputeDedicatedNodePool  Mode = "dedicated-node-pool"
	ComputeDedicatedNamespace Mode = "dedicated-namespace"
	ComputeSharedNamespace    Mode = "shared-namespace"

	NetworkDedicatedVNet     Mode = "dedicated-vnet"
	NetworkPolicyPerTenant   Mode = "policy-per-tenant"
	NetworkSharedWithPolicy  Mode = "shared-with-policy"
	DataDedicatedDatabase    Mode = "dedicated-database"
	DataPartitioned          Mode = "shared-partitioned"
	DataRowFilter            Mode = "shared-row-filter"
	SecretsDedicatedVault    Mode = "dedicated-vault"
	SecretsVaultAccessPolicy Mode = "shared-vault-access-policy"
	SecretsScopedReferences  Mode = "shared-vault-scoped-references"
	QuotaFullCapacity        Mode = "full-capacity"
	QuotaAllocated           Mode = "allocated"
)

// Cell is one entry of the matrix: the mode and the seed's wording for it.
type Cell struct {
	Mode        Mode   `json:"mode"`
	Description string `json:"description"`
}

// Matrix is the tier × layer table as data. It is the single place that says which resources a
// tier gets; stacks/ reads it through Resolve.
var Matrix = map[Tier]map[Layer]Cell{
	TierSilo: {
		LayerCompute: {ComputeDedicatedNodePool, "Dedicated environment / node pool"},
		LayerNetwork: {NetworkDedicatedVNet, "Dedicated VNet / subnet"},
		LayerData:    {DataDedicatedDatabase, "Dedicated database"},
		LayerSecrets: {SecretsDedicatedVault, "Dedicated Key Vault"},
		LayerQuota:   {QuotaFullCapacity, "Full environment capacity"},
	},
	TierPool: {
		LayerCompute: {ComputeDedicatedNamespace, "Shared cluster, dedicated namespace"},
		LayerNetwork: {NetworkPolicyPerTenant, "Network policy per tenant"},
		LayerData:    {DataPartitioned, "Shared DB, partitioned + row filters"},
		LayerSecrets: {SecretsVaultAccessPolicy, "Shared vault, per-tenant access policy"},
		LayerQuota:   {QuotaAllocated, "Allocated quota"},
	},
	TierShared: {
		LayerCompute: {ComputeSharedNamespace, "Shared namespace"},
		LayerNetwork: {NetworkSharedWithPolicy, "Shared with policy"},
		LayerData:    {DataRowFilter, "Shared DB, row-level tenantId filter"},
		LayerSecrets: {SecretsScopedReferences, "Shared vault, scoped references"},
		LayerQuota:   {QuotaAllocated, "Allocated quota"},
	},
}

// strength orders the modes of one layer from the weakest (0) up. An override may only move a
// layer up this order.
var strength = map[Layer][]Mode{
	LayerCompute: {ComputeSharedNamespace, ComputeDedicatedNamespace, ComputeDedicatedNodePool},
	LayerNetwork: {NetworkSharedWithPolicy, NetworkPolicyPerTenant, NetworkDedicatedVNet},
	LayerData:    {DataRowFilter, DataPartitioned, DataDedicatedDatabase},
	LayerSecrets: {SecretsScopedReferences, SecretsVaultAccessPolicy, SecretsDedicatedVault},
	LayerQuota:   {QuotaAllocated, QuotaFullCapacity},
}

// overridable lists the overrides the seed allows: a tenant may buy a stronger data or secrets
// layer without changing tier. Compute and network follow the tier, because a dedicated VNet or
// node pool is what makes a tenant a silo; quota follows the tier too.
var overridable = map[Layer]bool{LayerData: true, LayerSecrets: true}

func rank(l Layer, m Mode) int {
	for i, x := range strength[l] {
		if x == m {
			return i
		}
	}
	return -1
}

// AllowedOverride reports whether a tenant of tier t may set layer l to mode m, and why not.
func AllowedOverride(t Tier, l Layer, m Mode) (bool, string) {
	row, ok := Matrix[t]
	if !ok {
		return false, "unknown tier " + string(t)
	}
	if _, ok := strength[l]; !ok {
		return false, "unknown layer " + string(l)
	}
	r := rank(l, m)
	if r < 0 {
		return false, "unknown mode " + string(m) + " for layer " + string(l)
	}
	if !overridable[l] {
		return false, "layer " + string(l) + " follows the tier and cannot be overridden"
	}
	if r < rank(l, row[l].Mode) {
		return false, "an override may only strengthen isolation; " + string(m) + " is weaker than the tier's " + string(row[l].Mode)
	}
	return true, ""
}

// Resolve returns the mode of every layer for a binding: the tier's row with the binding's
// (validated) overrides applied.
func Resolve(b *RuntimeTenantBinding) map[Layer]Mode {
	out := make(map[Layer]Mode, len(Layers))
	for l, c := range Matrix[b.Spec.Tier] {
		out[l] = c.Mode
	}
	for l, m := range b.Spec.Overrides {
		if ok, _ := AllowedOverride(b.Spec.Tier, l, m); ok {
			out[l] = m
		}
	}
	return out
}

// Overridable reports whether a binding may override layer l (always towards stronger isolation).
func Overridable(l Layer) bool { return overridable[l] }

// Modes lists the modes of layer l from the weakest isolation to the strongest.
func Modes(l Layer) []Mode { return append([]Mode(nil), strength[l]...) }
