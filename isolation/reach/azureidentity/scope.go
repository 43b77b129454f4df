package azureidentity

import (
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// Owners of ARM scopes, by the names stacks/azure derives (rg-<tenant>-<env>, id-<tenant>-<env>,
// rg-platform-<env> unless the environment names its resource groups), the environment's shared
// vault, database server and cluster, the dedicated vaults bindings reference, then the
// tenantctl-tenant tag. Tags come last because whoever may write a resource may write its tags.

// owners is who a scope holds: every tenant and the platform, or a list of parties.
type owners struct {
	all     bool
	parties []string
	how     string
	// above: the scope is a subscription or above (a role with roleAssignments/write there takes
	// every scope).
	above bool
}

type scoper struct {
	sc   *graph.Scope
	env  string
	tags map[string]map[string]string
	// platformGroups are the environment's resource groups for shared infrastructure.
	platformGroups map[string]bool
	// vaultTenants are the tenants whose secrets live in the shared vault.
	vaultTenants []string
}

func newScoper(sc *graph.Scope, tags map[string]map[string]string) *scoper {
	s := &scoper{sc: sc, env: sc.Env.Name(), tags: tags, platformGroups: map[string]bool{}}
	spec := sc.Env.Spec
	platform := "rg-platform-" + s.env
	if spec.Azure != nil && spec.Azure.ResourceGroup != "" {
		platform = spec.Azure.ResourceGroup
	}
	for _, g := range []string{platform, spec.Hub.ResourceGroup, spec.SharedCluster.ResourceGroup, spec.SharedVault.ResourceGroup, spec.SharedDatabase.ResourceGroup} {
		if g != "" {
			s.platformGroups[strings.ToLower(g)] = true
		}
	}
	for _, id := range sc.TenantIDs() {
		switch sc.Tenant(id).Modes[isolation.LayerSecrets] {
		case isolation.SecretsVaultAccessPolicy, isolation.SecretsScopedReferences:
			s.vaultTenants = append(s.vaultTenants, id)
		}
	}
	return s
}

// tenantByGroup returns the tenant whose resource group convention names group.
func (s *scoper) tenantByGroup(group string) string {
	g := strings.ToLower(group)
	suffix := "-" + s.env
	if !strings.HasPrefix(g, "rg-") || !strings.HasSuffix(g, suffix) {
		return ""
	}
	id := strings.TrimSuffix(strings.TrimPrefix(g, "rg-"), suffix)
	if s.sc.Tenant(id) != nil {
		return id
	}
	return ""
}

// ownersOf decides who a role assignment's scope (or a vault's id) holds.
func (s *scoper) ownersOf(scope string) owners {
	parts := segments(scope)
	switch {
	case scope == "/" || scope == "" || (len(parts) >= 2 && strings.EqualFold(parts[0], "providers") && strings.EqualFold(parts[1], "Microsoft.Management")):
		return owners{all: true, above: true, how: "a management group or the root scope, above every subscription"}
	case len(parts) == 2 && strings.EqualFold(parts[0], "subscriptions"):
		return owners{all: true, above: true, how: "the subscription, above every tenant's and the platform's resource groups"}
	}
	group := resourceGroup(scope)
	if group == "" {
		return owners{}
	}
	provider := providerPath(parts)
	if o, ok := s.sharedResource(provider); ok {
		return o
	}
	if len(provider) >= 3 && strings.EqualFold(provider[0], "Microsoft.KeyVault") && strings.EqualFold(provider[1], "vaults") {
		if id, ok := s.sc.VaultOwner(provider[2]); ok {
			return owners{parties: []string{id}, how: "the dedicated Key Vault " + provider[2] + " of " + id + "'s binding"}
		}
	}
	if id := s.tenantByGroup(group); id != "" {
		return owners{parties: []string{id}, how: "resource group " + group + " follows rg-<tenant>-<environment>"}
	}
	if s.platformGroups[strings.ToLower(group)] {
		if len(provider) == 0 {
			return owners{all: true, how: "the platform resource group " + group + ", which holds the shared cluster, vault and database every tenant depends on"}
		}
		return owners{parties: []string{isolation.Platform}, how: "in the platform resource group " + group}
	}
	if tag := s.tagOf(scope); tag != "" {
		return owners{parties: []string{tag}, how: "tag " + TagTenant + "=" + tag}
	}
	return owners{}
}

// tagOf reads the tenant tag of a scope's resource, or of the nearest ancestor the snapshot holds.
func (s *scoper) tagOf(scope string) string {
	for id := scope; id != ""; id = parentID(id) {
		if t := s.tags[lower(id)][TagTenant]; t != "" {
			return t
		}
	}
	return ""
}

// sharedResource recognises the environment's shared vault (and its secrets), database server
// and cluster under a provider path [namespace, type, name, childType, childName, ...].
func (s *scoper) sharedResource(p []string) (owners, bool) {
	if len(p) < 3 {
		return owners{}, false
	}
	spec := s.sc.Env.Spec
	ns, typ, name := strings.ToLower(p[0]), strings.ToLower(p[1]), p[2]
	switch {
	case ns == "microsoft.keyvault" && typ == "vaults" && spec.SharedVault.Name != "" && strings.EqualFold(name, spec.SharedVault.Name):
		if len(p) >= 5 && strings.EqualFold(p[3], "secrets") {
			if id := s.secretOwner(p[4]); id != "" {
				return owners{parties: []string{id}, how: "secret " + p[4] + " of the shared vault carries " + id + "'s prefix " + id + "-"}, true
			}
			return owners{parties: []string{isolation.Platform}, how: "secret " + p[4] + " of the shared vault carries no tenant's prefix"}, true
		}
		return owners{parties: append([]string{isolation.Platform}, s.vaultTenants...), how: "the environment's shared vault " + name + ", which holds the secrets of " + describe(s.vaultTenants)}, true
	case (ns == "microsoft.sql" && typ == "servers" || ns == "microsoft.dbforpostgresql" && typ == "flexibleservers") && spec.SharedDatabase.Server != "" && strings.EqualFold(name, spec.SharedDatabase.Server):
		return owners{all: true, how: "the environment's shared database server " + name + ", which holds every tenant's data"}, true
	case ns == "microsoft.containerservice" && typ == "managedclusters" && spec.SharedCluster.Name != "" && strings.EqualFold(name, spec.SharedCluster.Name):
		return owners{all: true, how: "the environment's shared cluster " + name + ", which runs every tenant"}, true
	}
	return owners{}, false
}

// secretOwner returns the tenant whose prefix "<tenantId>-" a shared-vault secret name carries
// (the programs refuse any other name); the longest matching id wins ("acme-corp-db" is
// acme-corp's, not acme's).
func (s *scoper) secretOwner(secret string) string {
	best := ""
	for _, id := range s.sc.TenantIDs() {
		if strings.HasPrefix(strings.ToLower(secret), id+"-") && len(id) > len(best) {
			best = id
		}
	}
	return best
}

// providerPath returns the parts after "providers" in an ARM id: namespace, type, name, then
// child type and name pairs.
func providerPath(parts []string) []string {
	for i := len(parts) - 1; i >= 0; i-- {
		if strings.EqualFold(parts[i], "providers") {
			return parts[i+1:] // the innermost resource of an extension id

		}
	}
	return nil
}

func describe(ids []string) string {
	if len(ids) == 0 {
		return "no tenant"
	}
	return strings.Join(slices.Clone(ids), ", ")
}
