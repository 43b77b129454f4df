package remediate

import (
	"fmt"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/pgroutes"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Environment is what remediation needs to know of an environment.
type Environment struct {
	Name string
	// SharedNamespace hosts the environment's shared-tier tenants, told apart by label.
	SharedNamespace string
	// Production mutations need an explicit approval (the CLI checks it before applying).
	Production bool
	// DataOwner names the tenant a PostgreSQL role, database or schema name belongs to ("" for
	// the platform's and unknown names); nil when the environment keeps no data on PostgreSQL.
	DataOwner func(name string) string
}

// Environments indexes environments by name.
type Environments map[string]Environment

// EnvironmentsOf describes the environments of a desired state.
func EnvironmentsOf(s *isolation.DesiredState) Environments {
	out := Environments{}
	for name, env := range s.Environments {
		e := Environment{Name: name, SharedNamespace: tenantplan.SharedNamespace(env), Production: env.Spec.Production}
		if tenantplan.UsesPostgres(env) {
			// a plan that fails here fails the check too; its data actions are then refused
			if tenants, _, err := tenantplan.PlanData(env, s.BindingsIn(name)); err == nil {
				e.DataOwner = pgroutes.ScopeOf(tenants).Owner
			}
		}
		out[name] = e
	}
	return out
}

// deleteScope decides whether a Kubernetes object may be deleted as tenant's unmanaged route.
// Only the tenant's own scope qualifies: its namespace t-<tenant>, or the environment's shared
// namespace when the object carries the tenant's label. Everything else (the peer's namespace,
// platform namespaces, cluster-scoped objects, namespaces merely labelled with the tenant) is
// refused: a remediation must never reach into another tenant's or the platform's space.
func deleteScope(env Environment, tenant, namespace string, labels map[string]string) error {
	switch {
	case tenant == "" || tenant == isolation.Platform:
		return fmt.Errorf("no tenant owns it")
	case namespace == "":
		return fmt.Errorf("it is cluster-scoped, outside every tenant namespace")
	case namespace == tenantplan.TenantNamespace(tenant):
		return nil
	case env.SharedNamespace != "" && namespace == env.SharedNamespace:
		if labels[tenantplan.LabelTenant] == tenant {
			return nil
		}
		return fmt.Errorf("it is in the shared namespace %s without the label %s=%s", namespace, tenantplan.LabelTenant, tenant)
	}
	return fmt.Errorf("namespace %s is not tenant %s's own (%s)", namespace, tenant, tenantplan.TenantNamespace(tenant))
}
