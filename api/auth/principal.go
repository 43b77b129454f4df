// Package auth authenticates API callers: OAuth2 / OIDC bearer access tokens in JWT form, checked
// against the configured issuer's published keys (discovery and a JWKS cache that follows key
// rotation), with the signing algorithm pinned, and turned into a Principal carrying the caller's
// tenant and runtime.{resource}.{action} scopes.
package auth

import (
	"slices"
	"strings"
)

// Scopes the API checks. Each route needs one; see docs/api.md.
const (
	ScopeBindingsRead     = "runtime.bindings.read"
	ScopeTenantsRead      = "runtime.tenants.read"
	ScopeDeploymentsRead  = "runtime.deployments.read"
	ScopeDeploymentsWrite = "runtime.deployments.write"
	ScopeDeploymentsProd  = "runtime.deployments.prod"
	ScopeDriftRead        = "runtime.drift.read"
	ScopeDriftRemediate   = "runtime.drift.remediate"
	ScopeAuditRead        = "runtime.audit.read"
	// ScopeSecretsRotate moves a tenant's pinned secret references to their vault's current
	// version (a Git commit and an up of the tenant's stack).
	ScopeSecretsRotate      = "runtime.secrets.rotate"
	ScopeTenantsCrossTenant = "runtime.tenants.all"
	// ScopePlatformWrite lets a platform operator (cross-tenant, no tenant_id) change an
	// environment's platform stack through a tenant operation. Tenant-bound callers never do.
	ScopePlatformWrite = "runtime.platform.write"
)

// Principal is an authenticated caller.
type Principal struct {
	// Subject is the token's sub: the OIDC subject of a service or person.
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	// TenantID is the token's tenant_id claim; empty for platform operators, who act across
	// tenants with the runtime.tenants.all scope instead.
	TenantID string `json:"tenantId,omitempty"`
	// ClientID is the OAuth2 client the token was issued to (client_id or azp), when present.
	ClientID string `json:"clientId,omitempty"`
	// Scopes are sorted and unique.
	Scopes []string `json:"scopes"`
}

// Has reports whether the principal holds scope.
func (p Principal) Has(scope string) bool {
	_, found := slices.BinarySearch(p.Scopes, scope)
	return found
}

// CrossTenant reports whether the principal may act on any tenant (platform operators).
func (p Principal) CrossTenant() bool { return p.Has(ScopeTenantsCrossTenant) }

// MayActOn is the tenant guard: the caller's tenant is the target tenant, or the caller carries
// the cross-tenant scope.
func (p Principal) MayActOn(tenantID string) bool {
	if p.CrossTenant() {
		return true
	}
	return p.TenantID != "" && p.TenantID == tenantID
}

// MayChangePlatform reports whether the principal's operations also run the shared platform
// stack: platform operators with the platform scope only.
func (p Principal) MayChangePlatform() bool {
	return p.TenantID == "" && p.CrossTenant() && p.Has(ScopePlatformWrite)
}

// Key identifies the principal across requests: issuer, subject and tenant, so the same subject
// acting for two tenants is two principals (idempotency keys and denial rate limits are scoped by
// it).
func (p Principal) Key() string { return p.Issuer + "\x00" + p.Subject + "\x00" + p.TenantID }

// normalizeScopes splits space-separated entries, drops empties and sorts.
func normalizeScopes(in []string) []string {
	var out []string
	for _, s := range in {
		out = append(out, strings.Fields(s)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
