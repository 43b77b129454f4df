// Package dataplanebench measures the data layer's drift fast path (one catalog read per
// database, then pgdrift.Compare) against what a refresh of the same objects costs: one Read per
// resource, each on a fresh connection, as the tenantpg provider's Read does under `pulumi
// refresh` (the engine's own overhead comes on top, so the ratio is a lower bound).
package dataplanebench

import (
	"context"
	"fmt"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// Fleet is n pool tenants (a schema each in the shared database) and n shared tenants (a policy
// each on every shared table), planned by the real planner from the example bindings.
type Fleet struct {
	Env      *isolation.Environment
	Tenants  []*tenantplan.Tenant
	Platform *tenantplan.PlatformPostgres
}

// Generate plans the fleet from the examples under dir (examples/tenants).
func Generate(ctx context.Context, dir string, n int) (*Fleet, error) {
	st, err := isolation.Load(ctx, dir)
	if err != nil {
		return nil, err
	}
	env := st.Environment("dev")
	var pool, shared *isolation.RuntimeTenantBinding
	for _, b := range st.BindingsIn("dev") {
		switch b.Spec.Tier {
		case isolation.TierPool:
			pool = b
		case isolation.TierShared:
			shared = b
		}
	}
	if pool == nil || shared == nil {
		return nil, fmt.Errorf("%s: the examples need a pool and a shared tenant", dir)
	}
	p, err := tenantplan.ForPlatform(env)
	if err != nil {
		return nil, err
	}
	f := &Fleet{Env: env, Platform: tenantplan.PlanPlatformPostgres(env)}
	for i := range n {
		for _, tpl := range []struct {
			b      *isolation.RuntimeTenantBinding
			prefix string
		}{{pool, "p"}, {shared, "s"}} {
			b := *tpl.b
			b.Spec.TenantID = fmt.Sprintf("%s%05d", tpl.prefix, i)
			if b.Spec.Data.Schema != "" {
				b.Spec.Data.Schema = tenantplan.PGSchema(b.Spec.TenantID)
			}
			b.Spec.Secrets = nil // references are named after the template's tenant
			t, err := tenantplan.ForTenant(tenantplan.Inputs{Binding: &b, Env: env, Platform: p.Outputs()}, tenantplan.Layers(isolation.LayerData))
			if err != nil {
				return nil, fmt.Errorf("plan %s: %w", b.Spec.TenantID, err)
			}
			f.Tenants = append(f.Tenants, t)
		}
	}
	return f, nil
}

// Resources counts the provider resources the fleet's stacks would hold: roles, schemas, grants,
// default privileges and policies (the platform's database, schema and tables once).
func (f *Fleet) Resources() int {
	n := 2 + len(f.Platform.Tables)
	for _, t := range f.Tenants {
		p := t.Data.Postgres
		n++ // login role
		if p.OwnerRole != "" {
			n++
		}
		if p.OwnSchema {
			n++
		}
		n += len(p.Grants) + len(p.DefaultPrivileges) + len(p.Policies)
	}
	return n
}
