// Package reach computes which tenant can reach which other tenant's scope, across every route
// kind (Kubernetes NetworkPolicies; Azure peerings, routes, NSGs, firewalls and private
// endpoints), from desired state plus a live or snapshot inventory, and proves the isolation each
// tier promises: every edge between two different tenants is either declared in the
// environment's allowedRoutes or reported with the chain of evidence that opens it.
package reach

import (
	"context"
	"fmt"
	"sync"

	"github.com/connectsoft/tenantctl/inventory"
	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/azurenet"
	"github.com/connectsoft/tenantctl/isolation/reach/model"
	"github.com/connectsoft/tenantctl/isolation/reach/netpol"
)

// The graph vocabulary lives in model so the analysers can share it; these aliases are the
// public names.
type (
	Graph        = model.Graph
	Node         = model.Node
	Edge         = model.Edge
	EvidenceStep = model.EvidenceStep
	Exposure     = model.Exposure
	Verdict      = model.Verdict
	EdgeKind     = model.EdgeKind
	PortSet      = model.PortSet
)

// Verdicts and kinds, re-exported.
const (
	VerdictAllowed    = model.VerdictAllowed
	VerdictUnexpected = model.VerdictUnexpected
	VerdictUnknown    = model.VerdictUnknown

	KindNetworkPolicy   = model.KindNetworkPolicy
	KindPeering         = model.KindPeering
	KindRoute           = model.KindRoute
	KindNSG             = model.KindNSG
	KindPrivateEndpoint = model.KindPrivateEndpoint
	KindFirewall        = model.KindFirewall
)

// Analysis modes recorded in Graph.Mode.
const (
	ModeSnapshot = "snapshot"
	ModeDesired  = "desired"
)

// Analyze computes the reachability graph of env from its bindings and an inventory snapshot.
func Analyze(ctx context.Context, env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding, snap *inventory.Snapshot) (*Graph, error) {
	return analyze(ctx, env, bindings, snap, ModeSnapshot)
}

// AnalyzeDesired proves the bindings and programs before anything is provisioned: it analyses
// the objects the programs' plans create (PlannedSnapshot) exactly as it would analyse live ones.
func AnalyzeDesired(ctx context.Context, env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding) (*Graph, error) {
	snap, err := PlannedSnapshot(env, bindings)
	if err != nil {
		return nil, fmt.Errorf("reachability of %s (desired): %w", env.Name(), err)
	}
	return analyze(ctx, env, bindings, snap, ModeDesired)
}

func analyze(ctx context.Context, env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding, snap *inventory.Snapshot, mode string) (*Graph, error) {
	if snap == nil {
		snap = &inventory.Snapshot{}
	}
	scope, err := model.NewScope(env, bindings)
	if err != nil {
		return nil, fmt.Errorf("reachability of %s: %w", env.Name(), err)
	}
	// The two platforms' routes are independent: analyse them side by side.
	kb, ab := model.NewBuilder(scope), model.NewBuilder(scope)
	var kerr, aerr error
	var wg sync.WaitGroup
	wg.Go(func() { kerr = netpol.Analyze(ctx, scope, snap.Kubernetes, kb) })
	wg.Go(func() { aerr = azurenet.Analyze(ctx, scope, snap.Azure, ab) })
	wg.Wait()
	if kerr != nil {
		return nil, fmt.Errorf("reachability of %s: kubernetes: %w", env.Name(), kerr)
	}
	if aerr != nil {
		return nil, fmt.Errorf("reachability of %s: azure: %w", env.Name(), aerr)
	}
	kb.Merge(ab)
	return kb.Graph(mode), nil
}
