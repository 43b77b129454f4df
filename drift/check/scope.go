package check

import (
	"slices"

	"github.com/connectsoft/tenantctl/automation/fleet"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/drift/report"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/tenantplan"
)

// runScope decides which tenants one run reports on: the selected bindings in the shard; with
// --all also the platform and tenants that exist live but have no binding (an out-of-band
// "t-<id>" namespace), which only a full check can see.
type runScope struct {
	all      bool
	sel      fleet.Selection
	shard    *report.Shard
	selected map[report.TenantRef]bool
}

func newRunScope(sel fleet.Selection, shard *report.Shard, bindings []*isolation.RuntimeTenantBinding) *runScope {
	s := &runScope{all: sel.All, sel: sel, shard: shard, selected: map[report.TenantRef]bool{}}
	for _, b := range bindings {
		ref := report.TenantRef{Environment: b.Spec.Environment, TenantID: b.Spec.TenantID}
		if s.inShard(ref.TenantID) {
			s.selected[ref] = true
		}
	}
	return s
}

func (s *runScope) inShard(tenantID string) bool {
	// The platform is checked in the shard its name hashes to, like a tenant id.
	return s.shard == nil || tenantplan.ShardOf(tenantID, s.shard.Count) == s.shard.Index
}

// includes reports whether findings of tenant in env belong to this run.
func (s *runScope) includes(env, tenant string) bool {
	if s.selected[report.TenantRef{Environment: env, TenantID: tenant}] {
		return true
	}
	return s.all && s.sel.InEnv(env) && tenant != "" && s.inShard(tenant)
}

// platform reports whether the run checks env's platform stack.
func (s *runScope) platform(env string) bool { return s.includes(env, isolation.Platform) }

// bindings are the selected bindings of env in the shard.
func (s *runScope) bindings(state *isolation.DesiredState, env string) []*isolation.RuntimeTenantBinding {
	var out []*isolation.RuntimeTenantBinding
	for _, b := range state.BindingsIn(env) {
		if s.selected[report.TenantRef{Environment: env, TenantID: b.Spec.TenantID}] {
			out = append(out, b)
		}
	}
	return out
}

// filter keeps the findings of the run's tenants.
func (s *runScope) filter(fs []finding.Finding) []finding.Finding {
	return slices.DeleteFunc(fs, func(f finding.Finding) bool { return !s.includes(f.Environment, f.TenantID) })
}
