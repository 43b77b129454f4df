package tenantplan

import (
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// Label keys tenantctl puts on every object it creates, so the drift engine can find a tenant's
// objects by selector and tell them from the platform's and from unmanaged ones.
const (
	LabelTenant      = "tenantctl.io/tenant"
	LabelTier        = "tenantctl.io/tier"
	LabelEnvironment = "tenantctl.io/environment"
	// LabelOwner marks platform objects (value OwnerPlatform); tenant objects carry LabelTenant
	// instead, never both, because admission reads LabelTenant on a namespace as "pods here belong
	// to this tenant".
	LabelOwner     = "tenantctl.io/owner"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "tenantctl"
	OwnerPlatform  = isolation.Platform
	// LabelRole names what a platform namespace is for (RoleIngress, RoleSharedTenants).
	LabelRole         = "tenantctl.io/role"
	RoleIngress       = "ingress"
	RoleSharedTenants = "shared-tenants"
	// reservedPrefix is tenantctl's label domain; user labels in it are dropped so a binding cannot
	// forge another tenant's labels.
	reservedPrefix = "tenantctl.io/"
	// pssPrefix is Pod Security Admission's domain; a binding cannot choose its own level.
	pssPrefix = "pod-security.kubernetes.io/"
)

// LayerLabel is the namespace label that records a layer's resolved mode (tenantctl.io/compute:
// dedicated-node-pool). Admission policies select namespaces by the compute label.
func LayerLabel(l isolation.Layer) string { return reservedPrefix + string(l) }

// Pod Security Admission labels (k8s.io/pod-security-admission).
const (
	LabelPSSEnforce        = "pod-security.kubernetes.io/enforce"
	LabelPSSEnforceVersion = "pod-security.kubernetes.io/enforce-version"
	LabelPSSAudit          = "pod-security.kubernetes.io/audit"
	LabelPSSWarn           = "pod-security.kubernetes.io/warn"
	PSSRestricted          = "restricted"
	PSSBaseline            = "baseline"
)

// PodSecurityLabels enforces, audits and warns at one Pod Security level.
func PodSecurityLabels(level string) map[string]string {
	return map[string]string{
		LabelPSSEnforce:        level,
		LabelPSSEnforceVersion: "latest",
		LabelPSSAudit:          level,
		LabelPSSWarn:           level,
	}
}

// TenantLabels are the labels of every object a tenant stack creates: the binding's own labels,
// then tenantctl's, which win.
func TenantLabels(b *isolation.RuntimeTenantBinding) map[string]string {
	out := userLabels(b.Spec.Labels)
	out[LabelTenant] = b.Spec.TenantID
	out[LabelTier] = string(b.Spec.Tier)
	out[LabelEnvironment] = b.Spec.Environment
	out[LabelManagedBy] = ManagedBy
	return out
}

// PlatformLabels are the labels of every object a platform stack creates.
func PlatformLabels(env *isolation.Environment) map[string]string {
	out := userLabels(env.Spec.Labels)
	out[LabelOwner] = OwnerPlatform
	out[LabelEnvironment] = env.Name()
	out[LabelManagedBy] = ManagedBy
	return out
}

func userLabels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+4)
	for k, v := range in {
		if strings.HasPrefix(k, reservedPrefix) || strings.HasPrefix(k, pssPrefix) || k == LabelManagedBy {
			continue
		}
		out[k] = v
	}
	return out
}

// Merge returns a new map with the keys of every map, later maps winning.
func Merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
