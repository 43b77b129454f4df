package render

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/connectsoft/tenantctl/isolation"
	"github.com/connectsoft/tenantctl/isolation/reach/graph"
)

// View selects what a picture shows.
type View string

const (
	// ViewAttention shows what needs attention: unexpected and unknown edges and exposures, each
	// drawn, and the allowed platform edges folded into one line per tier and direction.
	ViewAttention View = "attention"
	// ViewMatrix is the tenants × tenants adjacency matrix (HTML only; other formats draw the
	// attention view).
	ViewMatrix View = "matrix"
	// ViewFocus shows one tenant's in and out edges and exposures (Options.Tenant).
	ViewFocus View = "focus"
	// ViewFull draws every edge and exposure.
	ViewFull View = "full"
)

// Views lists the views in the order the page offers them.
var Views = []View{ViewAttention, ViewMatrix, ViewFocus, ViewFull}

// Options select the view of a picture.
type Options struct {
	View View
	// Tenant is the focus view's tenant; setting it makes the focus view the default.
	Tenant string
}

// check validates the options against the graph.
func (o *Options) check(g *graph.Graph) error {
	if o.View == "" {
		o.View = ViewAttention
		if o.Tenant != "" {
			o.View = ViewFocus
		}
	}
	if !slices.Contains(Views, o.View) {
		return fmt.Errorf("unknown view %q (want one of %v)", o.View, Views)
	}
	if o.View == ViewFocus && o.Tenant == "" {
		return fmt.Errorf("the focus view needs a tenant")
	}
	if o.Tenant != "" && g.Node(o.Tenant) == nil {
		return fmt.Errorf("tenant %q is not a node of the graph of %s", o.Tenant, g.Environment)
	}
	return nil
}

// maxDrawnEdges bounds a drawn view: beyond it the graph stops being a picture (the matrix and
// the table still hold everything), and the view says how many it left out.
const maxDrawnEdges = 400

// vnode is a node of a drawn view: a party, a tier folded into one node, or "any tenant".
type vnode struct {
	id, label, class string
}

// vedge is a line of a drawn view.
type vedge struct {
	from, to string
	label    string
	verdict  graph.Verdict
	kind     graph.EdgeKind
	// style: "edge" (an edge of the graph), "exposure", "aggregate" (folded allowed edges).
	style string
	// edge is the index of the graph edge, -1 for exposures and aggregates.
	edge int
	text string
}

// view is what one drawing shows.
type view struct {
	name    View
	title   string
	nodes   []vnode
	edges   []vedge
	omitted int
}

func nodeClass(n *graph.Node) string {
	switch {
	case n == nil:
		return "undeclared"
	case n.Kind == graph.NodePlatform:
		return "platform"
	case !n.Declared || n.Tier == "":
		return "undeclared"
	}
	return string(n.Tier)
}

type viewBuilder struct {
	g     *graph.Graph
	v     *view
	nodes map[string]bool
}

func (b *viewBuilder) node(id string) {
	if b.nodes[id] {
		return
	}
	b.nodes[id] = true
	if id == graph.AnyTenant {
		b.v.nodes = append(b.v.nodes, vnode{id: id, label: "any tenant", class: "undeclared"})
		return
	}
	b.v.nodes = append(b.v.nodes, vnode{id: id, label: id, class: nodeClass(b.g.Node(id))})
}

func (b *viewBuilder) edge(i int) {
	e := b.g.Edges[i]
	b.add(vedge{from: e.From, to: e.To, label: edgeLabel(e), verdict: e.Verdict, kind: e.Kind, style: "edge", edge: i, text: evidenceText(e)})
}

func (b *viewBuilder) exposure(x graph.Exposure) {
	b.add(vedge{from: x.Tenant, to: x.Peer, label: "exposure: " + string(x.Kind), verdict: graph.VerdictUnexpected, kind: x.Kind,
		style: "exposure", edge: -1, text: exposureText(x)})
}

func (b *viewBuilder) add(e vedge) {
	if len(b.v.edges) >= maxDrawnEdges {
		b.v.omitted++
		return
	}
	b.node(e.from)
	b.node(e.to)
	b.v.edges = append(b.v.edges, e)
}

func edgeLabel(e graph.Edge) string {
	if e.Kind.Identity() || e.Ports.IsAll() {
		return string(e.Kind)
	}
	return string(e.Kind) + " " + e.Ports.String()
}

