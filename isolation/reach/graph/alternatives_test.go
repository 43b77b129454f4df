package graph

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/connectsoft/tenantctl/isolation"
)

// TestEdgeKeepsEveryOpening: an identity edge granted by two bindings keeps one chain per
// binding (a second path through the same binding adds nothing), also across merged builders,
// and Graph counts every opening as opened so no exposure repeats it.
func TestEdgeKeepsEveryOpening(t *testing.T) {
	env := &isolation.Environment{Metadata: isolation.ObjectMeta{Name: "dev"}}
	var bs []*isolation.RuntimeTenantBinding
	for _, id := range []string{"acme", "globex"} {
		bs = append(bs, &isolation.RuntimeTenantBinding{Spec: isolation.BindingSpec{TenantID: id, Environment: "dev", Tier: isolation.TierPool}})
	}
	s, err := NewScope(env, bs)
	if err != nil {
		t.Fatal(err)
	}
	chain := func(binding string) func() []EvidenceStep {
		return func() []EvidenceStep {
			return []EvidenceStep{{Kind: "principal", Resource: "ServiceAccount t-acme/t-acme"},
				{Kind: "binding", Resource: binding, Opens: true, Ref: ResourceRef{Provider: "kubernetes", Type: "rbac.authorization.k8s.io/v1/RoleBinding", Namespace: "t-globex", Name: binding, Owner: "globex"}}}
		}
	}
	path := func(binding string) Path {
		return Path{From: "acme", To: "globex", Kind: KindIdentityRBAC, Via: binding, Evidence: chain(binding)}
	}
	b, o := NewBuilder(s), NewBuilder(s)
	b.Add(path("a"))
	b.Add(path("a"))
	b.Add(path("b"))
	o.Add(path("b"))
	o.Add(path("c"))
	o.Add(Path{From: "acme", To: "globex", Kind: KindIdentityRBAC, Evidence: chain("d")}) // no Via: the first chain speaks for it
	b.Merge(o)
	b.Expose(Exposure{Tenant: "globex", Peer: "acme", Kind: KindIdentityRBAC, Resource: ResourceRef{Provider: "kubernetes", Type: "rbac.authorization.k8s.io/v1/RoleBinding", Namespace: "t-globex", Name: "c", Owner: "globex"}}, "")
	g := b.Graph("snapshot")
	if len(g.Edges) != 1 {
		t.Fatalf("edges %+v, want one", g.Edges)
	}
	var openers []string
	for _, c := range g.Edges[0].Chains() {
		openers = append(openers, openerOf(c))
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, openers); diff != "" {
		t.Errorf("openings (-want +got):\n%s", diff)
	}
	if g.Edges[0].Paths != 6 {
		t.Errorf("paths %d, want 6", g.Edges[0].Paths)
	}
	if len(g.Exposures) != 0 {
		t.Errorf("exposure of a resource an alternative opens: %+v", g.Exposures)
	}
	if got := g.Edges[0].Carries(); got != "" {
		t.Errorf("identity edge carries %q, want nothing", got)
	}
}

// TestAlternativesAreBounded: past MaxAlternatives, openings are counted, not kept.
func TestAlternativesAreBounded(t *testing.T) {
	e := &Edge{}
	for range MaxAlternatives + 3 {
		e.addAlternative(func() []EvidenceStep { return []EvidenceStep{{Kind: "binding"}} })
	}
	if len(e.Alternatives) != MaxAlternatives || e.AlternativesOmitted != 3 {
		t.Errorf("kept %d, omitted %d; want %d and 3", len(e.Alternatives), e.AlternativesOmitted, MaxAlternatives)
	}
}
