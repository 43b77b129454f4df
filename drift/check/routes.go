package check

import (
	"context"

	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
)

// ReachAnalyzers is the default route analysis: isolation/reach over the snapshot, with every
// binding of the environment (all tenants, whatever the selection: a route is only recognisable
// as cross-tenant when both ends are known), findings pointing at the tenant's binding.
func ReachAnalyzers(env *isolation.Environment, state *isolation.DesiredState) detect.RouteAnalyzer {
	return reachRoutes{state: state, bindings: state.BindingsIn(env.Name())}
}

type reachRoutes struct {
	state    *isolation.DesiredState
	bindings []*isolation.RuntimeTenantBinding
}

// Routes implements detect.RouteAnalyzer.
func (r reachRoutes) Routes(ctx context.Context, env *isolation.Environment, snap *inventory.Snapshot) ([]finding.Finding, error) {
	g, err := reach.Analyze(ctx, env, r.bindings, snap)
	if err != nil {
		return nil, err
	}
	locate := func(tenantID string) isolation.Source {
		if b := r.state.Binding(env.Name(), tenantID); b != nil {
			return b.Source
		}
		return env.Source
	}
	return routeFindings(g, locate), nil
}