// attentionView draws the unexpected and unknown edges and the exposures, and folds the allowed
// edges between the platform and tenants into one line per tier and direction.
func attentionView(g *graph.Graph) *view {
	b := &viewBuilder{g: g, v: &view{name: ViewAttention, title: "Needs attention"}, nodes: map[string]bool{}}
	b.node(isolation.Platform)
	for i, e := range g.Edges {
		if e.Verdict != graph.VerdictAllowed {
			b.edge(i)
		}
	}
	for _, x := range g.Exposures {
		b.exposure(x)
	}
	type aggKey struct {
		tier     string
		outbound bool // platform → tenants
	}
	type agg struct {
		tenants map[string]bool
		kinds   map[graph.EdgeKind]bool
		reasons map[string]int
	}
	aggs := map[aggKey]*agg{}
	for _, e := range g.Edges {
		if e.Verdict != graph.VerdictAllowed || (e.From != isolation.Platform && e.To != isolation.Platform) {
			continue
		}
		other := e.From
		if other == isolation.Platform {
			other = e.To
		}
		k := aggKey{tier: nodeClass(g.Node(other)), outbound: e.From == isolation.Platform}
		a := aggs[k]
		if a == nil {
			a = &agg{tenants: map[string]bool{}, kinds: map[graph.EdgeKind]bool{}, reasons: map[string]int{}}
			aggs[k] = a
		}
		a.tenants[other] = true
		a.kinds[e.Kind] = true
		a.reasons[e.Reason]++
	}
	keys := slices.SortedFunc(maps.Keys(aggs), func(a, b aggKey) int {
		return cmp.Or(cmp.Compare(tierRank(a.tier), tierRank(b.tier)), cmp.Compare(fmt.Sprint(!a.outbound), fmt.Sprint(!b.outbound)))
	})
	for _, k := range keys {
		a := aggs[k]
		group := "tier:" + k.tier
		if !b.nodes[group] {
			b.nodes[group] = true
			b.v.nodes = append(b.v.nodes, vnode{id: group, label: fmt.Sprintf("%s tenants (%d)", k.tier, tierSize(g, k.tier)), class: k.tier + " group"})
		}
		kinds := slices.Sorted(maps.Keys(a.kinds))
		from, to := isolation.Platform, group
		if !k.outbound {
			from, to = group, isolation.Platform
		}
		var text strings.Builder
		fmt.Fprintf(&text, "%s → %s: allowed, %d tenants, %s\n", from, to, len(a.tenants), joinKinds(kinds))
		for _, r := range slices.Sorted(maps.Keys(a.reasons)) {
			fmt.Fprintf(&text, "%d× %s\n", a.reasons[r], r)
		}
		names := slices.Sorted(maps.Keys(a.tenants))
		if len(names) > 30 {
			names = append(names[:30], fmt.Sprintf("… and %d more", len(a.tenants)-30))
		}
		text.WriteString("tenants: " + strings.Join(names, ", "))
		b.add(vedge{from: from, to: to, label: fmt.Sprintf("allowed ×%d", len(a.tenants)), verdict: graph.VerdictAllowed, kind: kinds[0],
			style: "aggregate", edge: -1, text: text.String()})
	}
	return b.v
}

func joinKinds(ks []graph.EdgeKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func tierRank(class string) int {
	for i, t := range isolation.Tiers {
		if string(t) == class {
			return i
		}
	}
	return len(isolation.Tiers)
}

func tierSize(g *graph.Graph, class string) int {
	n := 0
	for i := range g.Nodes {
		if nodeClass(&g.Nodes[i]) == class {
			n++
		}
	}
	return n
}

// focusView draws every edge into and out of one tenant and its exposures.
func focusView(g *graph.Graph, tenant string) *view {
	b := &viewBuilder{g: g, v: &view{name: ViewFocus, title: "Focus: " + tenant}, nodes: map[string]bool{}}
	b.node(tenant)
	for i, e := range g.Edges {
		if e.From == tenant || e.To == tenant {
			b.edge(i)
		}
	}
	for _, x := range g.Exposures {
		if x.Tenant == tenant || x.Peer == tenant || x.Peer == graph.AnyTenant {
			b.exposure(x)
		}
	}
	return b.v
}

// fullView draws every edge and exposure.
func fullView(g *graph.Graph) *view {
	b := &viewBuilder{g: g, v: &view{name: ViewFull, title: "Every edge"}, nodes: map[string]bool{}}
	for i := range g.Nodes {
		b.node(g.Nodes[i].ID)
	}
	for i := range g.Edges {
		b.edge(i)
	}
	for _, x := range g.Exposures {
		b.exposure(x)
	}
	return b.v
}

// evidenceText is an edge's chain as plain lines, for tooltips and the evidence panel.
func evidenceText(e graph.Edge) string {
	var b strings.Builder
	carries := e.Carries()
	if carries != "" {
		carries = " " + carries
	}
	fmt.Fprintf(&b, "%s → %s: %s %s%s\n%s\n", e.From, e.To, e.Verdict, e.Kind, carries, e.Reason)
	for n, chain := range e.Chains() {
		if n > 0 {
			b.WriteString("also opened by:\n")
		}
		for i, st := range chain {
			fmt.Fprintf(&b, "%d. [%s] %s", i+1, st.Kind, st.Detail)
			if st.Resource != "" {
				fmt.Fprintf(&b, " (%s)", st.Resource)
			}
			if st.Opens {
				b.WriteString("  ← opens the route")
			}
			b.WriteByte('\n')
		}
	}
	if e.AlternativesOmitted > 0 {
		fmt.Fprintf(&b, "and %d more opening(s) not listed\n", e.AlternativesOmitted)
	}
	return strings.TrimRight(b.String(), "\n")
}

func exposureText(x graph.Exposure) string {
	var b strings.Builder
	fmt.Fprintf(&b, "exposure %s ↔ %s: %s\n%s %s\n%s\n", x.Tenant, x.Peer, x.Kind, x.Resource.Type, x.Resource.Name, x.Detail)
	for i, st := range x.Evidence {
		fmt.Fprintf(&b, "%d. [%s] %s\n", i+1, st.Kind, st.Detail)
	}
	return strings.TrimRight(b.String(), "\n")
}
