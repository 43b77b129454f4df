package tenantplan

import (
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// Azure tag names of tenantctl's labels. Tag names cannot contain "/", so the Kubernetes label
// keys (tenantctl.io/tenant, ...) are spelled with a dash; the values are the same.
// TagTenant is what the reachability analysis reads (isolation/reach/azurenet.TagTenant).
const (
	TagTenant      = "tenantctl-tenant"
	TagTier        = "tenantctl-tier"
	TagEnvironment = "tenantctl-environment"
	TagOwner       = "tenantctl-owner"
	TagManagedBy   = "managed-by"
)

var labelToTag = map[string]string{
	LabelTenant:      TagTenant,
	LabelTier:        TagTier,
	LabelEnvironment: TagEnvironment,
	LabelOwner:       TagOwner,
	LabelManagedBy:   TagManagedBy,
}

// TenantTags are the tags of every Azure resource a tenant stack creates: the binding's labels
// that are valid tag names, then tenantctl's, which win (TenantLabels drops forged ones).
func TenantTags(b *isolation.RuntimeTenantBinding) map[string]string {
	return tagsOf(TenantLabels(b))
}

// PlatformTags are the tags of every Azure resource a platform stack creates.
func PlatformTags(env *isolation.Environment) map[string]string {
	return tagsOf(PlatformLabels(env))
}

func tagsOf(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	// User labels first, so a user label spelled like a tag ("tenantctl-tenant") cannot override
	// tenantctl's value.
	for k, v := range labels {
		if _, own := labelToTag[k]; own || !validTagName(k) || strings.HasPrefix(k, "tenantctl-") || k == TagManagedBy {
			continue
		}
		out[k] = truncate(v, 256)
	}
	for k, v := range labels {
		if tag, own := labelToTag[k]; own {
			out[tag] = v
		}
	}
	return out
}

// validTagName reports whether Azure accepts k as a tag name: at most 512 characters and none of
// < > % & \ ? /.
func validTagName(k string) bool {
	return k != "" && len(k) <= 512 && !strings.ContainsAny(k, `<>%&\?/`)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
