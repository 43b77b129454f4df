package graph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
)

// Path is one realisation of a route found by an analyser, before it is classified: the owners
// at both ends, the mechanism and the ports it carries.
type Path struct {
	From, To string
	Kind     EdgeKind
	Ports    PortSet
	// Unknown is why the snapshot cannot decide whether this path exists; "" when it does.
	Unknown string
	// Builtin names the platform contract the path follows ("platform ingress", "cluster DNS",
	// "hub peering"); such paths are allowed when one end is the platform.
	Builtin string
	// Evidence builds the chain on demand: only the first path of each edge keeps one, and most
	// paths repeat an edge already found.
	Evidence func() []EvidenceStep
	// Via names the resource that opens the path when several may open one edge (an identity
	// edge granted by two bindings): a path through another Via than the edge's first keeps its
	// chain too (Edge.Alternatives). "" for paths whose first chain speaks for all.
	Via string
}

// exposureLimit is how many distinct peers one resource may expose before its exposures are
// folded into one against every tenant ("*"): an empty namespaceSelector should read as one
// finding, not ten thousand.
const exposureLimit = 20

// AnyTenant is the peer of an exposure that admits every tenant.
const AnyTenant = "*"

// Builder collects paths and exposures from the analysers and turns them into a Graph. It is not
// safe for concurrent use.
type Builder struct {
	scope     *Scope
	edges     map[edgeKey]*building
	order     []edgeKey
	exposures map[string]*exposureSet
	xorder    []string
	owners    map[string]bool
	unres     []string
}

// building is an edge being built, with the Vias of the chains it keeps: the first path's (most
// paths repeat it, and are told apart without a lookup) and, once another resource opens the
// edge too, the others.
type building struct {
	Edge
	via  string
	more map[string]bool
}

type edgeKey struct {
	from, to string
	kind     EdgeKind
	verdict  Verdict
}

type exposureSet struct {
	first Exposure
	peers map[string]Exposure
	order []string
}

// NewBuilder starts a graph for scope.
func NewBuilder(s *Scope) *Builder {
	return &Builder{scope: s, edges: map[edgeKey]*building{}, exposures: map[string]*exposureSet{}, owners: map[string]bool{}}
}

// Classify returns the verdict of a path between two different nodes and its reason.
func (b *Builder) Classify(from, to, builtin, unknown string) (Verdict, string) {
	v := b.verdict(from, to, builtin, unknown)
	switch {
	case v == VerdictAllowed:
		if reason, ok := b.scope.Allowed(from, to); ok {
			return v, "declared in allowedRoutes: " + reason
		}
		return v, "platform route: " + builtin
	case v == VerdictUnknown:
		return v, unknown
	}
	return v, "not declared in the environment's allowedRoutes"
}

// verdict is Classify without building the reason, for the many paths that repeat an edge.
func (b *Builder) verdict(from, to, builtin, unknown string) Verdict {
	if _, ok := b.scope.Allowed(from, to); ok {
		return VerdictAllowed
	}
	if builtin != "" && (from == isolation.Platform || to == isolation.Platform) {
		return VerdictAllowed
	}
	if unknown != "" {
		return VerdictUnknown
	}
	return VerdictUnexpected
}

// Add records a path. Paths inside one node are not routes and are dropped, as are network paths
// that carry no port (identity paths never carry ports).
func (b *Builder) Add(p Path) {
	if p.From == p.To || p.From == "" || p.To == "" || (p.Ports.IsEmpty() && !p.Kind.Identity()) {
		return
	}
	v := b.verdict(p.From, p.To, p.Builtin, p.Unknown)
	k := edgeKey{p.From, p.To, p.Kind, v}
	e := b.edges[k]
	if e == nil {
		_, reason := b.Classify(p.From, p.To, p.Builtin, p.Unknown)
		e = &building{Edge: Edge{From: p.From, To: p.To, Kind: p.Kind, Verdict: v, Reason: reason}, via: p.Via}
		if p.Evidence != nil {
			e.Evidence = p.Evidence()
		}
		b.edges[k] = e
		b.order = append(b.order, k)
		b.owners[p.From], b.owners[p.To] = true, true
	} else if p.Via != "" && p.Via != e.via && !e.more[p.Via] {
		e.opening(p.Via, p.Evidence)
	}
	e.Ports = e.Ports.Union(p.Ports)
	e.Paths++
}

// opening keeps the chain of another resource that opens the edge.
func (e *building) opening(via string, chain func() []EvidenceStep) {
	if e.more == nil {
		e.more = map[string]bool{}
	}
	e.more[via] = true
	e.addAlternative(chain)
}

// addAlternative keeps the chain of another opening of e, up to MaxAlternatives.
func (e *Edge) addAlternative(chain func() []EvidenceStep) {
	if len(e.Alternatives) >= MaxAlternatives || chain == nil {
		e.AlternativesOmitted++
		return
	}
	e.Alternatives = append(e.Alternatives, chain())
}

