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
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
	"github.com/connectsoft/tenantctl/isolation/reach/identity"
	"github.com/connectsoft/tenantctl/isolation/reach/netpol"
)

// The graph vocabulary lives in package graph so the analysers can share it; these aliases are the
// public names.
type (
	Graph        = graph.Graph
	Node         = graph.Node
	Edge         = graph.Edge
	EvidenceStep = graph.EvidenceStep
	Exposure     = graph.Exposure
	Verdict      = graph.Verdict
	EdgeKind     = graph.EdgeKind
	PortSet      = graph.PortSet
)

// Verdicts and kinds, re-exported.
const (
	VerdictAllowed    = graph.VerdictAllowed
	VerdictUnexpected = graph.VerdictUnexpected
	VerdictUnknown    = graph.VerdictUnknown

	KindNetworkPolicy   = graph.KindNetworkPolicy
	KindPeering         = graph.KindPeering
	KindRoute           = graph.KindRoute
	KindNSG             = graph.KindNSG
	KindPrivateEndpoint = graph.KindPrivateEndpoint
	KindFirewall        = graph.KindFirewall
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
	scope, err := graph.NewScope(env, bindings)
	if err != nil {
		return nil, fmt.Errorf("reachability of %s: %w", env.Name(), err)
	}
	// The two platforms' routes are independent: analyse them side by side.
	kb, ab, ib := graph.NewBuilder(scope), graph.NewBuilder(scope), graph.NewBuilder(scope)
	var kerr, aerr, ierr error
	var wg sync.WaitGroup
	wg.Go(func() { kerr = netpol.Analyze(ctx, scope, snap.Kubernetes, kb) })
	wg.Go(func() { aerr = azurenet.Analyze(ctx, scope, snap.Azure, ab) })
	wg.Go(func() { _, ierr = identity.Analyze(ctx, scope, snap, ib) })
	wg.Wait()
	if ierr != nil {
		return nil, fmt.Errorf("reachability of %s: identity: %w", env.Name(), ierr)
	}
	if kerr != nil {
		return nil, fmt.Errorf("reachability of %s: kubernetes: %w", env.Name(), kerr)
	}
	if aerr != nil {
		return nil, fmt.Errorf("reachability of %s: azure: %w", env.Name(), aerr)
	}
	kb.Merge(ab)
	kb.Merge(ib)
	return kb.Graph(mode), nil
}
