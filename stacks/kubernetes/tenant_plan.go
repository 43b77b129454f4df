package kubernetes

import (
	"fmt"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/stacks"
)

// tenantPlan is everything a tenant stack creates, decided from the inputs before any resource is
// registered, so an invalid binding fails the program without a partial update.
type tenantPlan struct {
	id, env string
	modes   map[isolation.Layer]isolation.Mode
	labels  map[string]string
	// ownNamespace is true when the compute mode gives the tenant a namespace of its own; false
	// when it lives in the platform's shared namespace.
	ownNamespace     bool
	namespace        string
	ingressNamespace string
	// pinned is true for a dedicated node pool: pods must select and tolerate the tenant's nodes.
	pinned     bool
	quota      quotaPlan
	secretRefs []stacks.SecretRef
	// guards are the platform admission policies this tenant's isolation relies on.
	guards []string
}

func planTenant(in stacks.Inputs) (*tenantPlan, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	b := in.Binding
	id := b.Spec.TenantID
	modes := isolation.Resolve(b)
	for _, l := range isolation.Layers {
		if modes[l] == "" {
			return nil, fmt.Errorf("tenant %s: no mode for layer %s", id, l)
		}
	}
	pl := &tenantPlan{
		id:               id,
		env:              in.Env.Name(),
		modes:            modes,
		labels:           stacks.TenantLabels(b),
		ingressNamespace: in.Platform.IngressNamespace,
		guards:           []string{PolicyTenantScheduling},
	}

	switch m := modes[isolation.LayerCompute]; m {
	case isolation.ComputeDedicatedNodePool:
		pl.ownNamespace, pl.pinned = true, true
		pl.guards = append(pl.guards, PolicySiloNodePinning)
	case isolation.ComputeDedicatedNamespace:
		pl.ownNamespace = true
	case isolation.ComputeSharedNamespace:
		pl.guards = append(pl.guards, PolicySharedTenantIdentity)
	default:
		return nil, fmt.Errorf("tenant %s: compute mode %q is not supported by the kubernetes target", id, m)
	}
	pl.namespace = in.Platform.SharedNamespace
	if pl.ownNamespace {
		pl.namespace = stacks.TenantNamespace(id)
	}
	for _, g := range pl.guards {
		if !in.Platform.HasPolicy(g) {
			return nil, fmt.Errorf("tenant %s: the platform stack of %s does not enforce admission policy %s, which %s isolation relies on: update the platform stack first",
				id, pl.env, g, modes[isolation.LayerCompute])
		}
	}

	switch m := modes[isolation.LayerNetwork]; m {
	case isolation.NetworkDedicatedVNet, isolation.NetworkPolicyPerTenant:
		if !pl.ownNamespace {
			return nil, fmt.Errorf("tenant %s: network mode %s needs a namespace of its own, compute mode is %s", id, m, modes[isolation.LayerCompute])
		}
	case isolation.NetworkSharedWithPolicy:
		if pl.ownNamespace {
			return nil, fmt.Errorf("tenant %s: network mode %s applies to the shared namespace, compute mode is %s", id, m, modes[isolation.LayerCompute])
		}
	default:
		return nil, fmt.Errorf("tenant %s: network mode %q is not supported by the kubernetes target", id, m)
	}

	q, err := planQuota(modes[isolation.LayerQuota], b.Spec.Quota, in.Env.Spec.Capacity)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", id, err)
	}
	pl.quota = q

	switch m := modes[isolation.LayerSecrets]; m {
	case isolation.SecretsDedicatedVault, isolation.SecretsVaultAccessPolicy, isolation.SecretsScopedReferences:
	default:
		return nil, fmt.Errorf("tenant %s: secrets mode %q is not supported by the kubernetes target", id, m)
	}
	objectName := func(ref string) string { return ref }
	if !pl.ownNamespace {
		objectName = func(ref string) string { return stacks.SharedSecretObjectName(id, ref) }
	}
	if pl.secretRefs, err = stacks.SecretRefs(b, objectName); err != nil {
		return nil, err
	}
	return pl, nil
}

// nodeSelector and tolerations are what a pinned tenant's pods must carry; nil otherwise.
func (pl *tenantPlan) nodeSelector() map[string]string {
	if !pl.pinned {
		return nil
	}
	return map[string]string{NodeLabelTenant: pl.id}
}

func (pl *tenantPlan) tolerations() []Toleration {
	if !pl.pinned {
		return nil
	}
	return []Toleration{{Key: NodeLabelTenant, Operator: "Equal", Value: pl.id, Effect: NodeTaintEffect}}
}

// Toleration is a pod toleration, as exported for the tenant's deployment tooling.
type Toleration struct {
	Key      string `json:"key"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
	Effect   string `json:"effect"`
}