// Expose records a one-sided opening. Exposures towards the platform that follow a platform
// contract, and declared routes, are not recorded.
func (b *Builder) Expose(x Exposure, builtin string) {
	if x.Tenant == x.Peer || x.Tenant == "" || x.Peer == "" {
		return
	}
	from, to := x.Tenant, x.Peer
	if b.verdict(from, to, builtin, "") == VerdictAllowed || b.verdict(to, from, builtin, "") == VerdictAllowed {
		return
	}
	key := string(x.Kind) + "\x00" + x.Resource.Provider + "\x00" + x.Resource.Type + "\x00" + x.Resource.Namespace + "\x00" + x.Resource.Name + "\x00" + x.Resource.ID
	set := b.exposures[key]
	if set == nil {
		set = &exposureSet{first: x, peers: map[string]Exposure{}}
		b.exposures[key] = set
		b.xorder = append(b.xorder, key)
	}
	if _, seen := set.peers[x.Peer]; !seen {
		set.peers[x.Peer] = x
		set.order = append(set.order, x.Peer)
	}
	b.owners[x.Tenant], b.owners[x.Peer] = true, true
}

// Merge adds what o collected, after what b has. The analysers fill builders of their own
// concurrently (a Builder is not safe for concurrent use) and the results are merged in a fixed
// order, so the graph does not depend on scheduling.
func (b *Builder) Merge(o *Builder) {
	for _, k := range o.order {
		e := o.edges[k]
		if have := b.edges[k]; have != nil {
			have.Ports = have.Ports.Union(e.Ports)
			have.Paths += e.Paths
			have.mergeOpenings(e)
			continue
		}
		b.edges[k] = e
		b.order = append(b.order, k)
	}
	for _, key := range o.xorder {
		set := o.exposures[key]
		have := b.exposures[key]
		if have == nil {
			b.exposures[key] = set
			b.xorder = append(b.xorder, key)
			continue
		}
		for _, peer := range set.order {
			if _, seen := have.peers[peer]; !seen {
				have.peers[peer] = set.peers[peer]
				have.order = append(have.order, peer)
			}
		}
	}
	for id := range o.owners {
		b.owners[id] = true
	}
	b.unres = append(b.unres, o.unres...)
}

// mergeOpenings adds to e the chains of o that open it through a resource e does not hold yet.
// A chain's Via is its opening step's resource.
func (e *building) mergeOpenings(o *building) {
	if o.via == "" && len(o.more) == 0 {
		return
	}
	for _, chain := range o.Chains() {
		via := openerOf(chain)
		if via == "" || via == e.via || e.more[via] {
			continue
		}
		e.opening(via, func() []EvidenceStep { return chain })
	}
	e.AlternativesOmitted += o.AlternativesOmitted
}

// openerOf is the resource of a chain's first opening step.
func openerOf(chain []EvidenceStep) string {
	for _, st := range chain {
		if st.Opens {
			return st.Resource
		}
	}
	return ""
}

// Unresolved records an object whose owner could not be decided.
func (b *Builder) Unresolved(format string, args ...any) {
	b.unres = append(b.unres, fmt.Sprintf(format, args...))
}

// Graph assembles the nodes (every declared tenant, the platform, and every undeclared owner a
// path or exposure names) and the sorted edges and exposures.
func (b *Builder) Graph(mode string) *Graph {
	g := &Graph{Environment: b.scope.Env.Name(), Mode: mode, Unresolved: b.unres}
	seen := map[string]bool{isolation.Platform: true}
	g.Nodes = append(g.Nodes, Node{ID: isolation.Platform, Kind: NodePlatform, Declared: true})
	for _, id := range b.scope.TenantIDs() {
		seen[id] = true
		g.Nodes = append(g.Nodes, Node{ID: id, Tier: b.scope.Tenant(id).Tier, Kind: NodeTenant, Declared: true})
	}
	for id := range b.owners {
		if !seen[id] && id != AnyTenant {
			seen[id] = true
			g.Nodes = append(g.Nodes, Node{ID: id, Kind: NodeTenant})
		}
	}
	type openedKey struct {
		ref      ResourceRef
		from, to string
	}
	opened := map[openedKey]bool{}
	g.Edges = make([]Edge, 0, len(b.order))
	for _, k := range b.order {
		e := &b.edges[k].Edge
		g.Edges = append(g.Edges, *e)
		for _, chain := range e.Chains() {
			for _, st := range chain {
				if st.Opens {
					opened[openedKey{st.Ref, e.From, e.To}] = true
					opened[openedKey{st.Ref, e.To, e.From}] = true
				}
			}
		}
	}
	for _, key := range b.xorder {
		set := b.exposures[key]
		if len(set.order) > exposureLimit {
			x := set.first
			x.Peer = AnyTenant
			peers := slices.Clone(set.order)
			slices.Sort(peers)
			x.Detail = fmt.Sprintf("%s; admits %d tenants: %s, ...", x.Detail, len(peers), strings.Join(peers[:5], ", "))
			g.Exposures = append(g.Exposures, x)
			continue
		}
		for _, peer := range set.order {
			x := set.peers[peer]
			if opened[openedKey{x.Resource, x.Tenant, x.Peer}] {
				continue // the edge's finding already names this resource
			}
			g.Exposures = append(g.Exposures, x)
		}
	}
	g.Sort()
	return g
}
