package isolation

import (
	"regexp"

	"k8s.io/apimachinery/pkg/api/resource"
)

var vmSize = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

func parseQuantity(errs *errorList, d *document, field, value string) (resource.Quantity, bool) {
	q, err := resource.ParseQuantity(value)
	if err != nil {
		errs.at(d, field, "%s is not a quantity (Kubernetes notation such as 500m, 2, 4Gi)", shown(value))
		return resource.Quantity{}, false
	}
	return q, true
}

// checkQuota enforces the quota rules: pool and shared tenants need an allocated quota (cpu,
// memory, pods) on the shared cluster; a silo tenant owns its node pool ("full environment
// capacity") and may leave cpu/memory/pods unset. Nothing may be negative or exceed the
// environment's per-tenant capacity. env is nil when the environment is unknown.
func checkQuota(errs *errorList, d *document, b *RuntimeTenantBinding, env *envEntry) {
	q := &b.Spec.Quota
	pooled := b.Spec.Tier == TierPool || b.Spec.Tier == TierShared
	var c capacity
	if env != nil {
		c = env.capacity
	}
	quotaQuantity(errs, d, env, "cpu", q.CPU, pooled, c.cpu)
	quotaQuantity(errs, d, env, "memory", q.Memory, pooled, c.memory)
	quotaQuantity(errs, d, env, "storage", q.Storage, false, c.storage)

	switch {
	case q.Pods < 0:
		errs.at(d, "spec.quota.pods", "must not be negative")
	case q.Pods == 0 && pooled:
		errs.at(d, "spec.quota.pods", "required for %s tenants: a positive pod count", b.Spec.Tier)
	case c.pods > 0 && q.Pods > c.pods:
		errs.at(d, "spec.quota.pods", "%d exceeds the environment's per-tenant capacity of %d (%s)", q.Pods, c.pods, capacitySource(env, "pods"))
	}
	checkNodePool(errs, d, b, env, c)
}

func quotaQuantity(errs *errorList, d *document, env *envEntry, name, value string, required bool, limit *resource.Quantity) {
	field := "spec.quota." + name
	if value == "" {
		if required {
			errs.at(d, field, "required for pool and shared tenants: their allocated share of the shared cluster")
		}
		return
	}
	q, ok := parseQuantity(errs, d, field, value)
	if !ok {
		return
	}
	switch {
	case q.Sign() < 0:
		errs.at(d, field, "must not be negative")
	case q.Sign() == 0:
		errs.at(d, field, "must be greater than zero")
	case limit != nil && q.Cmp(*limit) > 0:
		errs.at(d, field, "%s exceeds the environment's per-tenant capacity of %s (%s)", q.String(), limit.String(), capacitySource(env, name))
	}
}

func checkNodePool(errs *errorList, d *document, b *RuntimeTenantBinding, env *envEntry, c capacity) {
	np := b.Spec.Quota.NodePool
	if b.Spec.Tier != TierSilo {
		if np != nil && b.Spec.Tier != "" {
			errs.at(d, "spec.quota.nodePool", "only silo tenants get a dedicated node pool; %s tenants run on the shared cluster's nodes", b.Spec.Tier)
		}
		return
	}
	if np == nil {
		errs.at(d, "spec.quota.nodePool", "required for silo tenants: min and max size of the dedicated node pool")
		return
	}
	if np.Min < 0 {
		errs.at(d, "spec.quota.nodePool.min", "must not be negative")
	}
	switch {
	case np.Max < 1:
		errs.at(d, "spec.quota.nodePool.max", "must be at least 1")
	case np.Min > np.Max:
		errs.at(d, "spec.quota.nodePool.min", "%d is greater than max %d", np.Min, np.Max)
	case c.maxNodes > 0 && np.Max > c.maxNodes:
		errs.at(d, "spec.quota.nodePool.max", "%d exceeds the environment's per-tenant capacity of %d nodes (%s)", np.Max, c.maxNodes, capacitySource(env, "maxNodes"))
	}
	if np.VMSize != "" && !vmSize.MatchString(np.VMSize) {
		errs.at(d, "spec.quota.nodePool.vmSize", "%s is not a VM size name (e.g. Standard_D4s_v5)", shown(np.VMSize))
	}
}

// capacitySource names the environment line that set a limit, so the error says where to raise it.
func capacitySource(env *envEntry, name string) string {
	field := "spec.capacity." + name
	return Source{File: env.d.src.File, Line: env.d.fields.line(field, env.d.src.Line)}.String()
}
