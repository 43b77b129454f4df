package tenantplan

import (
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/connectsoft/tenantctl/isolation"
)

// ResourceQuota and LimitRange keys.
const (
	hardRequestsCPU     = "requests.cpu"
	hardLimitsCPU       = "limits.cpu"
	hardRequestsMemory  = "requests.memory"
	hardLimitsMemory    = "limits.memory"
	hardPods            = "pods"
	hardRequestsStorage = "requests.storage"
	resCPU              = "cpu"
	resMemory           = "memory"
	resStorage          = "storage"
)

// Per-container defaults a LimitRange applies when a pod declares no requests or limits. A quota
// on cpu and memory makes the API server reject pods without them, so a namespace with a quota
// needs defaults; they are capped at the quota so a single default pod always fits.
var (
	defaultCPURequest    = resource.MustParse("100m")
	defaultCPULimit      = resource.MustParse("500m")
	defaultMemoryRequest = resource.MustParse("128Mi")
	defaultMemoryLimit   = resource.MustParse("512Mi")
)

// quotaPlan is a tenant's quota in Kubernetes terms, with every quantity in canonical form (the
// form the API server stores, so a re-apply shows no spurious diff).
type quotaPlan struct {
	Hard map[string]string
	// Container is the LimitRange item for containers; PVC the one for claims (nil without a
	// storage quota).
	Container LimitItem
	PVC       map[string]string
}

// planQuota turns a binding's quota into ResourceQuota and LimitRange values. Full capacity (silo)
// fills every field the binding leaves empty from the environment's capacity; an allocated quota
// (pool, shared) must state cpu, memory and pods itself, since an unstated allocation would be no
// allocation at all.
func planQuota(mode isolation.Mode, q isolation.QuotaSpec, capacity isolation.CapacitySpec) (quotaPlan, error) {
	switch mode {
	case isolation.QuotaFullCapacity:
		q = fillFromCapacity(q, capacity)
	case isolation.QuotaAllocated:
	default:
		return quotaPlan{}, fmt.Errorf("quota mode %q is not supported by the kubernetes target", mode)
	}
	cpu, err := requiredQuantity("quota.cpu", q.CPU)
	if err != nil {
		return quotaPlan{}, err
	}
	mem, err := requiredQuantity("quota.memory", q.Memory)
	if err != nil {
		return quotaPlan{}, err
	}
	if q.Pods <= 0 {
		return quotaPlan{}, fmt.Errorf("quota.pods must be positive, got %d", q.Pods)
	}
	plan := quotaPlan{
		Hard: map[string]string{
			hardRequestsCPU:    cpu.String(),
			hardLimitsCPU:      cpu.String(),
			hardRequestsMemory: mem.String(),
			hardLimitsMemory:   mem.String(),
			hardPods:           strconv.Itoa(q.Pods),
		},
		Container: containerLimits(&cpu, &mem),
	}
	if q.Storage != "" {
		st, err := requiredQuantity("quota.storage", q.Storage)
		if err != nil {
			return quotaPlan{}, err
		}
		plan.Hard[hardRequestsStorage] = st.String()
		plan.PVC = map[string]string{resStorage: st.String()}
	}
	return plan, nil
}

func fillFromCapacity(q isolation.QuotaSpec, c isolation.CapacitySpec) isolation.QuotaSpec {
	if q.CPU == "" {
		q.CPU = c.CPU
	}
	if q.Memory == "" {
		q.Memory = c.Memory
	}
	if q.Pods == 0 {
		q.Pods = c.Pods
	}
	if q.Storage == "" {
		q.Storage = c.Storage
	}
	return q
}

// containerLimits are the LimitRange defaults, capped by cpu and memory where given; cpu and
// memory also become the per-container maximum.
func containerLimits(cpu, mem *resource.Quantity) LimitItem {
	it := LimitItem{
		Default:        map[string]string{resCPU: capped(defaultCPULimit, cpu), resMemory: capped(defaultMemoryLimit, mem)},
		DefaultRequest: map[string]string{resCPU: capped(defaultCPURequest, cpu), resMemory: capped(defaultMemoryRequest, mem)},
	}
	if cpu != nil || mem != nil {
		it.Max = map[string]string{}
	}
	if cpu != nil {
		it.Max[resCPU] = cpu.String()
	}
	if mem != nil {
		it.Max[resMemory] = mem.String()
	}
	return it
}

func capped(def resource.Quantity, max *resource.Quantity) string {
	if max != nil && max.Cmp(def) < 0 {
		return max.String()
	}
	return def.String()
}

func requiredQuantity(field, s string) (resource.Quantity, error) {
	if s == "" {
		return resource.Quantity{}, fmt.Errorf("%s is required", field)
	}
	return parseQuantity(field, s)
}

func parseQuantity(field, s string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return resource.Quantity{}, fmt.Errorf("%s %q: %w", field, s, err)
	}
	if q.Sign() <= 0 {
		return resource.Quantity{}, fmt.Errorf("%s %q must be positive", field, s)
	}
	return q, nil
}

// optionalQuantity parses s, or returns nil when it is empty.
func optionalQuantity(field, s string) (*resource.Quantity, error) {
	if s == "" {
		return nil, nil
	}
	q, err := parseQuantity(field, s)
	if err != nil {
		return nil, err
	}
	return &q, nil
}
