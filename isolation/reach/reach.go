// Package reach computes which tenant can reach which other tenant's scope, across every route
// kind (Kubernetes NetworkPolicies; Azure peerings, routes, NSGs, firewalls and private
// endpoints; identity-plane grants; PostgreSQL privileges and row-level security), from desired state plus a live or snapshot inventory, and proves the isolation each
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
	"github.com/connectsoft/tenantctl/isolation/reach/pgroutes"
	"github.com/connectsoft/tenantctl/isolation/reach/underlay"
	"github.com/connectsoft/tenantctl/pgcatalog"
	"github.com/connectsoft/tenantctl/tenantplan"
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
	KindNodeSubnet      = graph.KindNodeSubnet
)

// Analysis modes recorded in Graph.Mode.
const (
	ModeSnapshot = "snapshot"
	ModeDesired  = "desired"
)

// Option tunes Analyze.
type Option func(*options)

type options struct {
	identity []identity.Option
	catalogs []*pgcatalog.Catalog
}

// WithDataCatalogs adds the data plane: the routes the PostgreSQL catalogs (one per database,
// pgcatalog.ReadServer) open between tenants.
func WithDataCatalogs(cats ...*pgcatalog.Catalog) Option {
	return func(o *options) { o.catalogs = append(o.catalogs, cats...) }
}

// WithIdentity passes options to the identity analysis (the trusted OIDC issuers of federated
// credentials, principal ids known from stack outputs).
func WithIdentity(opts ...identity.Option) Option {
	return func(o *options) { o.identity = append(o.identity, opts...) }
}

// Analyze computes the reachability graph of env from its bindings and an inventory snapshot.
func Analyze(ctx context.Context, env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding, snap *inventory.Snapshot, opts ...Option) (*Graph, error) {
	return analyze(ctx, env, bindings, snap, ModeSnapshot, opts...)
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

func analyze(ctx context.Context, env *isolation.Environment, bindings []*isolation.RuntimeTenantBinding, snap *inventory.Snapshot, mode string, opts ...Option) (*Graph, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if snap == nil {
		snap = &inventory.Snapshot{}
	}
	scope, err := graph.NewScope(env, bindings)
	if err != nil {
		return nil, fmt.Errorf("reachability of %s: %w", env.Name(), err)
	}
	// The two platforms' routes are independent: analyse them side by side. Paths between pods
	// and addresses outside the cluster also cross the network under it (package underlay): the
	// Kubernetes analysis hands them over, and they are decided once the Azure network is built.
	kb, ab, ib := graph.NewBuilder(scope), graph.NewBuilder(scope), graph.NewBuilder(scope)
	var kerr, aerr, ierr error
	var crossings []graph.Crossing
	var kopts []netpol.Option
	if underlay.Applies(env) {
		kopts = append(kopts, netpol.WithCrossings(func(c graph.Crossing) { crossings = append(crossings, c) }))
	}
	var net *azurenet.Network
	var wg sync.WaitGroup
	wg.Go(func() { kerr = netpol.Analyze(ctx, scope, snap.Kubernetes, kb, kopts...) })
	wg.Go(func() {
		if len(snap.Azure) == 0 {
			return
		}
		if net, aerr = azurenet.Build(scope, snap.Azure); aerr == nil {
			aerr = net.Analyze(ctx, ab)
		}
	})
	wg.Go(func() { _, ierr = identity.Analyze(ctx, scope, snap, ib, o.identity...) })
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
	if len(crossings) > 0 {
		comp, err := underlay.New(scope, snap, net)
		if err != nil {
			return nil, fmt.Errorf("reachability of %s: %w", env.Name(), err)
		}
		for _, c := range crossings {
			comp.Add(ctx, c, kb)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	kb.Merge(ab)
	kb.Merge(ib)
	if len(o.catalogs) > 0 {
		db := graph.NewBuilder(scope)
		ds := dataScope(scope, bindings)
		for _, c := range o.catalogs {
			for _, p := range pgroutes.Analyze(ds, c) {
				db.Add(p)
			}
		}
		kb.Merge(db)
	}
	return kb.Graph(mode), nil
}

// dataScope is the data plane's view of the environment's tenants: their resolved data modes and
// the database and schema names their bindings give them.
func dataScope(s *graph.Scope, bindings []*isolation.RuntimeTenantBinding) *pgroutes.Scope {
	names := map[string][]string{}
	for _, b := range bindings {
		names[b.Spec.TenantID] = tenantplan.PostgresNames(b)
	}
	var ts []pgroutes.Tenant
	for _, id := range s.TenantIDs() {
		ts = append(ts, pgroutes.Tenant{ID: id, Mode: s.Tenant(id).Modes[isolation.LayerData], Names: names[id]})
	}
	return pgroutes.NewScope(ts)
}
