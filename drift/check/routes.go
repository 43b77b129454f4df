package check

import (
	"context"
	"slices"

	"github.com/connectsoft/tenantctl/drift/detect"
	"github.com/connectsoft/tenantctl/drift/finding"
	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach"
	"github.com/connectsoft/tenantctl/isolation/reach/azureidentity"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
	azurestacks "github.com/connectsoft/tenantctl/stacks/azure"
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
	// issuers are the OIDC issuers federated credentials may trust: the platform stack's
	// recorded oidcIssuerUrl (azure target).
	issuers []string
}

// platformAware route analyzers learn the platform stack's recorded outputs before they run.
type platformAware interface {
	withPlatformOutputs(outputs map[string]any) detect.RouteAnalyzer
}

// withPlatformOutputs trusts the shared cluster's OIDC issuer the platform stack recorded.
func (r reachRoutes) withPlatformOutputs(outputs map[string]any) detect.RouteAnalyzer {
	if u, ok := outputs[azurestacks.OutputOIDCIssuerURL].(string); ok && u != "" {
		r.issuers = append(slices.Clone(r.issuers), u)
	}
	return r
}

// Routes implements detect.RouteAnalyzer.
func (r reachRoutes) Routes(ctx context.Context, env *isolation.Environment, snap *inventory.Snapshot) ([]finding.Finding, error) {
	var opts []reach.Option
	if len(r.issuers) > 0 {
		opts = append(opts, reach.WithIdentity(identity.WithAzure(azureidentity.WithTrustedIssuers(r.issuers...))))
	}
	g, err := reach.Analyze(ctx, env, r.bindings, snap, opts...)
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
