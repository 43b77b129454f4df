package tenantplan

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// PostgreSQL names of the data layer. Every name a tenant owns starts with "t_<tenant>" (dashes
// become underscores: tenant ids are DNS labels, which have no underscores, so the mapping stays
// one to one), so that a catalog row alone tells which tenant an object belongs to, the way the
// "t-" prefix does in Kubernetes. The platform's own names start with "tenantctl_", which no
// tenant name can.
const (
	pgTenantPrefix = "t_"
	// maxPGIdent is PostgreSQL's identifier limit (NAMEDATALEN-1 bytes); longer names are
	// silently truncated by the server, which would make two tenants' names collide.
	maxPGIdent = 63

	// PGSharedSchema is the schema of the shared database whose tables every row-filtered
	// tenant shares, one tenant_id column and one policy per tenant guarding each.
	PGSharedSchema = "tenant_data"
	// PGPlatformOwnerRole owns the shared database, the shared schema and its tables: no tenant
	// role owns a shared table, since an owner bypasses row-level security unless it is forced.
	PGPlatformOwnerRole = "tenantctl_platform_owner"
	// PGTenantIDColumn is the column of shared tables that binds a row to its tenant.
	PGTenantIDColumn = "tenant_id"
)

// pgIdent joins "t_<tenant>" and a suffix into an identifier of at most 63 bytes. When the tenant
// id is too long, its tail is replaced by eight hex digits of its hash so names stay distinct.
func pgIdent(tenantID, suffix string) string {
	base := pgTenantPrefix + strings.ReplaceAll(tenantID, "-", "_")
	if len(base)+len(suffix) <= maxPGIdent {
		return base + suffix
	}
	sum := sha256.Sum256([]byte(tenantID))
	keep := maxPGIdent - len(suffix) - 9
	return base[:keep] + "_" + hex.EncodeToString(sum[:])[:8] + suffix
}

// PGTenantPrefix is the prefix every PostgreSQL object name of tenantID starts with (before any
// hash shortening, which keeps the prefix's first characters).
func PGTenantPrefix(tenantID string) string { return pgIdent(tenantID, "") }

// PGOwnerRole is the NOLOGIN role that owns a tenant's database (silo) or schema (pool).
func PGOwnerRole(tenantID string) string { return pgIdent(tenantID, "_owner") }

// PGLoginRole is the LOGIN role the tenant's workloads connect as.
func PGLoginRole(tenantID string) string { return pgIdent(tenantID, "_app") }

// PGDatabase is a silo tenant's own database when its binding names none.
func PGDatabase(tenantID string) string { return pgIdent(tenantID, "") }

// PGSchema is a pool tenant's schema in the shared database when its binding names none.
func PGSchema(tenantID string) string { return pgIdent(tenantID, "") }

// PGPolicyName is the tenant's row-level security policy on each shared table.
func PGPolicyName(tenantID string) string { return pgIdent(tenantID, "_rows") }

// PGRowFilter is the USING and WITH CHECK expression of tenantID's policy on every shared table:
// it binds rows to the tenant id as a constant of the policy, which only applies to the tenant's
// own login role, so no session setting (SET app.tenant_id, SET ROLE to a role it is not a member
// of) can widen it.
func PGRowFilter(tenantID string) string {
	return PGTenantIDColumn + " = '" + strings.ReplaceAll(tenantID, "'", "''") + "'"
}
