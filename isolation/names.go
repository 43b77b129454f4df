package isolation

import (
	"github.com/connectsoft/tenantctl/internal/fieldpath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// ReservedTenantIDs are names a tenant may not take: they are Kubernetes system namespaces or
// words the platform uses for its own scopes (the "platform" pseudo-tenant in routes, the
// shared tier, ingress). Any id starting with "kube-" is reserved as well, and so are the
// environment's ingress and shared namespace names.
var ReservedTenantIDs = []string{
	"admin",
	"default",
	"ingress",
	"kube-node-lease",
	"kube-public",
	"kube-system",
	Platform,
	"shared",
	"system",
	"tenantctl",
}

// IsReservedTenantID reports whether id is reserved for the platform.
func IsReservedTenantID(id string) bool {
	if strings.HasPrefix(id, "kube-") {
		return true
	}
	return slices.Contains(ReservedTenantIDs, id)
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// dnsLabelProblem returns why s is not a DNS-1123 label, or "".
func dnsLabelProblem(s string) string {
	switch {
	case len(s) > 63:
		return "at most 63 characters"
	case !dnsLabel.MatchString(s):
		return "lowercase letters, digits and '-', starting and ending with a letter or digit"
	}
	return ""
}

// StackName is the Pulumi stack that holds a binding's resources: "tenant.<tenantId>.<env>",
// e.g. "tenant.acme.dev" (stacks.TenantStackName spells the same name). Tenant ids and
// environment names are DNS-1123 labels without dots, so names never collide and parse back.
func StackName(b *RuntimeTenantBinding) string {
	return "tenant." + b.Spec.TenantID + "." + b.Spec.Environment
}

// reservedLabel reports label keys the engine sets itself on tenant resources; a binding that
// set them could claim another tenant's identity to label-based network policy.
func reservedLabel(key string) bool {
	if key == "tenant" || key == "tier" {
		return true
	}
	prefix, _, hasPrefix := strings.Cut(key, "/")
	return hasPrefix && (prefix == "connectsoft.io" || strings.HasSuffix(prefix, ".connectsoft.io"))
}

// checkLabels validates Kubernetes label syntax; reservedKeys additionally refuses the keys the
// engine owns.
func checkLabels(errs *errorList, d *document, path string, labels map[string]string, reservedKeys bool) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := fieldpath.AppendField(path, k)
		if msgs := content.IsLabelKey(k); len(msgs) > 0 {
			errs.at(d, field, "invalid label key: %s", strings.Join(msgs, "; "))
			continue
		}
		if reservedKeys && reservedLabel(k) {
			errs.at(d, field, "label key %s is reserved for the engine (tenant, tier and *connectsoft.io/ keys)", shown(k))
			continue
		}
		if msgs := content.IsLabelValue(labels[k]); len(msgs) > 0 {
			errs.at(d, field, "invalid label value: %s", strings.Join(msgs, "; "))
		}
	}
}
