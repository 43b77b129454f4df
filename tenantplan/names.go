package tenantplan

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// ProjectName is the Pulumi project every tenantctl stack belongs to.
const ProjectName = "tenantctl"

// StackKind tells a platform stack from a tenant stack.
type StackKind string

const (
	StackPlatform StackKind = "platform"
	StackTenant   StackKind = "tenant"
)

// StackID identifies one stack: the platform of an environment, or one tenant in one environment.
type StackID struct {
	Kind        StackKind `json:"kind"`
	Environment string    `json:"environment"`
	TenantID    string    `json:"tenantId,omitempty"`
}

// Name is the Pulumi stack name. Dots separate the parts because tenant ids and environment names
// are DNS labels (no dots), so the name parses back unambiguously, and a tenant called "platform"
// still cannot collide with a platform stack.
func (s StackID) Name() string {
	if s.Kind == StackPlatform {
		return PlatformStackName(s.Environment)
	}
	return TenantStackName(s.TenantID, s.Environment)
}

// PlatformStackName is the stack of an environment's shared infrastructure: "platform.<env>".
func PlatformStackName(env string) string { return "platform." + env }

// TenantStackName is the stack of one tenant in one environment: "tenant.<tenantId>.<env>".
func TenantStackName(tenantID, env string) string { return "tenant." + tenantID + "." + env }

// ParseStackName reverses PlatformStackName and TenantStackName.
func ParseStackName(name string) (StackID, error) {
	parts := strings.Split(name, ".")
	switch {
	case len(parts) == 2 && parts[0] == string(StackPlatform) && parts[1] != "":
		return StackID{Kind: StackPlatform, Environment: parts[1]}, nil
	case len(parts) == 3 && parts[0] == string(StackTenant) && parts[1] != "" && parts[2] != "":
		return StackID{Kind: StackTenant, TenantID: parts[1], Environment: parts[2]}, nil
	}
	return StackID{}, fmt.Errorf("stack name %q is neither platform.<env> nor tenant.<tenantId>.<env>", name)
}

// Object names. A tenant's objects are all named after it ("t-<tenantId>[-suffix]") so that, in
// the shared namespace, tenants' objects cannot collide and a name alone tells the owner.
const tenantPrefix = "t-"

// TenantNamespace is the namespace of a tenant whose compute mode gives it one (pool, silo).
func TenantNamespace(tenantID string) string { return tenantPrefix + tenantID }

// TenantObjectName is the name of a tenant's ServiceAccount, Role, RoleBinding, ResourceQuota and
// LimitRange, in its own namespace and in the shared one alike.
func TenantObjectName(tenantID string) string { return tenantPrefix + tenantID }

// TenantSecretProviderClassName is a tenant's SecretProviderClass, in its own namespace or, named
// by tenant like every tenant object there, in the shared one.
func TenantSecretProviderClassName(tenantID string) string { return tenantPrefix + tenantID }

// TenantSecretRefsName is the ConfigMap of secret references that tenant stacks created before
// the SecretProviderClass replaced it. It is no longer in any plan, so the next `up` of a stack
// that still holds it deletes it (docs/secrets.md, "Migration").
func TenantSecretRefsName(tenantID string) string { return tenantPrefix + tenantID + "-secret-refs" }

// SharedPriorityClassName is the PriorityClass that keys a shared tenant's quota slice.
func SharedPriorityClassName(tenantID string) string { return "tenantctl-shared-" + tenantID }

// SharedSecretObjectName is the in-cluster Secret a shared tenant's reference resolves to: scoped by
// tenant because every shared tenant's Secrets sit in one namespace. A dot separates the parts:
// tenant ids and reference names are DNS labels, which have no dots, so tenant "acme" with
// reference "corp-db" and tenant "acme-corp" with reference "db" get different Secrets
// ("t-acme.corp-db", "t-acme-corp.db"); a dash would give both "t-acme-corp-db".
func SharedSecretObjectName(tenantID, refName string) string {
	return tenantPrefix + tenantID + "." + refName
}

// Defaults for the platform namespaces when an environment does not name them.
const (
	DefaultIngressNamespace = "tenantctl-ingress"
	DefaultSharedNamespace  = "tenantctl-shared"
)

// IngressNamespace is the namespace of the environment's platform ingress.
func IngressNamespace(env *isolation.Environment) string {
	if n := env.Spec.SharedCluster.IngressNamespace; n != "" {
		return n
	}
	return DefaultIngressNamespace
}

// SharedNamespace is the namespace that hosts the environment's shared-tier tenants.
func SharedNamespace(env *isolation.Environment) string {
	if n := env.Spec.SharedCluster.SharedNamespace; n != "" {
		return n
	}
	return DefaultSharedNamespace
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// MaxTenantIDLength keeps "t-<tenantId>" inside the 63 characters of a namespace name and a label
// value.
const MaxTenantIDLength = 61

// CheckDNSLabel reports whether s can be used inside Kubernetes names and label values.
func CheckDNSLabel(what, s string, max int) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if len(s) > max {
		return fmt.Errorf("%s %q is longer than %d characters", what, s, max)
	}
	if !dnsLabel.MatchString(s) {
		return fmt.Errorf("%s %q is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)", what, s)
	}
	return nil
}

// Owner is who a stack's resources belong to: its tenant, or isolation.Platform for a platform
// stack.
func (s StackID) Owner() string {
	if s.Kind == StackPlatform {
		return isolation.Platform
	}
	return s.TenantID
}
