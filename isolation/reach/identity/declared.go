package identity

import (
	"slices"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/rbac"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// declaredPlans answers whether a live binding is one a tenant stack creates: the plan's
// RoleBinding (tenantplan Tenant.Identity) of the tenant whose scope holds it, naming the plan's
// Role and ServiceAccount, with the Role's rules as planned. Such a binding is declared, not
// guessed: it grants what the tenant's plan says and is no route, whatever it reaches. A
// binding or Role that differs from its plan is analysed like any other (and is managed drift).
// Plans are made on first use, only for the bindings an analysis would otherwise follow.
type declaredPlans struct {
	w     *world
	plans map[string]*tenantplan.Identity // by tenant; nil: no plan (the binding is analysed)
}

func (d *declaredPlans) declares(b *rbac.Binding) bool {
	// The plan names all three after the tenant: anything else is not its (no plan needed).
	if b.Kind != rbac.KindRoleBinding || b.RoleKind != rbac.KindRole || len(b.Subjects) != 1 ||
		b.RoleName != b.Name || b.Subjects[0].Name != b.Name || b.Subjects[0].Kind != rbac.KindServiceAccount {
		return false
	}
	id := d.w.bindingOwner(b)
	if id == "" || id == isolation.Platform || d.w.namespaceOf(b.Namespace).platformSA {
		// A platform account living in the namespace can be become through what the plan
		// grants: that route is the account's placement, and is reported.
		return false
	}
	pl := d.plan(id)
	if pl == nil {
		return false
	}
	rb := pl.RoleBinding
	want := rbac.Subject{Kind: rbac.KindServiceAccount, Namespace: rb.Metadata.Namespace, Name: rb.ServiceAccount}
	if rb.Metadata.Name != b.Name || rb.Metadata.Namespace != b.Namespace || rb.Role != b.RoleName || b.Subjects[0] != want {
		return false
	}
	role := d.w.policy.RoleOf(b)
	return role == nil || sameRules(role.Written, pl.Role.Rules)
}

func (d *declaredPlans) plan(id string) *tenantplan.Identity {
	if pl, ok := d.plans[id]; ok {
		return pl
	}
	var out *tenantplan.Identity
	if t := d.w.scope.Tenant(id); t != nil && t.Binding != nil {
		env := d.w.scope.Env
		in := tenantplan.Inputs{Binding: t.Binding, Env: env, Platform: tenantplan.ExpectedPlatformOutputs(env)}
		if pl, err := tenantplan.ForTenant(in, tenantplan.Layers(isolation.LayerCompute, isolation.LayerSecrets)); err == nil && pl.Identity.RoleBinding.Metadata.Name != "" {
			out = &pl.Identity
		}
	}
	d.plans[id] = out
	return out
}

// sameRules compares live rules with planned ones, in any order.
func sameRules(live []rbac.Rule, planned []tenantplan.PolicyRule) bool {
	if len(live) != len(planned) {
		return false
	}
	a := make([]string, len(live))
	for i := range live {
		a[i] = live[i].String()
	}
	b := make([]string, len(planned))
	for i, p := range planned {
		r := rbac.Rule{Verbs: p.Verbs, APIGroups: p.APIGroups, Resources: p.Resources, ResourceNames: p.ResourceNames}
		b[i] = r.String()
	}
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
